import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { connectDevice } from '../../test/support/device.js'
import { findCloseCode, openRawPusherSocket, openRawTcpUpgrade } from '../../test/support/raw-ws.js'
import { startTestGateway, testApp } from '../../test/support/test-gateway.js'
import { selfSignedCertificate } from '../../test/support/tls.js'
import { hmacHex } from '../src/auth/channel-signature.js'

describe('TLS on the HTTP port', () => {
  it('serves wss:// with the configured certificate', async (context) => {
    const { cert, key } = selfSignedCertificate(context)
    const { addresses } = await startTestGateway({ http: { tls: { cert, key } } })
    const ws = new WebSocket(
      `wss://127.0.0.1:${addresses.http.port}/app/${testApp.key}?protocol=7`,
      {
        ca: readFileSync(cert),
      },
    )
    const first = await new Promise<string>((resolve, reject) => {
      ws.once('message', (data) => resolve(data.toString()))
      ws.once('error', reject)
    })
    ws.close()
    expect(JSON.parse(first).event).toBe('pusher:connection_established')
  })

  it('refuses to start when a TLS file cannot be read, naming the setting', async () => {
    await expect(
      startTestGateway({
        http: { tls: { cert: '/nonexistent/cert.pem', key: '/nonexistent/key.pem' } },
      }),
    ).rejects.toMatchObject({
      code: 'FC_ERR_TLS_FILE',
      message: 'Cannot read http.tls.cert (/nonexistent/cert.pem): ENOENT',
    })
  })
})

describe('backpressure', () => {
  it('closes a reader that stops reading with 4101 while the others keep receiving', async () => {
    const target = await startTestGateway({ pusher: { maxBufferedBytes: 64 * 1024 } })
    const port = target.addresses.http.port
    const channel = 'private-device-flood'
    const subscribe = (socketId: string) =>
      JSON.stringify({
        event: 'pusher:subscribe',
        data: {
          channel,
          auth: `${testApp.key}:${hmacHex(testApp.secret, `${socketId}:${channel}`)}`,
        },
      })
    const reader = await openRawPusherSocket(port, testApp.key)
    const { socket_id } = JSON.parse((await reader.frames.next()).data as string) as {
      socket_id: string
    }
    reader.ws.send(subscribe(socket_id))
    await reader.frames.next()

    // A client that completes the handshake, subscribes, then stops reading from its socket.
    const stalled = await openRawTcpUpgrade(port, `/app/${testApp.key}?protocol=7`)
    await new Promise<void>((resolve) => {
      const check = () => {
        const text = stalled.received().toString('latin1')
        if (!text.includes('socket_id')) return
        stalled.socket.off('data', check)
        resolve()
      }
      stalled.socket.on('data', check)
      check()
    })
    const stalledId =
      /socket_id\\":\\"(\d+\.\d+)/.exec(stalled.received().toString('latin1'))?.[1] ?? ''
    stalled.socket.write(maskedTextFrame(subscribe(stalledId)))
    await new Promise<void>((resolve) => {
      const check = () => {
        if (!stalled.received().toString('latin1').includes('subscription_succeeded')) return
        stalled.socket.off('data', check)
        resolve()
      }
      stalled.socket.on('data', check)
      check()
    })
    stalled.socket.pause()

    // 3000 events of 8 KB (24 MB) outgrow the kernel's loopback socket buffers by far, so the
    // stalled socket's unsent bytes must pile up in the gateway until the bound trips.
    const device = await connectDevice(target, 'flood')
    const payload = JSON.stringify({ pad: 'x'.repeat(8000) })
    let delivered = 0
    const readerGotAll = new Promise<void>((resolve) => {
      reader.ws.on('message', () => {
        delivered += 1
        if (delivered === 3000) resolve()
      })
    })
    // Paced by PUBACKs so the live reader keeps up; only the stalled one falls behind.
    for (let batch = 0; batch < 60; batch++) {
      await Promise.all(
        Array.from({ length: 50 }, () =>
          device.publishAsync('devices/flood/events/tick', payload, { qos: 1 }),
        ),
      )
    }
    await readerGotAll

    // Drain what the server wrote before giving up on the stalled reader: it ends with close 4101.
    const closed = new Promise<void>((resolve) => stalled.socket.once('close', () => resolve()))
    stalled.socket.resume()
    stalled.socket.on('data', () => {
      if (findCloseCode(stalled.received()) !== undefined) stalled.socket.end()
    })
    await closed
    expect(findCloseCode(stalled.received())).toBe(4101)
  })
})

/** A client-to-server text frame (masked, as RFC 6455 §5.3 requires of clients). */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text)
  const mask = Buffer.from([1, 2, 3, 4])
  const header =
    payload.length < 126
      ? Buffer.from([0x81, 0x80 | payload.length])
      : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff])
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] ?? 0)))
  return Buffer.concat([header, mask, masked])
}
