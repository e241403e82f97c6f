import { z } from 'zod'
import {
  booleanValue,
  created,
  integerValue,
  noFields,
  ok,
  oneValue,
  repeatedValues,
  route,
} from '../admin-route.js'

/** Largest page a device list returns; pages continue with `after`. */
const MAX_PAGE = 1_000_000

const tagPair = z
  .string()
  .regex(/^[^=]+=/, 'expected key=value')
  .transform((pair): [string, string] => {
    const at = pair.indexOf('=')
    return [pair.slice(0, at), pair.slice(at + 1)]
  })

const listQuery = z.strictObject({
  app: oneValue.optional(),
  tag: repeatedValues(tagPair).optional(),
  online: booleanValue().optional(),
  after: oneValue.optional(),
  limit: integerValue(1, MAX_PAGE).optional(),
})

const newDevice = z.strictObject({
  id: z.string(),
  appId: z.string().optional(),
  name: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  acl: z.strictObject({ publish: z.array(z.string()), subscribe: z.array(z.string()) }).optional(),
})

const rotation = z.strictObject({ overlapSeconds: z.number().optional() })

const STATE_CHANGES = {
  revoke: 'Remove every secret of a device: it cannot log in until rotated',
  enable: 'Let a disabled device log in again',
  disable: 'Refuse a device (CONNACK 5) and close its connection',
  kick: 'Close the live connection and drop the persistent session; the device may log in again',
} as const

export const deviceRoutes = [
  route({
    method: 'GET',
    path: '/devices',
    summary: 'List devices, filtered by app, tags and connection state, by id',
    query: listQuery,
    handle: async ({ fleet }, { query }) =>
      ok({
        items: await fleet.listDevices({
          appId: query.app,
          tags: query.tag && Object.fromEntries(query.tag),
          online: query.online,
          after: query.after,
          limit: query.limit,
        }),
      }),
  }),
  route({
    method: 'POST',
    path: '/devices',
    summary: 'Register a device; its secret is in this answer only',
    body: newDevice,
    handle: async ({ fleet }, { body }) => created(await fleet.addDevice(body)),
  }),
  route({
    method: 'GET',
    path: '/devices/{id}',
    summary: 'Show a device',
    handle: async ({ fleet, param }) => ok(await fleet.showDevice(param('id'))),
  }),
  route({
    method: 'POST',
    path: '/devices/{id}/rotate',
    summary: 'Issue a new secret (in this answer only); the old one works for overlapSeconds',
    body: rotation,
    handle: async ({ fleet, param }, { body }) =>
      ok(await fleet.rotateDevice(param('id'), body.overlapSeconds ?? 0)),
  }),
  ...(Object.keys(STATE_CHANGES) as (keyof typeof STATE_CHANGES)[]).map((verb) =>
    route({
      method: 'POST',
      path: `/devices/{id}/${verb}`,
      summary: STATE_CHANGES[verb],
      body: noFields,
      handle: async ({ fleet, param }) => {
        const id = param('id')
        if (verb === 'revoke') return ok(await fleet.revokeDevice(id))
        if (verb === 'kick') return ok(await fleet.kickDevice(id))
        return ok(await fleet.setDeviceEnabled(id, verb === 'enable'))
      },
    }),
  ),
]
