/**
 * Log-linear latency histogram in whole microseconds: exact below 1024 µs, then 512 sub-buckets
 * per power of two (about 0.2 % resolution). Fixed size, no allocation when recording.
 */
const LINEAR = 1024
const SUB = 512
const MAX_SHIFT = 24

export class Histogram {
  counts = new Float64Array(LINEAR + MAX_SHIFT * SUB)
  total = 0

  record(us) {
    const v = us < 0 ? 0 : Math.min(Math.floor(us), 0x7fffffff)
    let index
    if (v < LINEAR) index = v
    else {
      const shift = Math.min(31 - Math.clz32(v) - 9, MAX_SHIFT)
      index = LINEAR + (shift - 1) * SUB + Math.min((v >>> shift) - SUB, SUB - 1)
    }
    this.counts[index]++
    this.total++
  }

  reset() {
    this.counts.fill(0)
    this.total = 0
  }

  /** The value (µs, bucket midpoint) at quantile q in 0..1; null when empty. */
  quantile(q) {
    if (this.total === 0) return null
    const rank = Math.max(1, Math.ceil(q * this.total))
    let seen = 0
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]
      if (seen >= rank) return valueAt(i)
    }
    return valueAt(this.counts.length - 1)
  }
}

function valueAt(index) {
  if (index < LINEAR) return index
  const shift = Math.floor((index - LINEAR) / SUB) + 1
  const mantissa = ((index - LINEAR) % SUB) + SUB
  return mantissa * 2 ** shift + 2 ** (shift - 1)
}
