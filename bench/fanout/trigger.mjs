import net from 'node:net'

/**
 * The event source, one raw TCP socket with TCP_NODELAY. Both kinds carry the same payload, a
 * device reading stamped with the send time in microseconds (16 digits, patched in place):
 * - `mqtt`: a device session on the gateway's broker; each event is a pre-encoded QoS 0 PUBLISH.
 * - `line`: the bare server's trigger port; each event is the payload and a newline.
 */
const PAYLOAD = '{"t":0000000000000000,"v":21.5}'
const STAMP_AT = PAYLOAD.indexOf('0')
const DIGITS = 16

export async function openTrigger({ kind, host, port, deviceId, password, topic }) {
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
    template = mqttPublish(topic, Buffer.from(PAYLOAD))
  } else {
    template = Buffer.from(`${PAYLOAD}\n`)
  }
  const stampOffset = template.length - (kind === 'mqtt' ? 0 : 1) - PAYLOAD.length + STAMP_AT

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

function mqttString(text) {
  const bytes = Buffer.from(text)
  const out = Buffer.allocUnsafe(2 + bytes.length)
  out.writeUInt16BE(bytes.length, 0)
  bytes.copy(out, 2)
  return out
}

function remainingLength(size) {
  const bytes = []
  do {
    let byte = size % 128
    size = Math.floor(size / 128)
    if (size > 0) byte |= 0x80
    bytes.push(byte)
  } while (size > 0)
  return Buffer.from(bytes)
}

function mqttPacket(firstByte, body) {
  return Buffer.concat([Buffer.from([firstByte]), remainingLength(body.length), body])
}

function mqttPublish(topic, payload) {
  return mqttPacket(0x30, Buffer.concat([mqttString(topic), payload]))
}

/** MQTT 3.1.1 CONNECT (clean session, username and password, keep-alive off), then CONNACK. */
async function mqttConnect(socket, deviceId, password) {
  const variableHeader = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0xc2, 0, 0])
  const body = Buffer.concat([
    variableHeader,
    mqttString(deviceId),
    mqttString(deviceId),
    mqttString(password),
  ])
  socket.write(mqttPacket(0x10, body))
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
