/**
 * What the fan-out baselines (bench/fanout/bare-ws-server.mjs, the raw writer) tell their driver
 * once listening: a fake Pusher app on `wsPort` whose subscribers get `channel`, and a trigger
 * port taking one line per event. The process exits on the driver's `{ cmd: 'exit' }`.
 */
export const BASELINE_CHANNEL = 'private-device-bench-dev'

export function announceBaseline({ wsPort, triggerPort }) {
  process.on('message', (message) => {
    if (message.cmd === 'exit') process.exit(0)
  })
  process.send({
    type: 'ready',
    ws: {
      host: '127.0.0.1',
      port: wsPort,
      key: 'bench-key',
      secret: 'bench-secret',
      channel: BASELINE_CHANNEL,
    },
    trigger: { kind: 'line', host: '127.0.0.1', port: triggerPort },
  })
}
