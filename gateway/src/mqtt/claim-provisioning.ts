import type { AedesPublishPacket, Client } from 'aedes'
import { z } from 'zod'
import { DEVICE_ID_PATTERN, DEVICE_ID_RULE } from '../domain/names.js'
import type { ErrorCode } from '../errors/codes.js'
import { GatewayError } from '../errors/gateway-error.js'
import { ConnackCode, type ConnackCodeValue } from '../errors/mqtt-codes.js'
import {
  type ClaimAnswer,
  type ClaimOrigin,
  type ClaimRequest,
  claimRefusal,
  parseClaimDocument,
} from '../fleet/claim-device.js'
import type { Logger } from '../log.js'
import type { Claim, ClaimCheck } from '../store/claim-repository.js'
import { type ClaimSession, newClaimSession } from './claim-session.js'

export type ClaimLoginVerdict =
  | { ok: true; session: ClaimSession }
  | {
      ok: false
      returnCode: ConnackCodeValue
      reason: string
      /** A wrong or dead claim: counts towards the address's failed-login ban. */
      guess: boolean
    }

export interface ClaimProvisioningDeps {
  checkClaim(secret: string): ClaimCheck
  /** The claim of a secret even when it cannot be used, to name it in the audit log. */
  findClaim(secret: string): Claim | undefined
  deviceExists(deviceId: string): boolean
  /** Spends a use and provisions the device (fleet/claim-device.ts); throws GatewayErrors. */
  claim(request: ClaimRequest): ClaimAnswer
  /** Audits a refused claim login (`device.claim`). */
  recordRefusal(attempt: {
    claim: Claim | undefined
    deviceId: string
    origin: ClaimOrigin
    result: ErrorCode
    reason: string
  }): void
  log: Logger
}

export type ClaimProvisioning = ReturnType<typeof createClaimProvisioning>

const claimRequest = z.strictObject({ name: z.string().optional() })

/** The request payload: empty, or a JSON object with an optional `name`. */
function parseRequest(payload: Buffer | string): z.infer<typeof claimRequest> {
  const text = payload.toString()
  return text.trim() === '' ? {} : parseClaimDocument(text, claimRequest, 'payload')
}

/**
 * Claim provisioning over MQTT (docs/provisioning.md): a device connects with username `$claim`,
 * the claim secret as password and the id it wants as client id, publishes to its request topic
 * and gets its credentials, or `{ error, code }`, on its response topic.
 */
export function createClaimProvisioning(deps: ClaimProvisioningDeps) {
  const { log } = deps

  /** Checks a claim CONNECT; the claim is checked again, and spent, when the request comes. */
  function login(
    clientId: string,
    secret: string | undefined,
    clean: boolean,
    address: string | undefined,
  ): ClaimLoginVerdict {
    const origin: ClaimOrigin = { via: 'mqtt', address }
    const presented = secret ?? ''
    const check = deps.checkClaim(presented)
    const claim = check.ok ? check.claim : deps.findClaim(presented)
    const refuse = (
      returnCode: ConnackCodeValue,
      error: GatewayError,
      guess: boolean,
    ): ClaimLoginVerdict => {
      deps.recordRefusal({
        claim,
        deviceId: clientId,
        origin,
        result: error.code,
        reason: error.message,
      })
      return { ok: false, returnCode, reason: `claim refused: ${error.message}`, guess }
    }
    if (!check.ok) {
      const returnCode =
        check.reason === 'unknown' ? ConnackCode.BadUsernameOrPassword : ConnackCode.NotAuthorized
      return refuse(returnCode, claimRefusal(check.reason), true)
    }
    if (!DEVICE_ID_PATTERN.test(clientId)) {
      const message = `client id "${clientId.slice(0, 80)}" is not a valid device id: ${DEVICE_ID_RULE}`
      return refuse(
        ConnackCode.IdentifierRejected,
        new GatewayError('FC_ERR_DEVICE_INVALID', message),
        false,
      )
    }
    if (!clean) {
      // A persistent session would keep the response, with the secret, in the session store.
      const message = 'a claim connection must use CleanSession 1'
      return refuse(
        ConnackCode.IdentifierRejected,
        new GatewayError('FC_ERR_REQUEST_INVALID', message),
        false,
      )
    }
    if (deps.deviceExists(clientId)) {
      // Refused here too, so a claim holder cannot take over a provisioned device's connection.
      const message = `Device "${clientId}" already exists`
      return refuse(
        ConnackCode.IdentifierRejected,
        new GatewayError('FC_ERR_DEVICE_EXISTS', message),
        false,
      )
    }
    const session = newClaimSession({
      claimId: check.claim.id,
      requestedId: clientId,
      claimSecret: presented,
      address,
    })
    return { ok: true, session }
  }

  /** Answers a request on the response topic, to this connection alone, at QoS 1. */
  function onRequest(client: Client, session: ClaimSession, packet: AedesPublishPacket): void {
    let answer: unknown
    try {
      const { name } = parseRequest(packet.payload)
      answer = deps.claim({
        claimSecret: session.claimSecret,
        deviceId: session.requestedId,
        name,
        origin: { via: 'mqtt', address: session.address },
      })
      log.info({ deviceId: session.requestedId, claimId: session.claimId }, 'device claimed')
    } catch (error) {
      if (GatewayError.is(error)) {
        answer = { error: error.message, code: error.code }
      } else {
        log.error({ err: error, deviceId: session.requestedId }, 'claim request failed')
        answer = { error: 'Internal error', code: 'FC_ERR_INTERNAL' }
      }
    }
    // client.publish bypasses the broker's routing and persistence: only this socket gets it.
    client.publish(
      {
        cmd: 'publish',
        topic: session.topics.response,
        payload: Buffer.from(JSON.stringify(answer)),
        qos: 1,
        retain: false,
        dup: false,
      },
      (error) => {
        if (error) log.info({ err: error, deviceId: session.requestedId }, 'claim answer lost')
      },
    )
  }

  return { login, onRequest }
}
