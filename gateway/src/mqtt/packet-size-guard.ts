import { Duplex, Transform, type TransformCallback } from 'node:stream'

/**
 * Watches the MQTT fixed headers of an inbound byte stream ([MQTT-2.2.3]: remaining length is a
 * 1-4 byte variable integer) and fails the stream as soon as one packet announces more than
 * `maxBytes`, before the broker buffers it. Bytes pass through unchanged.
 */
export class PacketSizeGuard extends Transform {
  readonly #maxBytes: number
  /** Bytes of the current packet's body still to come; -1 while reading a fixed header. */
  #remaining = -1
  #headerBytes = 0
  #length = 0
  #multiplier = 1

  constructor(maxBytes: number) {
    super()
    this.#maxBytes = maxBytes
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let i = 0
    while (i < chunk.length) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, chunk.length - i)
        this.#remaining -= take
        i += take
        if (this.#remaining === 0) this.#remaining = -1
        continue
      }
      const byte = chunk[i] ?? 0
      i += 1
      if (this.#headerBytes === 0) {
        this.#headerBytes = 1 // packet type and flags
        continue
      }
      this.#length += (byte & 0x7f) * this.#multiplier
      this.#multiplier *= 128
      this.#headerBytes += 1
      if (byte & 0x80) {
        if (this.#headerBytes > 4) {
          done(new Error('malformed remaining length [MQTT-2.2.3]'))
          return
        }
        continue
      }
      if (this.#length + this.#headerBytes > this.#maxBytes) {
        const size = this.#length + this.#headerBytes
        done(new Error(`packet of ${size} bytes exceeds mqtt.maxPacketBytes`))
        return
      }
      this.#remaining = this.#length === 0 ? -1 : this.#length
      this.#headerBytes = 0
      this.#length = 0
      this.#multiplier = 1
    }
    done(null, chunk)
  }
}

/** The connection as the broker should see it: reads pass the guard, writes go straight out. */
export function guardedStream(
  socket: Duplex,
  maxBytes: number,
  remoteAddress = (socket as { remoteAddress?: string }).remoteAddress,
): Duplex {
  const guard = new PacketSizeGuard(maxBytes)
  guard.on('error', () => socket.destroy())
  socket.on('error', (error) => guard.destroy(error))
  const stream = Duplex.from({ readable: socket.pipe(guard), writable: socket })
  socket.on('close', () => stream.destroy())
  // aedes and the login throttle read the peer address from the stream they are given.
  Object.defineProperty(stream, 'remoteAddress', { value: remoteAddress })
  return stream
}
