import { createServer } from 'node:http'

/**
 * Baseline: a bare node:http server with the gateway's defaults that reads each request body,
 * JSON-parses it and answers `{}` (what the gateway answers a trigger). No signature check, no
 * routing, no fan-out.
 */
const ANSWER = '{}'
const server = createServer((request, response) => {
  const chunks = []
  request.on('data', (chunk) => chunks.push(chunk))
  request.on('end', () => {
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8'))
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 })
      response.end(ANSWER)
    } catch {
      response.writeHead(400, { 'content-type': 'application/json', 'content-length': 2 })
      response.end(ANSWER)
    }
  })
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
process.on('message', (message) => {
  if (message.cmd === 'exit') process.exit(0)
})
process.send({ type: 'ready', host: '127.0.0.1', port: server.address().port })
