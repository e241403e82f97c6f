import { dataField } from '../protocol.js'
import type { FrameHandler } from './context.js'

/** pusher-protocol §3.2: leave the channel; no reply. */
export const handleUnsubscribe: FrameHandler = async (connection, frame, { channels }) => {
  const channel = dataField(frame, 'channel')
  if (typeof channel !== 'string' || !connection.channels.has(channel)) return
  const presenceUserId = connection.channels.get(channel)
  connection.channels.delete(channel)
  await channels.unsubscribe(connection, channel, presenceUserId)
}
