import { readFileSync } from 'node:fs'

/**
 * Top frames of a `node --cpu-prof` profile by self time, self time by module, and the gateway's
 * and its libraries' frames by total time (callees included), as shares of the time the thread
 * was not idle.
 * usage: node bench/lib/profile-summary.mjs FILE.cpuprofile [top=25]
 */
const [file, top = '25'] = process.argv.slice(2)
if (!file) throw new Error('usage: profile-summary.mjs FILE.cpuprofile [top]')
const profile = JSON.parse(readFileSync(file, 'utf8'))
// A driver's snapshot of gateway/dist (gateway-snapshot.mjs) stands for gateway/dist.
for (const node of profile.nodes) {
  node.callFrame.url = node.callFrame.url.replace(
    /node_modules\/\.cache\/fleetcast-bench-[\w-]+\/\d+\//,
    'gateway/',
  )
}

const selfUs = new Map()
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
}
const idleIds = new Set(
  profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id),
)
let idle = 0
let total = 0
for (const [id, us] of selfUs) {
  if (idleIds.has(id)) idle += us
  else total += us
}

const byFrame = new Map()
const byModule = new Map()
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0
  if (us === 0 || idleIds.has(node.id)) continue
  const { functionName, url, lineNumber } = node.callFrame
  const where = url ? `${shorten(url)}:${lineNumber + 1}` : ''
  const frame = `${functionName || '(anonymous)'} ${where}`.trim()
  byFrame.set(frame, (byFrame.get(frame) ?? 0) + us)
  const module = moduleOf(url, functionName)
  byModule.set(module, (byModule.get(module) ?? 0) + us)
}

/** Total time: a node's self time plus its subtree's, counted once per frame along a path. */
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parentOf = new Map()
for (const node of profile.nodes)
  for (const child of node.children ?? []) parentOf.set(child, node.id)
const totalByFrame = new Map()
for (const [id, us] of selfUs) {
  if (idleIds.has(id)) continue
  const seen = new Set()
  for (let at = id; at !== undefined; at = parentOf.get(at)) {
    const { functionName, url, lineNumber } = byId.get(at).callFrame
    if (!/node_modules|\/gateway\//.test(url)) continue
    const frame = `${functionName || '(anonymous)'} ${shorten(url)}:${lineNumber + 1}`
    if (seen.has(frame)) continue
    seen.add(frame)
    totalByFrame.set(frame, (totalByFrame.get(frame) ?? 0) + us)
  }
}

function shorten(url) {
  return url
    .replace(/^file:\/\/.*?\/node_modules\//, '')
    .replace(/^file:\/\/.*?\/(gateway|bench)\//, '$1/')
}

function moduleOf(url, name) {
  if (!url) return name.startsWith('(') ? name : '(native)'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg) return pkg[1]
  if (url.startsWith('node:')) return 'node: internals'
  if (/\/gateway\/dist\//.test(url)) return '@fleetcast/gateway'
  return shorten(url)
}

const pct = (us) => `${((us / total) * 100).toFixed(1).padStart(5)}%`
const rows = (map, limit) =>
  [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, us]) => `${pct(us)}  ${name}`)
console.log(
  `${(total / 1e6).toFixed(1)} s busy, ${(idle / 1e6).toFixed(1)} s idle; shares are of busy time\n`,
)
console.log('self time by module:')
console.log(rows(byModule, 12).join('\n'))
console.log(`\ntop ${top} frames by self time:`)
console.log(rows(byFrame, Number(top)).join('\n'))
console.log(`\ntop ${top} gateway and library frames by total time:`)
console.log(rows(totalByFrame, Number(top)).join('\n'))
