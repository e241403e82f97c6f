import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import * as ws from 'ws'
import { WebSocket, WebSocketServer } from 'ws'
import { textFrame, writeFrame } from './frame-writer.js'

/** ws's own framing of an unmasked final text frame, the reference for ours. */
function wsFrame(payload: Buffer): Buffer {
  // ws exports Sender at run time; its type declarations leave it out.
  const { Sender } = ws as unknown as {
    Sender: { frame(data: Buffer, options: Record<string, unknown>): Buffer[] }
  }
  const frame = Sender.frame(payload, {
    fin: true,
    rsv1: false,
    opcode: 1,
    mask: false,
    readOnly: false,
  })
  return Buffer.concat(frame)
}

async function connectedPair(): Promise<{ server: WebSocket; client: WebSocket; close(): void }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  await new Promise((resolve) => wss.once('listening', resolve))
  const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve))
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`)
  await new Promise((resolve) => client.once('open', resolve))
  return {
    server: await accepted,
    client,
    close: () => {
      client.terminate()
      wss.close()
    },
  }
}

describe('frame writer (RFC 6455 §5.2)', () => {
  it('frames like ws at every length encoding', () => {
    for (const length of [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]) {
      const payload = Buffer.alloc(length, 0x61)
      expect(textFrame(payload).equals(wsFrame(payload)), `length ${length}`).toBe(true)
    }
  })

  it('writes straight to the socket of a ws 8 connection, in order with ws.send and pings', async () => {
    const { server, client, close } = await connectedPair()
    const received: string[] = []
    const pinged = new Promise((resolve) => client.once('ping', resolve))
    const all = new Promise<void>((resolve) =>
      client.on('message', (data) => {
        received.push(String(data))
        if (received.length === 6) resolve()
      }),
    )
    const shared = Buffer.from('{"event":"e","data":"shared"}')
    // Several frames for one socket in one turn: one corked write, same order on the wire.
    expect(writeFrame(server, Buffer.from('one'))).toBe(true)
    server.send('two')
    expect(writeFrame(server, shared)).toBe(true)
    server.ping()
    expect(writeFrame(server, shared)).toBe(true)
    expect(writeFrame(server, Buffer.alloc(70_000, 0x62))).toBe(true)
    server.send('six')
    await all
    await pinged
    expect(received.slice(0, 4)).toEqual(['one', 'two', String(shared), String(shared)])
    expect(received[4]).toBe('b'.repeat(70_000))
    expect(received[5]).toBe('six')
    close()
  })

  it('declines when ws is not idle, so the caller falls back to ws.send', async () => {
    const { server, close } = await connectedPair()
    const internals = server as unknown as { _sender: { _queue: unknown[] } }
    internals._sender._queue.push(['queued'])
    expect(writeFrame(server, Buffer.from('x'))).toBe(false)
    internals._sender._queue.pop()
    expect(writeFrame(server, Buffer.from('x'))).toBe(true)
    close()
  })
})
