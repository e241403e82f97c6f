import { Events } from '../protocol.js'
import type { FrameHandler } from './context.js'

export const handlePing: FrameHandler = (connection) => {
  connection.sendEvent(Events.Pong, {})
}

/** Any inbound frame already counts as activity; a pong needs nothing more. */
export const handlePong: FrameHandler = () => {}
