import { getHeapSpaceStatistics } from 'node:v8'

/**
 * Preloaded into a bench server (`node --expose-gc --import <this file> server.mjs`, see
 * memory.mjs): answers the IPC command `{ cmd: 'memory' }` with `{ type: 'memory', gc, rss,
 * heapUsed, heapTotal, external, arrayBuffers, newSpace }` after two full garbage collections, so
 * servers that know nothing of it (bench/mqtt/aedes-server.mjs, ...) can be measured idle.
 * `newSpace` is the V8 young generation's committed size, which grows under allocation bursts and
 * is not given back by a full collection.
 */
process.on('message', (message) => {
  if (message?.cmd !== 'memory') return
  void (async () => {
    const gc = typeof globalThis.gc === 'function'
    for (let i = 0; gc && i < 2; i++) {
      globalThis.gc()
      // Let finalizers and freed external buffers go before the next collection.
      await new Promise((resolve) => setImmediate(resolve))
    }
    const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')
    process.send({
      type: 'memory',
      gc,
      newSpace: newSpace?.space_size ?? null,
      ...process.memoryUsage(),
    })
  })()
})
