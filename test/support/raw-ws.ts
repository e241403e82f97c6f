import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { onTestFinished } from 'vitest'
import WebSocket from 'ws'

export interface RawSocketOptions {
  /** Query string after `?`; pusher-js's own by default. */
  query?: string
  /** Sent as the Origin header, as a browser would. */
  origin?: string
  /** Path before `/app/{key}` (pusher-js wsPath). */
  prefix?: string
}

/** A plain `ws` client on the Pusher path, for frames pusher-js would never send. */
export async function openRawPusherSocket(
  port: number,
  key: string,
  options: RawSocketOptions = {},
): Promise<{ ws: WebSocket; frames: FrameQueue }> {
  const query = options.query ?? 'protocol=7&client=js&version=8.6.0&flash=false'
  const ws = new WebSocket(
    `ws://127.0.0.1:${port}${options.prefix ?? ''}/app/${key}?${query}`,
    options.origin === undefined ? {} : { origin: options.origin },
  )
  onTestFinished(() => ws.terminate())
  const frames = new FrameQueue(ws)
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  return { ws, frames }
}

/** Collects text frames so a test can await "the next one", parsed or byte for byte. */
export class FrameQueue {
  readonly #frames: string[] = []
  readonly #waiters: Array<(frame: string) => void> = []

  constructor(ws: WebSocket) {
    ws.on('message', (data) => {
      const text = data.toString()
      const waiter = this.#waiters.shift()
      if (waiter) waiter(text)
      else this.#frames.push(text)
    })
  }

  /** The next frame exactly as it arrived. */
  nextText(): Promise<string> {
    const frame = this.#frames.shift()
    if (frame !== undefined) return Promise.resolve(frame)
    return new Promise((resolve) => this.#waiters.push(resolve))
  }

  async next(): Promise<Record<string, unknown>> {
    return JSON.parse(await this.nextText()) as Record<string, unknown>
  }
}

export function closeCode(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  )
}

/**
 * A raw TCP client that completes the WebSocket handshake by hand, so a test can send bytes no
 * WebSocket library would produce.
 */
export async function openRawTcpUpgrade(
  port: number,
  path: string,
): Promise<{ socket: Socket; received: () => Buffer }> {
  const socket = connect(port, '127.0.0.1')
  onTestFinished(() => {
    socket.destroy()
  })
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('error', reject)
  })
  socket.write(
    [
      `GET ${path} HTTP/1.1`,
      'Host: 127.0.0.1',
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      '',
      '',
    ].join('\r\n'),
  )
  return { socket, received: () => Buffer.concat(chunks) }
}

/** The status code of the first close frame (opcode 8) in a server byte stream, if any. */
export function findCloseCode(bytes: Buffer): number | undefined {
  const headerEnd = bytes.indexOf('\r\n\r\n')
  let offset = headerEnd < 0 ? bytes.length : headerEnd + 4
  while (offset + 2 <= bytes.length) {
    const opcode = (bytes[offset] ?? 0) & 0x0f
    let length = (bytes[offset + 1] ?? 0) & 0x7f
    let start = offset + 2
    if (length === 126) {
      length = bytes.readUInt16BE(start)
      start += 2
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(start))
      start += 8
    }
    if (opcode === 0x8 && length >= 2) return bytes.readUInt16BE(start)
    offset = start + length
  }
  return undefined
}
