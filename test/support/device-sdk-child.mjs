// A device process for test/device-sdk-crash.test.ts: the built SDK (device-sdk/dist) publishing
// `count` readings {n} from `from`, printing one line per step so the test can follow it and
// SIGKILL it at any point. Argument: JSON of { url, deviceId, secret, dataDir, from, count, maxInflight }.
import { createDevice } from '../../device-sdk/dist/index.js'

const options = JSON.parse(process.argv[2] ?? '{}')
const device = createDevice({
  url: options.url,
  deviceId: options.deviceId,
  secret: options.secret,
  dataDir: options.dataDir,
  maxInflight: options.maxInflight ?? 10,
  backoff: { minDelayMs: 10, maxDelayMs: 100 },
})
const say = (line) => process.stdout.write(`${line}\n`)
device.on('connected', () => say('connected'))
device.on('delivered', ({ seq }) => say(`delivered ${seq}`))
device.on('storage.recovered', (report) => say(`recovered ${JSON.stringify(report)}`))
await device.start()
say(`started ${device.queue.messages}`)
for (let n = options.from; n < options.from + options.count; n++) {
  await device.publish('reading', { n })
}
say(`queued ${options.count}`)
