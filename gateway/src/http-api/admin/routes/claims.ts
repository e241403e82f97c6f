import { z } from 'zod'
import { created, noFields, ok, oneValue, route } from '../admin-route.js'

const newClaim = z.strictObject({
  appId: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  label: z.string().optional(),
  uses: z.number(),
  ttlSeconds: z.number().optional(),
})

export const claimRoutes = [
  route({
    method: 'GET',
    path: '/claims',
    summary: 'List provisioning claims (never their secrets)',
    query: z.strictObject({ app: oneValue.optional() }),
    handle: async ({ fleet }, { query }) =>
      ok({ items: await fleet.listClaims({ appId: query.app }) }),
  }),
  route({
    method: 'POST',
    path: '/claims',
    summary: 'Create a claim; the secret devices present is in this answer only',
    body: newClaim,
    handle: async ({ fleet }, { body }) => created(await fleet.createClaim(body)),
  }),
  route({
    method: 'POST',
    path: '/claims/{id}/revoke',
    summary: 'Revoke a claim: devices can no longer use it',
    body: noFields,
    handle: async ({ fleet, param }) => ok(await fleet.revokeClaim(param('id'))),
  }),
]
