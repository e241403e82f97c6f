import type { IncomingMessage, ServerResponse } from 'node:http'
import { z } from 'zod'
import type { Meter } from '../domain/meter.js'
import type { ErrorCode } from '../errors/codes.js'
import { GatewayError } from '../errors/gateway-error.js'
import { httpStatusByCode } from '../errors/http-status.js'
import { type ClaimAnswer, type ClaimRequest, parseClaimDocument } from '../fleet/claim-device.js'
import type { Logger } from '../log.js'
import { HttpError } from './http-error.js'
import { sendJson } from './http-handler.js'
import { readBody } from './read-body.js'

const CLAIM_PATH = '/provision/v1/claim'

/** A claim request is three short strings; anything bigger is not one. */
const MAX_CLAIM_BODY_BYTES = 4096

const claimBody = z.strictObject({
  claim: z.string().min(1).max(256),
  deviceId: z.string().optional(),
  name: z.string().optional(),
})

/** Failed attempts per key (`address:<ip>`), shared with MQTT logins so both doors count alike. */
export interface ClaimThrottle {
  bannedFor(key: string, now: number): number
  fail(key: string, now: number): number
}

export interface ProvisionRouteOptions {
  claim(request: ClaimRequest): ClaimAnswer
  throttle: ClaimThrottle
  meter: Meter
  log: Logger
}

/** Refusals that look like guessing at claim secrets; they count towards an address's ban. */
const GUESSES = new Set<ErrorCode>([
  'FC_ERR_CLAIM_UNKNOWN',
  'FC_ERR_CLAIM_REVOKED',
  'FC_ERR_CLAIM_EXPIRED',
  'FC_ERR_CLAIM_USED_UP',
])

interface Reply {
  status: number
  body: unknown
  headers?: Record<string, string>
}

function refusal(error: GatewayError, headers: Record<string, string> = {}): Reply {
  return {
    status: httpStatusByCode[error.code],
    body: { error: error.message, code: error.code },
    headers,
  }
}

/**
 * `POST /provision/v1/claim`: a device trades the claim it was built with for its own credentials
 * (docs/provisioning.md). Every answer is JSON; refusals are `{ error, code }`.
 */
export function createProvisionRoute(options: ProvisionRouteOptions) {
  const { throttle, log } = options

  async function claimFrom(request: IncomingMessage, address: string | undefined): Promise<Reply> {
    const body = await readBody(request, MAX_CLAIM_BODY_BYTES).catch((error: unknown) => {
      if (error instanceof HttpError && error.status === 413) {
        request.resume()
        throw new GatewayError('FC_ERR_REQUEST_TOO_LARGE', error.message)
      }
      throw error
    })
    const { claim, deviceId, name } = parseClaimDocument(body.toString('utf8'), claimBody, 'body')
    const claimed = options.claim({
      claimSecret: claim,
      deviceId,
      name,
      origin: { via: 'http', address },
    })
    log.info({ deviceId: claimed.id, address }, 'device claimed its credentials')
    // The answer holds a secret: no cache on the way may keep it.
    return { status: 201, body: claimed, headers: { 'cache-control': 'no-store' } }
  }

  async function answer(request: IncomingMessage): Promise<Reply> {
    if (request.method !== 'POST') {
      request.resume()
      const error = new GatewayError('FC_ERR_METHOD_NOT_ALLOWED', `${CLAIM_PATH} takes POST`)
      return refusal(error, { allow: 'POST' })
    }
    const address = request.socket.remoteAddress
    const key = address ? `address:${address}` : undefined
    const banned = key ? throttle.bannedFor(key, Date.now()) : 0
    if (banned > 0) {
      request.resume()
      const error = new GatewayError(
        'FC_ERR_LOGIN_THROTTLED',
        `Too many failed claims from this address; retry in ${banned} s`,
      )
      return refusal(error, { 'retry-after': String(banned) })
    }
    try {
      return await claimFrom(request, address)
    } catch (error) {
      if (!GatewayError.is(error)) throw error
      if (key && GUESSES.has(error.code) && throttle.fail(key, Date.now()) > 0) {
        log.warn({ key }, 'too many failed claims: banned')
      }
      return refusal(error)
    }
  }

  /** Answers the claim path; returns false for any other path. */
  return (request: IncomingMessage, response: ServerResponse, pathname: string): boolean => {
    if (pathname !== CLAIM_PATH) return false
    answer(request).then(
      (reply) => {
        if (reply.status >= 400) options.meter.rejected(`provision_${reply.status}`)
        sendJson(response, reply.status, reply.body, reply.headers)
      },
      (error: unknown) => {
        log.error({ err: error }, 'claim request failed')
        sendJson(response, 500, { error: 'Internal error', code: 'FC_ERR_INTERNAL' })
      },
    )
    return true
  }
}
