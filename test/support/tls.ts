import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import type { TestContext } from 'vitest'
import { needTool } from './system-tool.js'
import { tempDir } from './test-gateway.js'

/** A throwaway self-signed certificate for 127.0.0.1, made with the openssl command. */
export function selfSignedCertificate(context: TestContext): { cert: string; key: string } {
  needTool(context, 'openssl', 'openssl')
  const dir = tempDir()
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  execFileSync(
    'openssl',
    [
      ...[
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
    ],
    { stdio: 'ignore' },
  )
  return { cert, key }
}
