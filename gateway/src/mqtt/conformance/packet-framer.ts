/**
 * Follows MQTT packet boundaries in a byte stream ([MQTT-2.2.3]: a type byte, a 1-4 byte remaining
 * length, then the body). Packets for which `hold(firstByte)` is true are collected whole and
 * replaced by what `complete` returns; every other byte passes as it arrives. A malformed length
 * or a packet announcing more than `maxPacketBytes` stops the framer on its header (`problem`).
 */
export class PacketFramer {
  readonly #hold: (firstByte: number) => boolean
  readonly #complete: (packet: Buffer, headerLength: number) => Buffer | undefined
  #headerBytes = 0
  #length = 0
  #multiplier = 1
  #bodyLeft = 0
  #held: Buffer[] | undefined
  #stopped = false
  readonly #maxPacketBytes: number
  #problem: string | undefined

  /**
   * @param complete the bytes to pass on for a held packet (fixed header included), or undefined
   *   to stop: nothing more passes.
   */
  constructor(
    hold: (firstByte: number) => boolean,
    complete: (packet: Buffer, headerLength: number) => Buffer | undefined,
    maxPacketBytes = Number.POSITIVE_INFINITY,
  ) {
    this.#hold = hold
    this.#complete = complete
    this.#maxPacketBytes = maxPacketBytes
  }

  /** Why the framer stopped on its own (a malformed or oversize header), if it did. */
  get problem(): string | undefined {
    return this.#problem
  }

  #stop(problem: string): undefined {
    this.#stopped = true
    this.#problem = problem
    return undefined
  }

  /** The bytes to pass on for `chunk`; undefined once stopped (or on a malformed held header). */
  feed(chunk: Buffer): Buffer[] | undefined {
    if (this.#stopped) return undefined
    const out: Buffer[] = []
    let segment = 0
    const flush = (end: number) => {
      if (end > segment) {
        const part = chunk.subarray(segment, end)
        if (this.#held) this.#held.push(part)
        else emit(out, part)
      }
      segment = end
    }
    const packetEnd = (end: number): boolean => {
      const held = this.#held
      const headerLength = this.#headerBytes
      this.#headerBytes = 0
      if (held === undefined) return true
      flush(end)
      this.#held = undefined
      // A packet that arrived in one chunk is already contiguous: no copy.
      const [whole] = held
      const packet = held.length === 1 && whole ? whole : Buffer.concat(held)
      const replacement = this.#complete(packet, headerLength)
      if (replacement === undefined) this.#stopped = true
      else emit(out, replacement)
      return !this.#stopped
    }
    let i = 0
    while (i < chunk.length) {
      if (this.#bodyLeft > 0) {
        const take = Math.min(this.#bodyLeft, chunk.length - i)
        i += take
        this.#bodyLeft -= take
        if (this.#bodyLeft === 0 && !packetEnd(i)) return undefined
        continue
      }
      const byte = chunk[i] ?? 0
      i += 1
      if (this.#headerBytes === 0) {
        this.#headerBytes = 1
        this.#length = 0
        this.#multiplier = 1
        if (this.#hold(byte)) {
          flush(i - 1)
          this.#held = []
        }
        continue
      }
      this.#headerBytes += 1
      this.#length += (byte & 0x7f) * this.#multiplier
      this.#multiplier *= 128
      if (byte & 0x80) {
        if (this.#headerBytes < 5) continue
        return this.#stop('malformed remaining length [MQTT-2.2.3]')
      }
      // Refused on its header, before the body is buffered by anyone.
      if (this.#length + this.#headerBytes > this.#maxPacketBytes) {
        return this.#stop(
          `packet of ${this.#length + this.#headerBytes} bytes exceeds mqtt.maxPacketBytes`,
        )
      }
      this.#bodyLeft = this.#length
      if (this.#bodyLeft === 0 && !packetEnd(i)) return undefined
    }
    flush(chunk.length)
    return out
  }
}

/**
 * Appends `part`, joined to the last part when it continues it in memory: packets passed unchanged
 * from one chunk come out as one view of that chunk, not as pieces to concatenate.
 */
function emit(out: Buffer[], part: Buffer): void {
  const last = out.at(-1)
  if (last?.buffer === part.buffer && last.byteOffset + last.length === part.byteOffset) {
    out[out.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + part.length)
  } else out.push(part)
}
