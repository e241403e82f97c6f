const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Whether the bytes of an MQTT UTF-8 string (`start`..`end` of `bytes`) are well-formed UTF-8
 * without encoded surrogates [MQTT-1.5.3-1] and without U+0000 [MQTT-1.5.3-2]. mqtt-packet decodes
 * strings leniently (an ill-formed byte becomes U+FFFD), so this has to look at the bytes.
 */
export function isWellFormedMqttString(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
  let ascii = true
  for (let i = start; i < end; i++) {
    const byte = bytes[i] as number
    if (byte === 0) return false // U+0000 is the byte 0 in well-formed UTF-8, and nothing else is
    if (byte >= 0x80) ascii = false
  }
  if (ascii) return true
  try {
    // WHATWG's fatal decoder refuses overlong forms, surrogates (ED A0..BF xx) and bytes past U+10FFFF.
    strictUtf8.decode(bytes.subarray(start, end))
    return true
  } catch {
    return false
  }
}
