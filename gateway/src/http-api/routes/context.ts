import type { ChannelInfoReader } from '../../channels/channel-info.js'
import type { Channels } from '../../channels/channels.js'
import type { App } from '../../domain/app.js'
import type { Meter } from '../../domain/meter.js'

export interface RestContext {
  meter: Meter
  channels: Channels
  info: ChannelInfoReader
  /** Closes every signed-in socket of the user (on every node). */
  terminateUser(appId: string, userId: string): void
  maxDataBytes: number
}

export interface RestRequest {
  app: App
  body: Buffer
  query: URLSearchParams
  /** Captures from the route path. */
  params: string[]
}

export type RestHandler = (context: RestContext, request: RestRequest) => Promise<unknown>
