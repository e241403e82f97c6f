import { measureFanout } from './2-fanout.mjs'
import {
  measureDeviceToBrowser,
  measureMosquittoIngress,
  sumTarget,
} from './3-device-to-browser.mjs'

/**
 * Scenario 7, payload sweep: 100 B, 1 KB and 10 KB JSON payloads (100, 1,000 and 10,000 bytes;
 * the gateway's default event data limit is 10 KiB) through
 * - device to browser 1:1 (`d2b-*`): scenario 3's measurement with D devices on their own
 *   channels, against its baseline pieces, mosquitto's ingress of the same payloads and the bare
 *   `ws` server's delivery of the same frames;
 * - fan-out (`fanout-*`, --full only): scenario 2's measurement with N = 1,000 sockets on one
 *   channel, against bare-ws and the pre-framed raw-socket writer.
 * Servers that do not take part in a variant return no row for it.
 */
const SIZES = [100, 1000, 10_000]
const FANOUT_N = 1000
const DEVICES = 1000

export default {
  id: 'payload',
  number: 7,
  title: 'Payload sweep: 100 B, 1 KB, 10 KB',
  servers: () => ['gateway', 'mosquitto', 'bare-ws', 'raw-writer'],
  // The quick profile has no room for 27 more measurements in 3 minutes; 100 B is scenario 1-3's.
  variants: (profile) =>
    profile.full
      ? [
          ...SIZES.map((bytes) => ({ name: `d2b-${bytes}`, params: { path: 'd2b', bytes } })),
          ...SIZES.map((bytes) => ({ name: `fanout-${bytes}`, params: { path: 'fanout', bytes } })),
        ]
      : [],
  notes: (profile) =>
    profile.full
      ? [
          `d2b: device to browser 1:1 with ${DEVICES.toLocaleString('en-US')} devices (scenario ` +
            "3's method; mosquitto is its ingress piece, bare-ws its delivery piece)",
          `fanout: one channel, N = ${FANOUT_N.toLocaleString('en-US')} sockets (scenario 2's method)`,
        ]
      : [
          'skipped in the quick profile: its 27 measurements (3 sizes × 3 servers × 3 runs) do not ' +
            'fit in 3 minutes next to scenarios 1-6; run it with --full (--scenarios payload)',
        ],
  figures: [
    { key: 'cpuUsPerMsg', label: 'CPU-µs/msg', digits: 2, ratio: true },
    { key: 'payloadBytes', label: 'payload B', digits: 0 },
    { key: 'cpuUsPerDeviceMsg', label: 'CPU-µs/device msg', digits: 2 },
  ],
  targets: [
    sumTarget(
      1.3,
      "device to browser: gateway CPU-µs per device message ≤ 1.3× (Mosquitto's ingress + bare ws's delivery) at every size",
    ),
  ],

  async measure({ server, variant, profile, log }) {
    const { path, bytes } = variant.params
    const key = `payload/${server}/${variant.name}`
    if (path === 'fanout') {
      if (server === 'mosquitto') return []
      const figures = await measureFanout({
        server,
        profile,
        log,
        n: FANOUT_N,
        payloadBytes: bytes,
        key,
      })
      return [{ ...figures, payloadBytes: bytes }]
    }
    if (server === 'raw-writer') return []
    if (server === 'mosquitto') {
      return [
        await measureMosquittoIngress({
          profile,
          log,
          key,
          count: DEVICES,
          payloadBytes: bytes,
        }),
      ]
    }
    return [
      await measureDeviceToBrowser({
        server,
        profile,
        log,
        key,
        count: DEVICES,
        perChannel: 1,
        payloadBytes: bytes,
      }),
    ]
  },
}
