/**
 * The PSA client loads undici's Agent, connector and request from their own files
 * (electron/core/undici-lean.ts) so a cold `vkey` skips fetch, WebSocket and the caches.
 * These are undici's files without an "exports" map: an upgrade that moves or changes them
 * must fail here, not in a technician's `vkey token`.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { once } from 'node:events'
import { test } from 'node:test'
import * as undici from 'undici'
import { Agent, buildConnector, request } from '../../electron/core/undici-lean'

test("the Agent and connector the PSA client uses are the very ones undici's index exports", () => {
  assert.equal(Agent, undici.Agent)
  assert.equal(buildConnector, undici.buildConnector)
})

test('request() sends method, path with its query, headers and body through the given dispatcher, as undici.request does', async (t) => {
  const seen: { method?: string; url?: string; header?: string; body: string }[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString()))
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, header: req.headers['x-probe'] as string, body })
      res.writeHead(201, { 'content-type': 'text/plain' }).end('answered')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const agent = new Agent()
  t.after(async () => {
    await agent.close()
    server.close()
  })
  const port = (server.address() as { port: number }).port
  const url = `http://127.0.0.1:${port}/connectedcar/v3/token?client_id=abc`
  const options = { method: 'POST' as const, headers: { 'x-probe': 'yes' }, body: '{"a":1}' }
  const ours = await request(url, { ...options, dispatcher: agent })
  const theirs = await undici.request(url, { ...options, dispatcher: agent })
  assert.equal(ours.statusCode, 201)
  assert.equal(await ours.body.text(), 'answered')
  assert.equal(theirs.statusCode, 201)
  await theirs.body.dump()
  assert.deepEqual(seen[0], { method: 'POST', url: '/connectedcar/v3/token?client_id=abc', header: 'yes', body: '{"a":1}' })
  assert.deepEqual(seen[0], seen[1], 'the same request as undici.request sends')
})
