import type { Channels } from '../../channels/channels.js'
import type { UserSessions } from '../../channels/user-sessions.js'
import type { Config } from '../../config/schema.js'
import type { Meter } from '../../domain/meter.js'
import type { PusherConnection } from '../connection.js'
import type { ClientFrame } from '../protocol.js'

export interface EdgeContext {
  meter: Meter
  channels: Channels
  users: UserSessions
  limits: Readonly<Config['pusher']>
}

export type FrameHandler = (
  connection: PusherConnection,
  frame: ClientFrame,
  context: EdgeContext,
) => void | Promise<void>
