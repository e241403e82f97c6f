import net from 'node:net'
import { connectFrame, publishFrame } from '../lib/mqtt-frames.mjs'

/**
 * The event source, one raw TCP socket with TCP_NODELAY. Both kinds carry the same payload, a
 * device reading stamped with the send time in microseconds (16 digits, patched in place):
 * - `mqtt`: a device session on the gateway's broker; each event is a pre-encoded QoS 0 PUBLISH.
 * - `line`: the bare server's trigger port; each event is the payload and a newline.
 */
const PAYLOAD = '{"t":0000000000000000,"v":21.5}'
const STAMP_AT = PAYLOAD.indexOf('0')
const DIGITS = 16

/** The payload, padded to `bytes` with a `pad` string when given (at least 42 bytes). */
function payloadOf(bytes) {
  if (!bytes) return PAYLOAD
  const head = `${PAYLOAD.slice(0, -1)},"pad":"`
  const pad = bytes - head.length - 2
  if (pad < 0) throw new Error(`a payload of ${bytes} bytes is too small`)
  return `${head}${'x'.repeat(pad)}"}`
}

export async function openTrigger({ kind, host, port, deviceId, password, topic, payloadBytes }) {
  const payload = payloadOf(payloadBytes)
  const socket = net.connect({ host, port, noDelay: true })
  socket.on('error', (error) => {
    process.stderr.write(`trigger socket error: ${error.message}\n`)
  })
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  let template
  if (kind === 'mqtt') {
    await mqttConnect(socket, deviceId, password)
    template = publishFrame(topic, Buffer.from(payload), 0).frame
  } else {
    template = Buffer.from(`${payload}\n`)
  }
  const stampOffset = template.length - (kind === 'mqtt' ? 0 : 1) - payload.length + STAMP_AT

  return {
    /** Writes `count` events in one write, all stamped now. */
    send(count) {
      const stamp = String(Math.round((performance.timeOrigin + performance.now()) * 1000))
      if (stamp.length !== DIGITS) throw new Error(`timestamp ${stamp} is not ${DIGITS} digits`)
      const out = Buffer.allocUnsafe(template.length * count)
      for (let i = 0; i < count; i++) {
        const base = i * template.length
        template.copy(out, base)
        out.write(stamp, base + stampOffset, 'latin1')
      }
      socket.write(out)
    },
    close() {
      socket.destroy()
    },
  }
}

/** MQTT 3.1.1 CONNECT (clean session, username and password, keep-alive off), then CONNACK. */
async function mqttConnect(socket, deviceId, password) {
  socket.write(connectFrame({ clientId: deviceId, username: deviceId, password }))
  const connack = await new Promise((resolve, reject) => {
    let received = Buffer.alloc(0)
    const onData = (chunk) => {
      received = Buffer.concat([received, chunk])
      if (received.length < 4) return
      socket.off('data', onData)
      resolve(received)
    }
    socket.on('data', onData)
    socket.once('close', () => reject(new Error('broker closed the connection before CONNACK')))
  })
  if (connack[0] !== 0x20 || connack[3] !== 0) {
    throw new Error(`CONNACK refused: ${connack.toString('hex')}`)
  }
}
