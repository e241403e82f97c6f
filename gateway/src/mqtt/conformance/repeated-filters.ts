/** One Topic Filter/QoS pair of a SUBSCRIBE, as the client sent it. */
export interface SubscriptionRequest {
  filter: string
  qos: number
}

const FAILURE = 0x80

export function hasRepeatedFilter(requests: readonly SubscriptionRequest[]): boolean {
  return new Set(requests.map((request) => request.filter)).size !== requests.length
}

/**
 * A SUBSCRIBE that names a filter twice must be handled as a sequence of SUBSCRIBEs answered by
 * one SUBACK with a return code per pair [MQTT-3.8.4-4] [MQTT-3.8.4-5]. aedes keeps only the last
 * request per filter, in the order of first occurrence, and answers one code per filter. This
 * rebuilds the code of every pair: the last request for a filter gets aedes' code; an earlier one
 * was granted its own requested QoS, unless the filter was refused (the gateway's authorizers
 * grant a filter as requested or refuse it, whatever the QoS). Undefined when `granted` does not
 * have the shape aedes gives.
 */
export function expandSubackCodes(
  requests: readonly SubscriptionRequest[],
  granted: readonly number[],
): number[] | undefined {
  const codeOf = new Map<string, number>()
  const lastIndex = new Map<string, number>()
  requests.forEach((request, index) => {
    if (!codeOf.has(request.filter)) codeOf.set(request.filter, granted[codeOf.size] ?? -1)
    lastIndex.set(request.filter, index)
  })
  if (codeOf.size !== granted.length) return undefined
  return requests.map((request, index) => {
    const code = codeOf.get(request.filter) ?? FAILURE
    if (lastIndex.get(request.filter) === index || code === FAILURE) return code
    return request.qos
  })
}
