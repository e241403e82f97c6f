import { z } from 'zod'
import { integerValue, ok, oneValue, route } from '../admin-route.js'

/** Epoch milliseconds up to the year 2100 or so. */
const epochMs = integerValue(0, 4_102_444_800_000)

export const auditRoutes = [
  route({
    method: 'GET',
    path: '/audit',
    summary: 'Audit entries, newest first',
    query: z.strictObject({
      since: epochMs.optional(),
      until: epochMs.optional(),
      actor: oneValue.optional(),
      action: oneValue.optional(),
      app: oneValue.optional(),
      target: oneValue.optional(),
      result: oneValue.optional(),
      limit: integerValue(1, 10_000).optional(),
    }),
    handle: async ({ fleet }, { query: { app, ...query } }) =>
      ok({ items: await fleet.audit({ ...query, appId: app }) }),
  }),
]
