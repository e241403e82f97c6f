import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { describe, expect, it, onTestFinished } from 'vitest'
import { channelStringToSign, hmacHex } from '../../gateway/src/auth/channel-signature.js'
import { launchChromium } from '../support/chromium.js'
import { connectDevice } from '../support/device.js'
import type { AppCredentials } from '../support/pusher.js'
import { needTool } from '../support/system-tool.js'
import { startTestGateway, testApp } from '../support/test-gateway.js'

const PUSHER_BUNDLE = createRequire(import.meta.url).resolve('pusher-js/dist/web/pusher.min.js')

/** What the page keeps on `window.fleetcast` for the test to poll. */
interface PageState {
  state: 'subscribing' | 'subscribed' | `error: ${string}`
  received: Array<{ event: string; data: unknown }>
}

type PageGlobals = { fleetcast: PageState; pusher: { connection: { socket_id: string } } }

/**
 * The web page: pusher-js 8 from a script tag, configured for a self-hosted server as the README
 * shows, reading the gateway port, app key and channel from its query string.
 */
const PAGE = `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>Fleetcast private channel</title>
<script src="/pusher.min.js"></script>
</head>
<body>
<script>
const params = new URLSearchParams(location.search)
window.fleetcast = { state: 'subscribing', received: [] }
window.pusher = new Pusher(params.get('key'), {
  cluster: '',
  wsHost: '127.0.0.1',
  wsPort: Number(params.get('wsPort')),
  forceTLS: false,
  enabledTransports: ['ws'],
  channelAuthorization: { endpoint: '/pusher/auth', transport: 'ajax' },
})
const channel = window.pusher.subscribe(params.get('channel'))
channel.bind('pusher:subscription_succeeded', () => {
  window.fleetcast.state = 'subscribed'
})
channel.bind('pusher:subscription_error', (error) => {
  window.fleetcast.state = 'error: ' + JSON.stringify(error)
})
channel.bind_global((event, data) => {
  if (!event.startsWith('pusher:')) window.fleetcast.received.push({ event, data })
})
</script>
</body>
</html>
`

interface AuthRequest {
  socketId: string
  channelName: string
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => resolve(Buffer.concat(chunks).toString()))
    request.on('error', reject)
  })
}

/**
 * The app's web server on loopback port 0: the page, the pusher-js browser bundle from
 * node_modules, and `POST /pusher/auth`, which signs private channels with the app secret as an
 * app backend does (pusher-protocol §9). Closed when the calling test finishes.
 */
async function serveWebApp(app: AppCredentials) {
  const authRequests: AuthRequest[] = []
  const server = createServer((request, response) => {
    const { pathname } = new URL(request.url ?? '/', 'http://127.0.0.1')
    if (request.method === 'GET' && pathname === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      response.end(PAGE)
    } else if (request.method === 'GET' && pathname === '/favicon.ico') {
      response.writeHead(204).end()
    } else if (request.method === 'GET' && pathname === '/pusher.min.js') {
      readFile(PUSHER_BUNDLE).then(
        (bundle) => {
          response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' })
          response.end(bundle)
        },
        () => {
          response.writeHead(500).end()
        },
      )
    } else if (request.method === 'POST' && pathname === '/pusher/auth') {
      readBody(request).then(
        (body) => {
          const form = new URLSearchParams(body)
          const socketId = form.get('socket_id')
          const channelName = form.get('channel_name')
          if (!socketId || !channelName) {
            response.writeHead(400).end()
            return
          }
          authRequests.push({ socketId, channelName })
          const signature = hmacHex(app.secret, channelStringToSign(socketId, channelName))
          response.writeHead(200, { 'content-type': 'application/json' })
          response.end(JSON.stringify({ auth: `${app.key}:${signature}` }))
        },
        () => {
          response.writeHead(400).end()
        },
      )
    } else {
      response.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  const { port } = server.address() as AddressInfo
  return { origin: `http://127.0.0.1:${port}`, authRequests }
}

describe('headless Chromium: web page -> gateway', () => {
  it('a page using pusher-js subscribes to private-device-{id} and receives the device event', {
    timeout: 30_000,
  }, async (context) => {
    needTool(context, 'chromium', 'chromium')
    const target = await startTestGateway()
    const web = await serveWebApp(testApp)

    const browser = await launchChromium()
    const page = await browser.newPage()
    page.setDefaultTimeout(15_000)
    const pageLog: string[] = []
    page.on('console', (message) => pageLog.push(`console.${message.type()}: ${message.text()}`))
    page.on('pageerror', (error) => pageLog.push(`pageerror: ${error.message}`))

    const channel = 'private-device-thermo-9'
    const query = new URLSearchParams({
      key: testApp.key,
      wsPort: String(target.addresses.http.port),
      channel,
    })
    await page.goto(`${web.origin}/?${query}`)

    const settled = await page.waitForFunction(
      () => (globalThis as unknown as PageGlobals).fleetcast.state !== 'subscribing',
    )
    await settled.dispose()
    const state = await page.evaluate(() => (globalThis as unknown as PageGlobals).fleetcast.state)
    expect(state, pageLog.join('\n')).toBe('subscribed')
    const socketId = await page.evaluate(
      () => (globalThis as unknown as PageGlobals).pusher.connection.socket_id,
    )
    expect(socketId).toMatch(/^\d+\.\d+$/)
    expect(web.authRequests).toEqual([{ socketId, channelName: channel }])

    const payload = { celsius: 21.5, ok: true, tags: ['lab', 'north'], probe: { id: 3, unit: 'C' } }
    const device = await connectDevice(target, 'thermo-9')
    await device.publishAsync('devices/thermo-9/events/temperature', JSON.stringify(payload), {
      qos: 1,
    })

    const arrived = await page.waitForFunction(() =>
      (globalThis as unknown as PageGlobals).fleetcast.received.find(
        (received) => received.event === 'temperature',
      ),
    )
    expect(await arrived.jsonValue()).toEqual({ event: 'temperature', data: payload })
    expect(
      await page.evaluate(() => (globalThis as unknown as PageGlobals).fleetcast.received),
    ).toEqual([{ event: 'temperature', data: payload }])
    expect(pageLog.filter((line) => line.startsWith('pageerror'))).toEqual([])
  })
})
