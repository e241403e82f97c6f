import { randomInt } from 'node:crypto'

/** Both server SDKs refuse to sign any other shape (pusher-protocol §0.1). */
export const SOCKET_ID_PATTERN = /^\d+\.\d+$/

/**
 * Socket ids are `{node}.{counter}`: the node part is random per process (or given), so ids stay
 * unique across the nodes of a cluster without coordination.
 */
export function createSocketIdGenerator(node: number = randomInt(1, 2 ** 31)): () => string {
  let counter = randomInt(1, 2 ** 31)
  return () => {
    counter = counter >= Number.MAX_SAFE_INTEGER ? 1 : counter + 1
    return `${node}.${counter}`
  }
}
