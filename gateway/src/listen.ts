import type { AddressInfo, Server } from 'node:net'
import { envNameFor } from './config/env.js'
import { GatewayError } from './errors/gateway-error.js'

export interface BoundAddress {
  host: string
  port: number
}

/**
 * Binds a server and resolves to the address it got (port 0 picks a free port). A taken port
 * fails with a message naming the port and the setting to change.
 */
export function listenOn(
  server: Server,
  host: string,
  port: number,
  setting: string,
): Promise<BoundAddress> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening)
      const envName = envNameFor(setting.split('.'))
      if (error.code === 'EADDRINUSE') {
        reject(
          new GatewayError(
            'FC_ERR_PORT_IN_USE',
            `Port ${port} on ${host} is already in use; set ${setting} (or ${envName}) to a free port`,
            { cause: error },
          ),
        )
      } else {
        reject(
          new GatewayError(
            'FC_ERR_LISTEN',
            `Cannot listen on ${host}:${port} (${setting}): ${error.code ?? error.message}`,
            {
              cause: error,
            },
          ),
        )
      }
    }
    const onListening = () => {
      server.off('error', onError)
      const address = server.address() as AddressInfo
      resolve({ host: address.address, port: address.port })
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen(port, host)
  })
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve()
    server.close(() => resolve())
  })
}
