import { readFileSync } from 'node:fs'

/**
 * Top frames of a `node --cpu-prof` profile by self time, and self time by module, as shares of
 * the time the thread was not idle.
 * usage: node bench/fanout/profile-summary.mjs FILE.cpuprofile [top=25]
 */
const [file, top = '25'] = process.argv.slice(2)
if (!file) throw new Error('usage: profile-summary.mjs FILE.cpuprofile [top]')
const profile = JSON.parse(readFileSync(file, 'utf8'))

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
