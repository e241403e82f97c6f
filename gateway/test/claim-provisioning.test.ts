import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { describe, expect, it, onTestFinished } from 'vitest'
import { closed, connectAs, mqttUrl, provision, refusalCode } from '../../test/support/device.js'
import { captureLog } from '../../test/support/log-capture.js'
import { createPusherClient, nextEvent, subscribed } from '../../test/support/pusher.js'
import { testBackend } from '../../test/support/pusher-server.js'
import { needTool } from '../../test/support/system-tool.js'
import { startTestGateway, type TestGateway, testApp } from '../../test/support/test-gateway.js'
import type { NewClaim } from '../src/store/claim-repository.js'

const execFileAsync = promisify(execFile)

/** Failed claims are throttled per address; tests about answers keep the ban out of the way. */
const noBan = { mqtt: { loginFailures: { limit: 1000 } } }

function newClaim(target: TestGateway, extra: Partial<NewClaim> = {}) {
  return target.gateway.store.claims.create({ appId: testApp.id, uses: 1, ...extra })
}

interface Answer {
  status: number
  headers: Headers
  body: Record<string, unknown>
}

async function postClaim(target: TestGateway, body: unknown, method = 'POST'): Promise<Answer> {
  const response = await fetch(
    `http://127.0.0.1:${target.addresses.http.port}/provision/v1/claim`,
    {
      method,
      headers: { 'content-type': 'application/json' },
      ...(method === 'POST'
        ? { body: typeof body === 'string' ? body : JSON.stringify(body) }
        : {}),
    },
  )
  const json = (await response.json()) as Record<string, unknown>
  return { status: response.status, headers: response.headers, body: json }
}

/** Connects as firmware holding only a claim: username `$claim`, client id = the id it wants. */
async function connectWithClaim(
  target: TestGateway,
  deviceId: string,
  claimSecret: string,
  options: IClientOptions = {},
): Promise<MqttClient> {
  const client = await mqtt.connectAsync(mqttUrl(target), {
    clientId: deviceId,
    username: '$claim',
    password: claimSecret,
    reconnectPeriod: 0,
    ...options,
  })
  onTestFinished(() => client.endAsync(true))
  return client
}

function claimOptions(deviceId: string, password?: string, extra: IClientOptions = {}) {
  return {
    clientId: deviceId,
    username: '$claim',
    ...(password === undefined ? {} : { password }),
    ...extra,
  }
}

interface MqttAnswer {
  topic: string
  qos: number
  body: Record<string, unknown>
}

/** Subscribes to the response topic, publishes the request, resolves with the answer. */
async function requestCredentials(
  client: MqttClient,
  deviceId: string,
  payload = '',
): Promise<MqttAnswer> {
  const granted = await client.subscribeAsync(`$fleetcast/claim/${deviceId}/response`, { qos: 1 })
  expect(granted.map((g) => g.qos)).toEqual([1])
  const answer = new Promise<MqttAnswer>((resolve) => {
    client.once('message', (topic, message, packet) =>
      resolve({ topic, qos: packet.qos, body: JSON.parse(message.toString()) }),
    )
  })
  await client.publishAsync(`$fleetcast/claim/${deviceId}/request`, payload, { qos: 1 })
  return answer
}

/** The SUBACK return codes of a subscription, refused or not. */
async function grantedCodes(client: MqttClient, filters: string[]): Promise<number[] | undefined> {
  return client.subscribeAsync(filters, { qos: 1 }).then(
    (granted) => granted.map((g) => g.qos),
    (error: { packet?: { granted?: number[] } }) => error.packet?.granted,
  )
}

/** A browser on the device's private channel, signed as the app backend would. */
async function browserOn(target: TestGateway, deviceId: string) {
  const browser = createPusherClient(target.addresses.http.port, testApp)
  await subscribed(browser, `private-device-${deviceId}`)
  return browser
}

describe('claim provisioning over HTTP', () => {
  it('gives a device its credentials once, with the claim tags, and the device then logs in over MQTT', async () => {
    const captured = captureLog('debug')
    const target = await startTestGateway({}, { log: captured.log })
    const { claim, secret: claimSecret } = newClaim(target, { uses: 2, tags: { site: 'lab' } })

    const answer = await postClaim(target, {
      claim: claimSecret,
      deviceId: 'AA-BB-CC-01',
      name: 'Hall sensor',
    })
    expect(answer.status).toBe(201)
    expect(answer.headers.get('cache-control')).toBe('no-store')
    expect(answer.body).toEqual({
      id: 'AA-BB-CC-01',
      secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      appId: testApp.id,
      name: 'Hall sensor',
      tags: { site: 'lab' },
      mqtt: { username: 'AA-BB-CC-01', clientId: 'AA-BB-CC-01' },
      topics: {
        events: 'devices/AA-BB-CC-01/events/{event}',
        commands: 'devices/AA-BB-CC-01/commands/#',
        acks: 'devices/AA-BB-CC-01/acks/{commandId}',
      },
    })
    const secret = String(answer.body.secret)
    expect(target.gateway.store.claims.get(claim.id).usesLeft).toBe(1)

    const browser = await browserOn(target, 'AA-BB-CC-01')
    const arrived = nextEvent(browser, 'private-device-AA-BB-CC-01', 'hello')
    const device = await connectAs(target, 'AA-BB-CC-01', secret)
    await device.publishAsync('devices/AA-BB-CC-01/events/hello', '{"claimed":true}', { qos: 1 })
    expect(await arrived).toEqual({ claimed: true })

    const [entry] = target.gateway.store.audit.query({ action: 'device.claim' })
    expect(entry).toMatchObject({
      actor: `claim:${claim.id}`,
      appId: testApp.id,
      target: 'AA-BB-CC-01',
      result: 'ok',
      detail: { via: 'http', address: '127.0.0.1' },
    })
    const written = JSON.stringify([captured.lines(), target.gateway.store.audit.query()])
    expect(written).not.toContain(claimSecret)
    expect(written).not.toContain(secret)
  })

  it('generates a device id when the body names none', async () => {
    const target = await startTestGateway()
    const { secret: claimSecret } = newClaim(target)
    const answer = await postClaim(target, { claim: claimSecret })
    expect(answer.status).toBe(201)
    expect(answer.body.id).toMatch(/^dev-[0-9a-f]{12}$/)
    const id = String(answer.body.id)
    const device = await connectAs(target, id, String(answer.body.secret))
    expect(device.connected).toBe(true)
  })

  it('refuses bad claims and bad bodies with a status, a code and a message naming the field', async () => {
    const target = await startTestGateway(noBan)
    const store = target.gateway.store
    const good = newClaim(target)
    const revoked = newClaim(target)
    store.claims.revoke(revoked.claim.id)
    const expired = newClaim(target, { expiresAt: Date.now() - 1 })
    const usedUp = newClaim(target)
    expect((await postClaim(target, { claim: usedUp.secret, deviceId: 'first-1' })).status).toBe(
      201,
    )
    const sql = "x'; DROP TABLE devices; --"

    const cases: Array<[string, unknown, number, string, RegExp?]> = [
      ['unknown claim', { claim: 'fcc_nobody-has-this' }, 401, 'FC_ERR_CLAIM_UNKNOWN'],
      ['revoked claim', { claim: revoked.secret }, 410, 'FC_ERR_CLAIM_REVOKED'],
      ['expired claim', { claim: expired.secret }, 410, 'FC_ERR_CLAIM_EXPIRED'],
      ['used-up claim', { claim: usedUp.secret }, 410, 'FC_ERR_CLAIM_USED_UP'],
      ['existing device', { claim: good.secret, deviceId: 'first-1' }, 409, 'FC_ERR_DEVICE_EXISTS'],
      ['invalid id', { claim: good.secret, deviceId: 'has space' }, 400, 'FC_ERR_DEVICE_INVALID'],
      ['SQL in the id', { claim: good.secret, deviceId: sql }, 400, 'FC_ERR_DEVICE_INVALID'],
      ['SQL in the claim', { claim: "' OR '1'='1" }, 401, 'FC_ERR_CLAIM_UNKNOWN'],
      [
        'control character in the name',
        { claim: good.secret, deviceId: 'ok-1', name: 'a\u0000b' },
        400,
        'FC_ERR_DEVICE_INVALID',
        /name/,
      ],
      ['not JSON', '{"claim":', 400, 'FC_ERR_REQUEST_INVALID', /not JSON/],
      ['an array', [], 400, 'FC_ERR_REQUEST_INVALID', /body/],
      ['null', 'null', 400, 'FC_ERR_REQUEST_INVALID', /body/],
      ['claim missing', { deviceId: 'ok-1' }, 400, 'FC_ERR_REQUEST_INVALID', /claim/],
      ['claim a number', { claim: 42 }, 400, 'FC_ERR_REQUEST_INVALID', /claim/],
      [
        'deviceId a number',
        { claim: good.secret, deviceId: 7 },
        400,
        'FC_ERR_REQUEST_INVALID',
        /deviceId/,
      ],
      ['name an object', { claim: good.secret, name: {} }, 400, 'FC_ERR_REQUEST_INVALID', /name/],
      [
        'an unknown field',
        { claim: good.secret, deviceId: 'ok-1', appId: 'other' },
        400,
        'FC_ERR_REQUEST_INVALID',
        /appId/,
      ],
      [
        'a body over 4 KiB',
        { claim: good.secret, name: 'x'.repeat(5000) },
        413,
        'FC_ERR_REQUEST_TOO_LARGE',
      ],
    ]
    for (const [what, body, status, code, message] of cases) {
      const answer = await postClaim(target, body)
      expect({ what, status: answer.status, code: answer.body.code }).toEqual({
        what,
        status,
        code,
      })
      expect(answer.body.error).toEqual(expect.any(String))
      if (message) expect(answer.body.error).toMatch(message)
    }
    expect(store.claims.get(good.claim.id).usesLeft).toBe(1)
    expect(store.devices.list().map((d) => d.id)).toEqual(['first-1'])

    const literal = await postClaim(target, { claim: good.secret, deviceId: 'sql-1', name: sql })
    expect(literal.status).toBe(201)
    expect(store.devices.get('sql-1').name).toBe(sql)

    const get = await postClaim(target, undefined, 'GET')
    expect(get).toMatchObject({ status: 405, body: { code: 'FC_ERR_METHOD_NOT_ALLOWED' } })
    expect(get.headers.get('allow')).toBe('POST')
  })

  it('lets exactly one of two devices racing for the last use win', async () => {
    const target = await startTestGateway()
    const { claim, secret } = newClaim(target)
    const answers = await Promise.all(
      ['racer-1', 'racer-2'].map((deviceId) => postClaim(target, { claim: secret, deviceId })),
    )
    expect(answers.map((a) => a.status).sort()).toEqual([201, 410])
    expect(answers.find((a) => a.status === 410)?.body.code).toBe('FC_ERR_CLAIM_USED_UP')
    expect(target.gateway.store.claims.get(claim.id).usesLeft).toBe(0)
    const winner = answers.find((a) => a.status === 201)?.body.id
    expect(target.gateway.store.devices.list().map((d) => d.id)).toEqual([winner])
  })

  it('bans an address after repeated failed claims, and the ban holds on MQTT too', async () => {
    const target = await startTestGateway({
      mqtt: { loginFailures: { limit: 3, window: 60, ban: 60 } },
    })
    const { claim, secret } = newClaim(target)
    for (let i = 0; i < 3; i++) {
      expect((await postClaim(target, { claim: `fcc_guess-${i}` })).status).toBe(401)
    }
    const banned = await postClaim(target, { claim: secret, deviceId: 'late-1' })
    expect(banned).toMatchObject({ status: 429, body: { code: 'FC_ERR_LOGIN_THROTTLED' } })
    expect(Number(banned.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(await refusalCode(mqttUrl(target), claimOptions('late-1', secret))).toBe(5)
    expect(target.gateway.store.claims.get(claim.id).usesLeft).toBe(1)
    expect(target.gateway.store.audit.query({ result: 'FC_ERR_CLAIM_UNKNOWN' })).toHaveLength(3)
  })
})

describe('claim provisioning over MQTT', () => {
  it('answers on the response topic at QoS 1; the device then logs in with its own credentials', async () => {
    const captured = captureLog('debug')
    const target = await startTestGateway({}, { log: captured.log })
    const store = target.gateway.store
    const { claim, secret: claimSecret } = newClaim(target, { uses: 2, tags: { site: 'lab' } })
    // A dashboard on presence-devices: a claim connection is not a device and never joins it.
    const dashboard = createPusherClient(target.addresses.http.port, testApp, (params, callback) =>
      callback(
        null,
        testBackend.authorizeChannel(params.socketId, params.channelName, { user_id: 'ops' }),
      ),
    )
    const presence = await subscribed(dashboard, 'presence-devices')
    const added: unknown[] = []
    const firstAdded = new Promise<void>((resolve) =>
      presence.bind('pusher:member_added', (member: unknown) => {
        added.push(member)
        resolve()
      }),
    )

    const name = "Kitchen'); DROP TABLE devices; --"
    const claiming = await connectWithClaim(target, 'mcu-7', claimSecret)
    const answer = await requestCredentials(claiming, 'mcu-7', JSON.stringify({ name }))
    expect(answer).toMatchObject({
      topic: '$fleetcast/claim/mcu-7/response',
      qos: 1,
      body: {
        id: 'mcu-7',
        appId: testApp.id,
        name,
        tags: { site: 'lab' },
        mqtt: { username: 'mcu-7', clientId: 'mcu-7' },
      },
    })
    const secret = String(answer.body.secret)
    expect(store.claims.get(claim.id).usesLeft).toBe(1)
    expect(store.devices.get('mcu-7')).toMatchObject({ name, tags: { site: 'lab' } })
    await claiming.endAsync()

    const device = await connectAs(target, 'mcu-7', secret)
    await firstAdded
    expect(added).toEqual([{ id: 'mcu-7', info: { name, tags: { site: 'lab' } } }])
    const granted = await device.subscribeAsync('devices/mcu-7/commands/#', { qos: 1 })
    expect(granted.map((g) => g.qos)).toEqual([1])

    expect(store.audit.query({ action: 'device.claim' })[0]).toMatchObject({
      actor: `claim:${claim.id}`,
      target: 'mcu-7',
      result: 'ok',
      detail: { via: 'mqtt', address: '127.0.0.1' },
    })
    const written = JSON.stringify([captured.lines(), store.audit.query()])
    expect(written).not.toContain(claimSecret)
    expect(written).not.toContain(secret)
  })

  it('refuses claim logins with the CONNACK code for each case, and audits them', async () => {
    const target = await startTestGateway(noBan)
    const store = target.gateway.store
    const url = mqttUrl(target)
    const good = newClaim(target)
    const revoked = newClaim(target)
    store.claims.revoke(revoked.claim.id)
    const expired = newClaim(target, { expiresAt: Date.now() - 1 })
    const usedUp = newClaim(target)
    expect((await postClaim(target, { claim: usedUp.secret, deviceId: 'first-1' })).status).toBe(
      201,
    )
    // A provisioned device is online: a claim connection with its id must not take it over.
    const live = await connectAs(target, 'taken-1', await provision(target, 'taken-1'))

    expect(await refusalCode(url, claimOptions('new-1', 'fcc_nobody-has-this'))).toBe(4)
    expect(await refusalCode(url, claimOptions('new-1'))).toBe(4)
    expect(await refusalCode(url, claimOptions('new-1', "' OR 1=1 --"))).toBe(4)
    expect(await refusalCode(url, claimOptions('new-1', revoked.secret))).toBe(5)
    expect(await refusalCode(url, claimOptions('new-1', expired.secret))).toBe(5)
    expect(await refusalCode(url, claimOptions('new-1', usedUp.secret))).toBe(5)
    expect(await refusalCode(url, claimOptions('bad id', good.secret))).toBe(2)
    expect(await refusalCode(url, claimOptions("x';DROP TABLE devices;--", good.secret))).toBe(2)
    expect(await refusalCode(url, claimOptions('taken-1', good.secret))).toBe(2)
    expect(await refusalCode(url, claimOptions('new-1', good.secret, { clean: false }))).toBe(2)

    expect(live.connected).toBe(true)
    expect((await live.subscribeAsync('devices/taken-1/commands/#')).map((g) => g.qos)).toEqual([0])
    expect(store.claims.get(good.claim.id).usesLeft).toBe(1)
    expect(store.devices.list().map((d) => d.id)).toEqual(['first-1', 'taken-1'])
    const results = store.audit
      .query({ action: 'device.claim' })
      .map((e) => [e.actor, e.result])
      .reverse()
    expect(results).toEqual([
      [`claim:${usedUp.claim.id}`, 'ok'],
      ['address:127.0.0.1', 'FC_ERR_CLAIM_UNKNOWN'],
      ['address:127.0.0.1', 'FC_ERR_CLAIM_UNKNOWN'],
      ['address:127.0.0.1', 'FC_ERR_CLAIM_UNKNOWN'],
      [`claim:${revoked.claim.id}`, 'FC_ERR_CLAIM_REVOKED'],
      [`claim:${expired.claim.id}`, 'FC_ERR_CLAIM_EXPIRED'],
      [`claim:${usedUp.claim.id}`, 'FC_ERR_CLAIM_USED_UP'],
      [`claim:${good.claim.id}`, 'FC_ERR_DEVICE_INVALID'],
      [`claim:${good.claim.id}`, 'FC_ERR_DEVICE_INVALID'],
      [`claim:${good.claim.id}`, 'FC_ERR_DEVICE_EXISTS'],
      [`claim:${good.claim.id}`, 'FC_ERR_REQUEST_INVALID'],
    ])
  })

  it('answers a bad request, or a claim revoked since CONNECT, with an error object and spends no use', async () => {
    const target = await startTestGateway()
    const store = target.gateway.store
    const { claim, secret } = newClaim(target)
    const client = await connectWithClaim(target, 'mcu-8', secret)

    const notJson = await requestCredentials(client, 'mcu-8', '{"name":')
    expect(notJson.body).toEqual({
      error: expect.stringMatching(/not JSON/),
      code: 'FC_ERR_REQUEST_INVALID',
    })
    const unknownField = await requestCredentials(client, 'mcu-8', '{"deviceId":"other"}')
    expect(unknownField.body).toMatchObject({ code: 'FC_ERR_REQUEST_INVALID' })
    expect(unknownField.body.error).toMatch(/deviceId/)
    const wrongType = await requestCredentials(client, 'mcu-8', '{"name":42}')
    expect(wrongType.body.error).toMatch(/name/)

    store.claims.revoke(claim.id)
    const revoked = await requestCredentials(client, 'mcu-8', '')
    expect(revoked.body).toEqual({ error: expect.any(String), code: 'FC_ERR_CLAIM_REVOKED' })
    expect(store.devices.find('mcu-8')).toBeUndefined()
    expect(store.claims.get(claim.id).usesLeft).toBe(1)
  })

  it('confines a claim connection to its own request and response topics', async () => {
    const target = await startTestGateway()
    const store = target.gateway.store
    const { claim, secret } = newClaim(target)
    const client = await connectWithClaim(target, 'mcu-9', secret)
    expect(
      await grantedCodes(client, [
        '#',
        '$fleetcast/#',
        '$fleetcast/claim/+/response',
        '$fleetcast/claim/other/response',
        '$fleetcast/claim/mcu-9/request',
        'devices/mcu-9/commands/#',
        '$SYS/#',
      ]),
    ).toEqual([128, 128, 128, 128, 128, 128, 128])
    expect(await grantedCodes(client, ['$fleetcast/claim/mcu-9/response'])).toEqual([1])

    // A publish outside the request topic (or a retained request) closes the connection.
    const attempts: Array<[string, { retain?: boolean }]> = [
      ['devices/mcu-9/events/x', {}],
      ['$fleetcast/claim/other/request', {}],
      ['$fleetcast/claim/mcu-9/response', {}],
      ['$fleetcast/claim/mcu-9/request', { retain: true }],
    ]
    for (const [topic, options] of attempts) {
      const attempt = await connectWithClaim(target, 'mcu-9', secret)
      const gone = closed(attempt)
      attempt.publish(topic, '{}', { qos: 0, ...options })
      await gone
    }
    expect(store.devices.find('mcu-9')).toBeUndefined()
    expect(store.claims.get(claim.id).usesLeft).toBe(1)
  })

  it('ignores a Will on the request topic: a dropped claim connection spends no use', async () => {
    const target = await startTestGateway()
    const { claim, secret } = newClaim(target)
    const dropped = await connectWithClaim(target, 'mcu-w', secret, {
      will: {
        topic: '$fleetcast/claim/mcu-w/request',
        payload: Buffer.from('{}'),
        qos: 1,
        retain: false,
      },
    })
    const gone = closed(dropped)
    // No DISCONNECT: the broker publishes the Will, which must not claim credentials nobody gets.
    dropped.stream.destroy()
    await gone
    const retry = await connectWithClaim(target, 'mcu-w', secret)
    const answer = await requestCredentials(retry, 'mcu-w')
    expect(answer.body).toMatchObject({ id: 'mcu-w', secret: expect.any(String) })
    expect(target.gateway.store.claims.get(claim.id).usesLeft).toBe(0)
  })

  it('never shows the request or the credentials to other clients, not even to `#`', async () => {
    const target = await startTestGateway({ mqtt: { allowAnonymous: true } })
    const watcher = await mqtt.connectAsync(mqttUrl(target), { reconnectPeriod: 0 })
    onTestFinished(() => watcher.endAsync(true))
    expect(await grantedCodes(watcher, ['#'])).toEqual([1])
    expect(await grantedCodes(watcher, ['$fleetcast/#'])).toEqual([128])
    const seen: string[] = []
    watcher.on('message', (topic) => seen.push(topic))

    const { secret } = newClaim(target)
    const client = await connectWithClaim(target, 'mcu-10', secret)
    const answer = await requestCredentials(client, 'mcu-10', '{"name":"Quiet"}')
    expect(answer.body.id).toBe('mcu-10')
    // Delivery is in order: once the marker arrives, anything the claim leaked would have too.
    const marker = new Promise<void>((resolve) =>
      watcher.on('message', (t) => t === 'marker' && resolve()),
    )
    await watcher.publishAsync('marker', 'x', { qos: 1 })
    await marker
    expect(seen).toEqual(['marker'])
  })

  it('lets exactly one of two claim connections racing for the last use get credentials', async () => {
    const target = await startTestGateway()
    const { claim, secret } = newClaim(target)
    const clients = await Promise.all(
      ['race-a', 'race-b'].map((id) => connectWithClaim(target, id, secret)),
    )
    const answers = await Promise.all(
      clients.map((client, i) => requestCredentials(client, ['race-a', 'race-b'][i] ?? '')),
    )
    const codes = answers.map((a) => (a.body.secret ? 'credentials' : a.body.code)).sort()
    expect(codes).toEqual(['FC_ERR_CLAIM_USED_UP', 'credentials'])
    expect(target.gateway.store.claims.get(claim.id).usesLeft).toBe(0)
    expect(target.gateway.store.devices.list()).toHaveLength(1)
  })

  it('counts failed claim logins into the address ban, which then holds for HTTP too', async () => {
    const target = await startTestGateway({
      mqtt: { loginFailures: { limit: 2, window: 60, ban: 60 } },
    })
    const url = mqttUrl(target)
    const { secret } = newClaim(target)
    expect(await refusalCode(url, claimOptions('mcu-11', 'fcc_guess-1'))).toBe(4)
    expect(await refusalCode(url, claimOptions('mcu-11', 'fcc_guess-2'))).toBe(4)
    expect(await refusalCode(url, claimOptions('mcu-11', secret))).toBe(5)
    const http = await postClaim(target, { claim: secret, deviceId: 'mcu-11' })
    expect(http).toMatchObject({ status: 429, body: { code: 'FC_ERR_LOGIN_THROTTLED' } })
  })
})

describe('claim provisioning with the mosquitto clients', () => {
  it('claims with mosquitto_rr, then publishes with mosquitto_pub as the new device', async (context) => {
    needTool(context, 'mosquitto_rr', 'mosquitto-clients')
    needTool(context, 'mosquitto_pub', 'mosquitto-clients')
    const target = await startTestGateway()
    const { secret: claimSecret } = newClaim(target, { tags: { site: 'roof' } })
    const broker = ['-V', '311', '-h', '127.0.0.1', '-p', String(target.addresses.mqtt.port)]
    const { stdout } = await execFileAsync('mosquitto_rr', [
      ...broker,
      ...['-i', 'pi-9', '-u', '$claim', '-P', claimSecret, '-q', '1', '-W', '10'],
      ...['-t', '$fleetcast/claim/pi-9/request', '-e', '$fleetcast/claim/pi-9/response'],
      ...['-m', '{"name":"Roof Pi"}'],
    ])
    const answer = JSON.parse(stdout) as { id: string; secret: string; tags: unknown }
    expect(answer).toMatchObject({ id: 'pi-9', tags: { site: 'roof' } })

    const browser = await browserOn(target, 'pi-9')
    const arrived = nextEvent(browser, 'private-device-pi-9', 'boot')
    await execFileAsync('mosquitto_pub', [
      ...broker,
      ...['-i', 'pi-9', '-u', 'pi-9', '-P', answer.secret, '-q', '1'],
      ...['-t', 'devices/pi-9/events/boot', '-m', '{"uptime":1}'],
    ])
    expect(await arrived).toEqual({ uptime: 1 })
  })

  it('refuses mosquitto_sub with an unknown or a revoked claim', async (context) => {
    needTool(context, 'mosquitto_sub', 'mosquitto-clients')
    const target = await startTestGateway(noBan)
    const revoked = newClaim(target)
    target.gateway.store.claims.revoke(revoked.claim.id)
    const run = (password: string) =>
      execFileAsync('mosquitto_sub', [
        ...['-V', '311', '-h', '127.0.0.1', '-p', String(target.addresses.mqtt.port)],
        ...['-i', 'pi-10', '-u', '$claim', '-P', password],
        ...['-t', '$fleetcast/claim/pi-10/response', '-C', '1'],
      ]).then(
        () => 'accepted',
        (error: { stderr: string }) => error.stderr,
      )
    expect(await run('fcc_nobody-has-this')).toMatch(/bad user name or password/i)
    expect(await run(revoked.secret)).toMatch(/not authori[sz]ed/i)
  })
})
