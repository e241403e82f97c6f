import { randomBytes } from 'node:crypto'
import type { z } from 'zod'
import type { Device } from '../domain/device.js'
import type { ErrorCode } from '../errors/codes.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { Claim, ClaimCheck } from '../store/claim-repository.js'
import type { Store } from '../store/open-store.js'
import { provisionDevice } from './provision-device.js'

/** Where a claim request came from; written to the audit log. */
export interface ClaimOrigin {
  via: 'http' | 'mqtt'
  address?: string | undefined
}

export interface ClaimRequest {
  /** The shared claim secret (`fcc_...`) the device was built with. */
  claimSecret: string
  /** The id the device asks for (its serial number, its MAC); generated when absent. */
  deviceId?: string | undefined
  name?: string | undefined
  origin?: ClaimOrigin | undefined
}

export interface ClaimedDevice {
  device: Device
  /** Shown once, to the device that claimed; only its hash is stored. */
  secret: string
  claimId: string
}

/** What a device receives, over HTTP and MQTT alike (docs/provisioning.md). */
export interface ClaimAnswer {
  id: string
  secret: string
  appId: string
  name: string | null
  tags: Record<string, string>
  mqtt: { username: string; clientId: string }
  topics: { events: string; commands: string; acks: string }
}

type ClaimRefusalReason = Extract<ClaimCheck, { ok: false }>['reason']

const refusals: Record<ClaimRefusalReason, { code: ErrorCode; message: string }> = {
  unknown: { code: 'FC_ERR_CLAIM_UNKNOWN', message: 'No claim has this secret' },
  revoked: { code: 'FC_ERR_CLAIM_REVOKED', message: 'This claim has been revoked' },
  expired: { code: 'FC_ERR_CLAIM_EXPIRED', message: 'This claim has expired' },
  'used-up': { code: 'FC_ERR_CLAIM_USED_UP', message: 'This claim has no uses left' },
}

/** The error a device gets for a claim it cannot use. */
export function claimRefusal(reason: ClaimRefusalReason): GatewayError {
  const { code, message } = refusals[reason]
  return new GatewayError(code, message)
}

/**
 * A claim request as a device sent it (the HTTP body, the MQTT payload), checked against `schema`;
 * a refusal names each bad field (`body.deviceId: Invalid input: expected string...`).
 */
export function parseClaimDocument<T>(
  text: string,
  schema: z.ZodType<T>,
  where: 'body' | 'payload',
): T {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new GatewayError('FC_ERR_REQUEST_INVALID', `The ${where} is not JSON`)
  }
  const parsed = schema.safeParse(json)
  if (parsed.success) return parsed.data
  const problems = parsed.error.issues.map(
    (issue) => `${[where, ...issue.path.map(String)].join('.')}: ${issue.message}`,
  )
  throw new GatewayError('FC_ERR_REQUEST_INVALID', problems.join('; '))
}

/** Devices that do not name themselves get `dev-` and 48 random bits. */
function generatedDeviceId(): string {
  return `dev-${randomBytes(6).toString('hex')}`
}

/**
 * Records one claim attempt, its outcome and where it came from; never the claim secret. A claim
 * nobody holds has no id, so the address stands for the actor.
 */
export function recordClaimAttempt(
  store: Store,
  attempt: {
    claim: Pick<Claim, 'id' | 'appId'> | undefined
    deviceId: string | undefined
    origin: ClaimOrigin | undefined
    result: string
    reason?: string | undefined
  },
): void {
  const { claim, origin } = attempt
  const address = origin?.address
  store.audit.record({
    actor: claim ? `claim:${claim.id}` : address ? `address:${address}` : 'unknown',
    action: 'device.claim',
    appId: claim?.appId ?? null,
    target: attempt.deviceId ?? null,
    result: attempt.result,
    detail: {
      ...(origin ? { via: origin.via } : {}),
      ...(address ? { address } : {}),
      ...(attempt.reason ? { reason: attempt.reason } : {}),
    },
  })
}

/**
 * Trades a claim for a device of the claim's app with the claim's tags. Checking the claim,
 * spending one use and adding the device are one write transaction: a device id that exists or is
 * invalid costs no use, and of two devices racing for the last use exactly one wins. Every
 * attempt is audited (`device.claim`).
 */
export function claimDevice(store: Store, request: ClaimRequest, now = Date.now()): ClaimedDevice {
  const deviceId = request.deviceId ?? generatedDeviceId()
  let claimed: ClaimedDevice
  try {
    claimed = store.db
      .transaction((): ClaimedDevice => {
        const check = store.claims.check(request.claimSecret, now)
        if (!check.ok) throw claimRefusal(check.reason)
        // The guarded spend is what holds when another process writes the same file.
        if (!store.claims.spend(check.claim.id)) throw claimRefusal('used-up')
        const { device, secret } = provisionDevice(store, {
          id: deviceId,
          appId: check.claim.appId,
          name: request.name,
          tags: check.claim.tags,
        })
        return { device, secret, claimId: check.claim.id }
      })
      // IMMEDIATE takes the write lock before the check, so the check sees the latest uses.
      .immediate()
  } catch (error) {
    const known = GatewayError.is(error)
    recordClaimAttempt(store, {
      claim: store.claims.findBySecret(request.claimSecret),
      deviceId: request.deviceId,
      origin: request.origin,
      result: known ? error.code : 'FC_ERR_INTERNAL',
      reason: known ? error.message : undefined,
    })
    throw error
  }
  recordClaimAttempt(store, {
    claim: { id: claimed.claimId, appId: claimed.device.appId },
    deviceId,
    origin: request.origin,
    result: 'ok',
  })
  return claimed
}

/** The credentials and topics a freshly claimed device needs, as one JSON document. */
export function claimAnswer({ device, secret }: ClaimedDevice): ClaimAnswer {
  const id = device.id
  return {
    id,
    secret,
    appId: device.appId,
    name: device.name,
    tags: device.tags,
    mqtt: { username: id, clientId: id },
    topics: {
      events: `devices/${id}/events/{event}`,
      commands: `devices/${id}/commands/#`,
      acks: `devices/${id}/acks/{commandId}`,
    },
  }
}
