/**
 * Follows MQTT packet boundaries in a byte stream ([MQTT-2.2.3]: a type byte, a 1-4 byte remaining
 * length, then the body). Packets for which `hold(firstByte)` is true are collected whole (one
 * that arrived in one chunk is looked at where it lies) and replaced by what `complete` returns;
 * every other byte passes as it arrives. A malformed length
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
    /** Where a packet to hold began in this chunk while its header is read; -1 when none did. */
    let heldStart = -1
    const flush = (end: number) => {
      if (end > segment) {
        const part = segment === 0 && end === chunk.length ? chunk : chunk.subarray(segment, end)
        if (this.#held) this.#held.push(part)
        else out.push(part)
      }
      segment = end
    }
    /** A held packet that spanned chunks is complete at `end`. */
    const packetEnd = (end: number): boolean => {
      const held = this.#held
      const headerLength = this.#headerBytes
      this.#headerBytes = 0
      if (held === undefined) return true
      flush(end)
      this.#held = undefined
      const replacement = this.#complete(Buffer.concat(held), headerLength)
      if (replacement === undefined) this.#stopped = true
      else out.push(replacement)
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
        if (this.#hold(byte)) heldStart = i - 1
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
      if (heldStart >= 0) {
        const start = heldStart
        const end = i + this.#bodyLeft
        heldStart = -1
        if (end <= chunk.length) {
          // Whole in this chunk (the usual case): checked where it lies, and passed on as part of
          // the chunk unless replaced, so a chunk of whole packets goes on as one buffer.
          const packet = chunk.subarray(start, end)
          const replacement = this.#complete(packet, this.#headerBytes)
          this.#headerBytes = 0
          this.#bodyLeft = 0
          i = end
          if (replacement === undefined) {
            this.#stopped = true
            return undefined
          }
          if (replacement !== packet) {
            flush(start)
            out.push(replacement)
            segment = end
          }
          continue
        }
        // It ends in a later chunk: held from its first byte.
        flush(start)
        this.#held = []
      }
      if (this.#bodyLeft === 0 && !packetEnd(i)) return undefined
    }
    if (heldStart >= 0) {
      // A packet to hold whose header goes on in the next chunk.
      flush(heldStart)
      this.#held = []
    }
    flush(chunk.length)
    return out
  }
}
