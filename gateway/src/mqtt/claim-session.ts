import type { Client, PublishPacket } from 'aedes'
import { aclOf, type CompiledAcl } from '../domain/device-acl.js'
import type { ClientSession } from './device-sessions.js'

/** The MQTT username of a device that holds only a claim (docs/provisioning.md). */
export const CLAIM_USERNAME = '$claim'

/**
 * Provisioning topics of one would-be device. `$` topics never match a `#` or `+` subscription
 * [MQTT-4.7.2-1], and the response is written to the requesting connection alone, so no other
 * client ever sees the credentials in it.
 */
function claimTopics(deviceId: string): { request: string; response: string } {
  return {
    request: `$fleetcast/claim/${deviceId}/request`,
    response: `$fleetcast/claim/${deviceId}/response`,
  }
}

/** A connection that logged in with a claim: it may only ask for its own credentials. */
export interface ClaimSession {
  claimId: string
  /** The device id the connection asks for: its client id. */
  requestedId: string
  /** Spent when the request arrives (the claim is checked again then); never logged. */
  claimSecret: string
  address: string | undefined
  topics: { request: string; response: string }
  /** Publish the request topic, subscribe the response topic; nothing else. */
  acl: CompiledAcl
}

export function newClaimSession(fields: Omit<ClaimSession, 'topics' | 'acl'>): ClaimSession {
  const topics = claimTopics(fields.requestedId)
  return { ...fields, topics, acl: aclOf([topics.request], [topics.response]) }
}

export function isClaimSession(session: ClientSession | undefined): session is ClaimSession {
  return session !== undefined && 'claimId' in session
}

/**
 * Only the request topic, never retained (a retained request would outlive the connection), and
 * never as a Will: aedes authorises a Will when the connection is already closing, and a request
 * then would spend a use on credentials nobody can receive.
 */
export function claimMayPublish(
  client: Client,
  session: ClaimSession,
  packet: PublishPacket,
): boolean {
  return !client.closed && !packet.retain && packet.topic === session.topics.request
}
