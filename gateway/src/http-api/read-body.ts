import type { IncomingMessage } from 'node:http'
import { HttpError } from './http-error.js'

/** Reads the whole body, refusing with 413 as soon as it passes `maxBytes`. */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length'])
  if (declared > maxBytes) {
    return Promise.reject(new HttpError(413, `Request body is larger than ${maxBytes} bytes`))
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBytes) {
        request.off('data', onData)
        // Keep reading into the void so the 413 can still be written back.
        request.resume()
        reject(new HttpError(413, `Request body is larger than ${maxBytes} bytes`))
        return
      }
      chunks.push(chunk)
    }
    request.on('data', onData)
    request.on('end', () => resolve(Buffer.concat(chunks)))
    request.on('error', reject)
  })
}
