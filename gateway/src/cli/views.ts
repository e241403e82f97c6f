import type { Device } from '../domain/device.js'
import type { AppView } from '../fleet/fleet-operations.js'
import type { AuditEntry } from '../store/audit-log.js'
import type { Claim } from '../store/claim-repository.js'
import type { Token } from '../store/token-repository.js'
import { type Column, formatTags, formatText, formatTime } from './table.js'

const yesNo = (value: boolean) => (value ? 'yes' : 'no')

/** What stops a record working, the first that applies; `active` when nothing does. */
function state(record: { revokedAt: number | null; expiresAt?: number | null }, now: number) {
  if (record.revokedAt !== null) return 'revoked'
  if (record.expiresAt != null && record.expiresAt <= now) return 'expired'
  return 'active'
}

export function deviceState(device: Device): string {
  if (device.revokedAt !== null) return 'revoked'
  return device.enabled ? 'enabled' : 'disabled'
}

export const appColumns: Column<AppView>[] = [
  { header: 'ID', value: (app) => app.id },
  { header: 'KEY', value: (app) => app.key },
  { header: 'ENABLED', value: (app) => yesNo(app.enabled) },
  { header: 'CLIENT EVENTS', value: (app) => yesNo(app.clientEvents) },
  { header: 'CONFIG', value: (app) => (app.managedByConfig ? 'managed' : '-') },
  { header: 'DEVICES', value: (app) => String(app.deviceCount) },
]

export function appFields(app: AppView): Array<[string, string]> {
  return [
    ['id', app.id],
    ['key', app.key],
    ['enabled', yesNo(app.enabled)],
    ['client events', yesNo(app.clientEvents)],
    ['managed by config', yesNo(app.managedByConfig)],
    ['devices', String(app.deviceCount)],
  ]
}

export const deviceColumns: Column<Device>[] = [
  { header: 'ID', value: (device) => device.id, maxWidth: 64 },
  { header: 'APP', value: (device) => device.appId },
  { header: 'NAME', value: (device) => formatText(device.name), maxWidth: 24 },
  { header: 'TAGS', value: (device) => formatTags(device.tags) },
  { header: 'STATE', value: deviceState },
  { header: 'ONLINE SINCE', value: (device) => formatTime(device.connectedAt) },
  { header: 'LAST SEEN', value: (device) => formatTime(device.lastSeenAt) },
]

export function deviceFields(device: Device): Array<[string, string]> {
  return [
    ['id', device.id],
    ['app', device.appId],
    ['name', formatText(device.name)],
    ['tags', formatTags(device.tags)],
    ['state', deviceState(device)],
    ['revoked at', formatTime(device.revokedAt)],
    ['acl publish', device.acl ? device.acl.publish.join(' ') : 'default (devices/<id>/#)'],
    [
      'acl subscribe',
      device.acl ? device.acl.subscribe.join(' ') : 'default (devices/<id>/commands/#)',
    ],
    ['online since', formatTime(device.connectedAt)],
    ['last seen', formatTime(device.lastSeenAt)],
    ['created', formatTime(device.createdAt)],
    ['updated', formatTime(device.updatedAt)],
  ]
}

export function tokenColumns(now: number): Column<Token>[] {
  return [
    { header: 'ID', value: (token) => token.id },
    { header: 'KIND', value: (token) => token.kind },
    { header: 'APP', value: (token) => token.appId ?? '*' },
    { header: 'GRANTS', value: (token) => token.grants.join(',') || '-' },
    { header: 'USER', value: (token) => formatText(token.userId), maxWidth: 24 },
    { header: 'LABEL', value: (token) => formatText(token.label), maxWidth: 24 },
    { header: 'STATE', value: (token) => state(token, now) },
    { header: 'EXPIRES', value: (token) => formatTime(token.expiresAt) },
    { header: 'LAST USED', value: (token) => formatTime(token.lastUsedAt) },
  ]
}

export function tokenFields(token: Token, now: number): Array<[string, string]> {
  return [
    ['id', token.id],
    ['kind', token.kind],
    ['app', token.appId ?? '* (every app)'],
    ['grants', token.grants.join(' ') || '-'],
    ['user', formatText(token.userId)],
    ['label', formatText(token.label)],
    ['state', state(token, now)],
    ['created', formatTime(token.createdAt)],
    ['expires', formatTime(token.expiresAt)],
  ]
}

export function claimColumns(now: number): Column<Claim>[] {
  return [
    { header: 'ID', value: (claim) => claim.id },
    { header: 'APP', value: (claim) => claim.appId },
    { header: 'USES LEFT', value: (claim) => String(claim.usesLeft) },
    { header: 'TAGS', value: (claim) => formatTags(claim.tags) },
    { header: 'LABEL', value: (claim) => formatText(claim.label), maxWidth: 24 },
    { header: 'STATE', value: (claim) => state(claim, now) },
    { header: 'EXPIRES', value: (claim) => formatTime(claim.expiresAt) },
  ]
}

export function claimFields(claim: Claim, now: number): Array<[string, string]> {
  return [
    ['id', claim.id],
    ['app', claim.appId],
    ['uses left', String(claim.usesLeft)],
    ['tags', formatTags(claim.tags)],
    ['label', formatText(claim.label)],
    ['state', state(claim, now)],
    ['created', formatTime(claim.createdAt)],
    ['expires', formatTime(claim.expiresAt)],
  ]
}

export const auditColumns: Column<AuditEntry>[] = [
  { header: 'AT', value: (entry) => formatTime(entry.at) },
  { header: 'ACTOR', value: (entry) => entry.actor, maxWidth: 28 },
  { header: 'ACTION', value: (entry) => entry.action },
  { header: 'APP', value: (entry) => entry.appId ?? '-' },
  { header: 'TARGET', value: (entry) => entry.target ?? '-', maxWidth: 64 },
  { header: 'RESULT', value: (entry) => entry.result },
  {
    header: 'DETAIL',
    value: (entry) => (entry.detail ? JSON.stringify(entry.detail) : '-'),
    maxWidth: 60,
  },
]
