import type { ChannelHub } from '../../channels/channel-hub.js'
import type { PusherConnection } from '../connection.js'
import type { ClientFrame } from '../protocol.js'

export interface EdgeContext {
  hub: ChannelHub
}

export type FrameHandler = (
  connection: PusherConnection,
  frame: ClientFrame,
  context: EdgeContext,
) => void
