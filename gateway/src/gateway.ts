import type { Server } from 'node:http'
import { LocalAdapter } from './adapter/local-adapter.js'
import { compileDownlinkRules, createDownlink, DEFAULT_DOWNLINK } from './bridge/downlink.js'
import { seedCacheFromRetained } from './bridge/retained-cache.js'
import { createUplink } from './bridge/uplink.js'
import { compileUplinkRules, DEFAULT_UPLINK, UplinkRules } from './bridge/uplink-rules.js'
import { ChannelHub } from './channels/channel-hub.js'
import { ChannelInfoReader } from './channels/channel-info.js'
import { Channels } from './channels/channels.js'
import { UserSessions } from './channels/user-sessions.js'
import type { Config } from './config/schema.js'
import type { App } from './domain/app.js'
import { createSocketIdGenerator } from './domain/socket-id.js'
import { GatewayError } from './errors/gateway-error.js'
import { bootstrapApps } from './fleet/bootstrap-apps.js'
import {
  type ClaimRequest,
  claimAnswer,
  claimDevice,
  recordClaimAttempt,
} from './fleet/claim-device.js'
import { createAdminApi } from './http-api/admin/admin-api.js'
import { createDashboardAuth } from './http-api/dashboard-auth/dashboard-auth.js'
import { createHttpHandler } from './http-api/http-handler.js'
import { createProvisionRoute } from './http-api/provision-route.js'
import { createRestApi } from './http-api/rest-api.js'
import { createGatewayHttpServer, type UpgradeRoute } from './http-server.js'
import { type BoundAddress, closeServer, listenOn } from './listen.js'
import { createLogger, type Logger } from './log.js'
import { createGatewayMetrics } from './metrics/gateway-metrics.js'
import { createClaimProvisioning } from './mqtt/claim-provisioning.js'
import { watchCredentials } from './mqtt/credential-watcher.js'
import { createDeviceBroker, type DeviceBroker } from './mqtt/device-broker.js'
import { createDevicePresence } from './mqtt/device-presence.js'
import { LoginThrottle } from './mqtt/login-throttle.js'
import { createMqttListeners } from './mqtt/mqtt-listeners.js'
import { createSqlitePersistence } from './mqtt/sqlite-persistence.js'
import { originAllowed } from './pusher-ws/origin.js'
import { PusherEdge } from './pusher-ws/pusher-edge.js'
import { watchExternalChanges } from './store/external-changes.js'
import { openStore, type Store } from './store/open-store.js'
import { createWebhooks } from './webhooks/webhooks.js'

export interface GatewayAddresses {
  http: BoundAddress
  mqtt: BoundAddress
  /** Present when mqtt.tls is configured. */
  mqttTls?: BoundAddress
}

export interface Gateway {
  readonly config: Readonly<Config>
  readonly log: Logger
  readonly store: Store
  /** Channel operations shared by every edge (trigger, subscribe); the REST API builds on it. */
  readonly channels: Channels
  /** Set when this start created the first app; its credentials are to be shown once. */
  readonly createdApp: App | undefined
  /** Bound addresses; throws before listen() has resolved. */
  readonly addresses: GatewayAddresses
  listen(): Promise<GatewayAddresses>
  /** Graceful and idempotent: stop accepting, ask clients to reconnect, close broker and store. */
  close(): Promise<void>
  /**
   * Swaps in new bridge rules without dropping a connection. Invalid rules throw
   * FC_ERR_CONFIG_INVALID and the running rules stay.
   */
  reloadBridge(bridge: Config['bridge']): void
}

type MqttListeners = ReturnType<typeof createMqttListeners>

export interface GatewayDeps {
  log?: Logger
  /** Socket id source; tests pass a fixed one to check the spec's signature vectors. */
  nextSocketId?: () => string
}

/**
 * Composition root: the only place that picks concrete classes. Opening the store and applying
 * migrations happen here, synchronously, so a bad store.path fails before anything listens.
 */
export function createGateway(config: Readonly<Config>, deps: GatewayDeps = {}): Gateway {
  const log = deps.log ?? createLogger(config.log)
  const store = openStore(config.store.path)
  let createdApp: App | undefined
  try {
    createdApp = bootstrapApps(store, config.apps)
    // One node owns the store's device connections: whatever a crash left recorded is stale.
    store.devices.clearConnected()
  } catch (error) {
    store.close()
    throw error
  }
  let broker: DeviceBroker | undefined
  let mqtt: MqttListeners | undefined
  let credentials: { check(): void } | undefined
  let externalChanges: { stop(): void } | undefined
  let addresses: GatewayAddresses | undefined
  let closing: Promise<void> | undefined

  const webhooks = createWebhooks({
    store,
    log: log.child({ mod: 'webhooks' }),
    config: config.webhooks,
    findApp: (appId) => store.apps.findById(appId),
  })
  const metrics = createGatewayMetrics({
    connections: () => ({
      pusher: pusherEdge.connectionCount,
      mqtt: broker?.aedes.connectedClients ?? 0,
      rest: 0,
    }),
    subscriptions: () => hub.subscriptionTotal,
    webhookQueueDepth: () => store.webhookQueue.count(),
    webhookStats: () => {
      const { delivered, failed, dropped } = webhooks.stats()
      return { delivered, failed, dropped }
    },
  })
  const { meter } = metrics
  const hub = new ChannelHub((count) => meter.messagesOut('pusher', count))
  const adapter = new LocalAdapter(hub)
  const findApp = (appId: string) => store.apps.findById(appId)
  const channels = new Channels({
    hub,
    adapter,
    log: log.child({ mod: 'channels' }),
    presenceGraceMs: config.pusher.presenceGracePeriod * 1000,
    cacheTtlMs: config.pusher.cacheTtl * 1000,
    maxPresenceMembers: config.pusher.maxPresenceMembers,
    countsSubscriptions: (appId) => findApp(appId)?.subscriptionCount ?? false,
    onLifecycle: (event) => webhooks.onLifecycle(event),
    messageLimit: (appId) => findApp(appId)?.maxMessagesPerDay ?? null,
    onFromWeb: (envelope, origin) => downlink.handle(envelope, origin),
  })
  const downlink = createDownlink({
    rules: compileDownlinkRules(
      config.bridge.downlink.length > 0 ? config.bridge.downlink : DEFAULT_DOWNLINK,
    ).rules,
    deviceApp: (deviceId) => store.devices.find(deviceId)?.appId,
    // The gateway's own publish (client null) passes authorizePublish; the rule is the authority.
    publish: (topic, payload, qos) =>
      broker?.aedes.publish(
        { cmd: 'publish', topic, payload, qos, retain: false, dup: false },
        () => {},
      ),
    meter,
    log: log.child({ mod: 'bridge' }),
  })
  const pusherEdge = new PusherEdge({
    meter,
    channels,
    users: new UserSessions(hub, adapter),
    log: log.child({ mod: 'pusher-ws' }),
    limits: config.pusher,
    findAppByKey: (key) => store.apps.findByKey(key),
    nextSocketId: deps.nextSocketId ?? createSocketIdGenerator(),
  })
  const rest = createRestApi({
    context: {
      meter,
      channels,
      info: new ChannelInfoReader(adapter),
      terminateUser: (appId, userId) => pusherEdge.terminateUser(appId, userId),
      maxDataBytes: config.pusher.maxEventBytes,
    },
    findApp,
    rest: config.rest,
    log: log.child({ mod: 'rest' }),
  })
  const recordLoginFailure = (
    deviceId: string | undefined,
    address: string | undefined,
    reason: string,
    via: 'mqtt' | 'http',
  ) =>
    store.audit.record({
      actor: address ? `address:${address}` : 'unknown',
      action: 'device.login',
      target: deviceId ?? null,
      result: 'refused',
      detail: { reason, via },
    })
  // Failed logins and claims are counted once per device and address, whichever door (MQTT, the
  // dashboard auth endpoints, claim provisioning) they use.
  const loginThrottle = new LoginThrottle(config.mqtt.loginFailures)
  const dashboardAuth = createDashboardAuth({
    sources: {
      findApp,
      findDevice: (id) => store.devices.find(id),
      findCredentials: (id) => store.devices.findCredentials(id),
      checkToken: (bearer) => store.tokens.check(bearer),
    },
    listApps: () => store.apps.list(),
    originAllowed,
    throttle: loginThrottle,
    recordLoginFailure: (deviceId, address, reason) =>
      recordLoginFailure(deviceId, address, reason, 'http'),
    meter,
    log: log.child({ mod: 'dashboard-auth' }),
  })
  const claim = (request: ClaimRequest) => claimAnswer(claimDevice(store, request))
  const provision = createProvisionRoute({
    claim,
    throttle: loginThrottle,
    meter,
    log: log.child({ mod: 'provision' }),
  })
  const admin = createAdminApi({
    store,
    configuredAppIds: config.apps.map((app) => app.id),
    maxBodyBytes: config.rest.maxBodyBytes,
    // The changed device's session ends now, not at the next poll of the store.
    onDeviceChanged: () => credentials?.check(),
    uplinkRules: () => uplinkRules,
    meter,
    log: log.child({ mod: 'admin' }),
  })
  const readinessProblems = () => [
    ...(addresses && !closing ? [] : ['listeners are not bound']),
    ...(closing || store.isWritable() ? [] : ['the store is not writable']),
  ]
  // MQTT over WebSocket shares the HTTP port; its broker only exists once listen() has run.
  const mqttWebSocketRoute: UpgradeRoute = {
    matches: (pathname) => config.mqtt.websocket && pathname === '/mqtt',
    handleUpgrade(request, socket, head, url, pathname) {
      if (mqtt?.websocket) mqtt.websocket.handleUpgrade(request, socket, head, url, pathname)
      else socket.destroy()
    },
  }
  let uplinkRules = new UplinkRules(
    compileUplinkRules(config.bridge.uplink.length > 0 ? config.bridge.uplink : DEFAULT_UPLINK)
      .rules,
  )
  const uplink = createUplink({
    channels,
    meter,
    log: log.child({ mod: 'bridge' }),
    maxEventBytes: config.pusher.maxEventBytes,
    rules: uplinkRules,
  })
  const devicePresence = createDevicePresence({
    channels,
    onLifecycle: (event) => webhooks.onLifecycle(event),
    touchLastSeen: (deviceId, at) => store.devices.touchLastSeen(deviceId, at),
    setConnected: (deviceId, at) => store.devices.setConnected(deviceId, at),
    lastSeenIntervalMs: config.mqtt.lastSeenInterval * 1000,
    log: log.child({ mod: 'presence' }),
  })
  let httpServer: Server
  try {
    httpServer = createGatewayHttpServer({
      http: config.http,
      log,
      handleRequest: createHttpHandler({
        rest,
        admin,
        dashboardAuth,
        provision,
        readinessProblems,
        metrics,
      }),
      upgrades: [pusherEdge, mqttWebSocketRoute],
    })
  } catch (error) {
    store.close()
    throw error
  }

  // Sessions, retained messages and queued QoS 1/2 messages live in the store and survive restarts.
  const persistence = createSqlitePersistence(store.db, {
    log: log.child({ mod: 'mqtt-persistence' }),
  })

  async function listen(): Promise<GatewayAddresses> {
    if (addresses) return addresses
    const mqttLog = log.child({ mod: 'mqtt' })
    broker = await createDeviceBroker({
      log: mqttLog,
      meter,
      mqtt: config.mqtt,
      findCredentials: (id) => store.devices.findCredentials(id),
      recordLoginFailure: (deviceId, address, reason) =>
        recordLoginFailure(deviceId, address, reason, 'mqtt'),
      onDevicePublish: uplink.onDevicePublish,
      presence: devicePresence,
      claims: createClaimProvisioning({
        checkClaim: (secret) => store.claims.check(secret),
        findClaim: (secret) => store.claims.findBySecret(secret),
        deviceExists: (id) => store.devices.find(id) !== undefined,
        claim,
        recordRefusal: (attempt) => recordClaimAttempt(store, attempt),
        log: mqttLog,
      }),
      throttle: loginThrottle,
      persistence,
    })
    credentials = watchCredentials(store, broker.sessions, broker.aedes, mqttLog)
    externalChanges = watchExternalChanges(store, () => {
      store.apps.invalidate()
      credentials?.check()
    })
    await seedCacheFromRetained(
      persistence.createRetainedStreamCombi(['devices/#']),
      uplinkRules,
      channels,
      store,
      log.child({ mod: 'bridge' }),
    )
    try {
      mqtt = createMqttListeners(broker.aedes, config.mqtt)
      const mqttTcp = await listenOn(mqtt.tcp, config.mqtt.host, config.mqtt.port, 'mqtt.port')
      const mqttTls =
        mqtt.tls && config.mqtt.tls
          ? await listenOn(mqtt.tls, config.mqtt.host, config.mqtt.tls.port, 'mqtt.tls.port')
          : undefined
      const http = await listenOn(httpServer, config.http.host, config.http.port, 'http.port')
      addresses = { http, mqtt: mqttTcp, ...(mqttTls ? { mqttTls } : {}) }
    } catch (error) {
      await close()
      throw error
    }
    webhooks.start()
    log.info(addresses, 'fleetcast listening')
    return addresses
  }

  async function shutdown(): Promise<void> {
    // Stop accepting first; each server's promise settles once its last connection has gone.
    const httpClosed = closeServer(httpServer)
    const mqttClosed = Promise.all(
      [mqtt?.tcp, mqtt?.tls].map((server) => (server ? closeServer(server) : undefined)),
    )
    externalChanges?.stop()
    uplink.close()
    await pusherEdge.close()
    mqtt?.closeWebSockets()
    httpServer.closeAllConnections()
    const aedes = broker?.aedes
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()))
    await broker?.connectionsClosed()
    await persistence.destroy()
    await Promise.all([httpClosed, mqttClosed])
    await adapter.close()
    await webhooks.close()
    store.close()
    log.info('fleetcast stopped')
  }

  function close(): Promise<void> {
    closing ??= shutdown()
    return closing
  }

  return {
    config,
    log,
    store,
    channels,
    createdApp,
    get addresses() {
      if (!addresses) {
        throw new GatewayError(
          'FC_ERR_NOT_LISTENING',
          'The gateway is not listening yet; await listen() first',
        )
      }
      return addresses
    },
    listen,
    close,
    reloadBridge(bridge) {
      const up = compileUplinkRules(bridge.uplink.length > 0 ? bridge.uplink : DEFAULT_UPLINK)
      const down = compileDownlinkRules(
        bridge.downlink.length > 0 ? bridge.downlink : DEFAULT_DOWNLINK,
      )
      const problems = [...up.problems, ...down.problems]
      if (problems.length > 0) {
        const lines = problems.map((p) => `  - ${p.path.join('.')}: ${p.message}`).join('\n')
        throw new GatewayError(
          'FC_ERR_CONFIG_INVALID',
          `Bridge rules not reloaded; the running ones stay:\n${lines}`,
        )
      }
      uplinkRules = new UplinkRules(up.rules)
      uplink.setRules(uplinkRules)
      downlink.setRules(down.rules)
      log.info({ uplink: up.rules.length, downlink: down.rules.length }, 'bridge rules reloaded')
    },
  }
}
