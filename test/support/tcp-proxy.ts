import { connect, createServer, type Socket } from 'node:net'
import { onTestFinished } from 'vitest'

/** One client connection through the proxy. */
export interface ProxiedConnection {
  /** Date.now() when the proxy accepted the client's TCP connection. */
  readonly acceptedAt: number
  /**
   * From now on the client's bytes are dropped instead of reaching the server, while the
   * server's bytes still reach the client: a dead uplink, as a stalled NAT or a frozen client
   * looks to the server. Whole TCP chunks are dropped, so the server's WebSocket parser never
   * sees half a frame.
   */
  freezeUplink(): void
}

export interface TcpProxy {
  /** Where clients connect (bound on port 0 on loopback). */
  readonly port: number
  /** Client connections accepted so far, in order. */
  readonly connections: readonly ProxiedConnection[]
  /** Connections accepted from now on go to this port; open ones are left alone. */
  retarget(port: number): void
  /** Resolves with the `index`-th connection (0-based), already accepted or still to come. */
  connection(index: number): Promise<ProxiedConnection>
}

/**
 * A loopback TCP proxy in front of a gateway, so a test can point one pusher-js client at a
 * stable port while the server behind it changes (reconnect after 4200), or cut the client's
 * uplink (4201). Closed, with every socket it holds, when the calling test finishes.
 */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let target = targetPort
  const connections: ProxiedConnection[] = []
  const waiters = new Map<number, (connection: ProxiedConnection) => void>()
  const sockets = new Set<Socket>()
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  }
  const server = createServer((client) => {
    let frozen = false
    const upstream = connect(target, '127.0.0.1')
    track(client)
    track(upstream)
    client.on('data', (chunk: Buffer) => {
      if (!frozen) upstream.write(chunk)
    })
    client.on('end', () => upstream.end())
    upstream.pipe(client)
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      a.on('error', () => b.destroy())
      a.on('close', () => b.destroy())
    }
    const connection: ProxiedConnection = {
      acceptedAt: Date.now(),
      freezeUplink: () => {
        frozen = true
      },
    }
    connections.push(connection)
    waiters.get(connections.length - 1)?.(connection)
    waiters.delete(connections.length - 1)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  onTestFinished(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('proxy has no TCP port')
  return {
    port: address.port,
    connections,
    retarget: (port) => {
      target = port
    },
    connection: (index) => {
      const existing = connections[index]
      if (existing) return Promise.resolve(existing)
      return new Promise((resolve) => waiters.set(index, resolve))
    },
  }
}
