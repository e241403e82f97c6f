import { z } from 'zod'
import { created, noFields, ok, route } from '../admin-route.js'

const newApp = z.strictObject({
  id: z.string().optional(),
  clientEvents: z.boolean().optional(),
})

export const appRoutes = [
  route({
    method: 'GET',
    path: '/apps',
    summary: 'List the apps',
    handle: async ({ fleet }) => ok({ items: await fleet.listApps() }),
  }),
  route({
    method: 'POST',
    path: '/apps',
    summary: 'Create an app; its secret is in this answer only',
    body: newApp,
    handle: async ({ fleet }, { body }) => created(await fleet.createApp(body)),
  }),
  route({
    method: 'GET',
    path: '/apps/{id}',
    summary: 'Show an app',
    handle: async ({ fleet, param }) => ok(await fleet.showApp(param('id'))),
  }),
  route({
    method: 'POST',
    path: '/apps/{id}/rotate-secret',
    summary: "Replace an app's secret; the new one is in this answer only",
    body: noFields,
    handle: async ({ fleet, param }) => ok(await fleet.rotateAppSecret(param('id'))),
  }),
  ...(['enable', 'disable'] as const).map((verb) =>
    route({
      method: 'POST',
      path: `/apps/{id}/${verb}`,
      summary:
        verb === 'enable'
          ? 'Enable an app'
          : 'Disable an app: it refuses connections (4003) and REST requests (403)',
      body: noFields,
      handle: async ({ fleet, param }) =>
        ok(await fleet.setAppEnabled(param('id'), verb === 'enable')),
    }),
  ),
]
