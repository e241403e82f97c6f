import { z } from 'zod'
import { dryRunDeviceId, dryRunUplink } from '../../../bridge/dry-run.js'
import { GatewayError } from '../../../errors/gateway-error.js'
import { ok, route } from '../admin-route.js'

const dryRun = z.strictObject({
  topic: z.string().min(1).max(65_535),
  /** The payload as text (UTF-8). */
  payload: z.string().optional(),
  device: z.string().optional(),
})

export const ruleRoutes = [
  route({
    method: 'POST',
    path: '/rules/test',
    summary: 'Show what the running uplink rules make of one device publish (dry run)',
    body: dryRun,
    handle: ({ uplinkRules, store, token }, { body }) => {
      const request = {
        topic: body.topic,
        payload: Buffer.from(body.payload ?? ''),
        deviceId: body.device,
      }
      const stored = store.devices.find(dryRunDeviceId(request))
      // Rules are global, but the device's name and tags belong to its app's operators.
      if (token.appId !== null && stored?.appId !== token.appId) {
        throw new GatewayError(
          'FC_ERR_FORBIDDEN',
          `Not allowed: a dry run as a device outside app ${token.appId} (scope: app ${token.appId})`,
        )
      }
      return Promise.resolve(ok(dryRunUplink(uplinkRules(), request, stored)))
    },
  }),
]
