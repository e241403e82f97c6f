import { z } from 'zod'
import { created, noFields, ok, oneValue, route } from '../admin-route.js'

const kind = z.enum(['admin', 'viewer'])

const newToken = z.strictObject({
  kind,
  appId: z.string().nullable().optional(),
  grants: z.array(z.string()).optional(),
  userId: z.string().optional(),
  label: z.string().optional(),
  ttlSeconds: z.number().optional(),
})

export const tokenRoutes = [
  route({
    method: 'GET',
    path: '/tokens',
    summary: 'List admin and viewer tokens (never their bearer strings)',
    query: z.strictObject({ kind: kind.optional(), app: oneValue.optional() }),
    handle: async ({ fleet }, { query }) =>
      ok({ items: await fleet.listTokens({ kind: query.kind, appId: query.app }) }),
  }),
  route({
    method: 'POST',
    path: '/tokens',
    summary: 'Create a token; its bearer string is in this answer only',
    body: newToken,
    handle: async ({ fleet }, { body }) => created(await fleet.createToken(body)),
  }),
  route({
    method: 'POST',
    path: '/tokens/{id}/revoke',
    summary: 'Revoke a token: it stops working at once',
    body: noFields,
    handle: async ({ fleet, param }) => ok(await fleet.revokeToken(param('id'))),
  }),
]
