import type { IncomingMessage } from 'node:http'
import { GatewayError } from '../../errors/gateway-error.js'
import type { Token, TokenCheck } from '../../store/token-repository.js'

const BEARER = /^Bearer +(\S+)\s*$/i

const REASONS: Record<Exclude<TokenCheck, { ok: true }>['reason'], string> = {
  unknown: 'The admin token is not known',
  revoked: 'The admin token was revoked',
  expired: 'The admin token has expired',
}

/**
 * The admin token a request carries in `Authorization: Bearer`. Missing, unknown, revoked and
 * expired tokens are FC_ERR_UNAUTHORIZED (401); a valid token of another kind is
 * FC_ERR_FORBIDDEN (403), since it does identify someone, just not an operator.
 */
export function adminTokenOf(
  request: IncomingMessage,
  check: (bearer: string) => TokenCheck,
): Token {
  const bearer = BEARER.exec(request.headers.authorization ?? '')?.[1]
  if (bearer === undefined) {
    throw new GatewayError(
      'FC_ERR_UNAUTHORIZED',
      'Send an admin token as "Authorization: Bearer <token>" (fleetcast tokens create --admin)',
    )
  }
  const result = check(bearer)
  if (!result.ok) throw new GatewayError('FC_ERR_UNAUTHORIZED', REASONS[result.reason])
  if (result.token.kind !== 'admin') {
    throw new GatewayError(
      'FC_ERR_FORBIDDEN',
      `Token ${result.token.id} is a ${result.token.kind} token; the admin API takes admin tokens`,
    )
  }
  return result.token
}
