import type { FrameHandler } from './context.js'

/** pusher-protocol §3.2: leave the channel; no reply. */
export const handleUnsubscribe: FrameHandler = (connection, frame, { hub }) => {
  const data = frame.data
  const channel =
    typeof data === 'object' && data !== null ? (data as { channel?: unknown }).channel : undefined
  if (typeof channel !== 'string') return
  if (hub.unsubscribe(connection.app.id, channel, connection)) connection.channels.delete(channel)
}
