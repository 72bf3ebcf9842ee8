/**
 * The PSA token client against the real simulator over real mutual TLS on localhost:
 * the exact wire format, every documented status, retries (and when it must not retry),
 * TLS failures on both sides, size caps and cancellation.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer as createHttpsServer } from 'node:https'
import { VkError, type ErrorCode } from '../../shared/errors'
import { PsaClient, type PartnerCredentials, type PsaClientOptions, type RetryInfo } from '../../electron/core/psa-client'
import { basicAuthorization, buildTokenRequest } from '../../electron/core/psa-request'
import { loadSimulatorMaterial, startSimulator, verifyTokenSignature, type RawRequestCapture, type Simulator } from '../../electron/core/simulator'
import { demoCredentials, expiredPartner, otherCa, serverCertificate, simulatorDir, testSimulator, wrongCaPartner } from '../helpers/pki-fixtures'
import { reservedPort } from '../helpers/ports'
import type { TestContext } from 'node:test'

const input = { carData: 'Q2FyRGF0YQ==', carDataSignature: 'U2lnbmF0dXJl', durationSeconds: 3600 }

/** A sleep that returns at once and remembers what it was asked to wait. */
function fakeSleep(): { sleep: NonNullable<PsaClientOptions['sleep']>; waits: number[] } {
  const waits: number[] = []
  return {
    waits,
    sleep: async (ms) => {
      waits.push(ms)
    },
  }
}

function client(t: TestContext, creds: PartnerCredentials, options: PsaClientOptions = {}): PsaClient {
  const c = new PsaClient(creds, { retryBaseDelayMs: 10, ...options })
  t.after(() => c.close())
  return c
}

async function rejection(promise: Promise<unknown>): Promise<VkError> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof VkError, `a VkError, got ${String(error)}`)
    return error
  }
  assert.fail('expected the token request to fail')
}

/** No message may carry a secret. */
function assertNoSecrets(error: VkError, creds: PartnerCredentials): void {
  const text = `${error.message} ${JSON.stringify(error.details)}`
  assert.ok(!text.includes(creds.password), 'no password in the error')
  assert.ok(!text.includes(creds.keyPem.split('\n')[1] ?? 'KEY'), 'no key in the error')
  assert.ok(!text.includes(basicAuthorization(creds.login, creds.password)), 'no authorization header in the error')
}

/** Runs `fn` with NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment, then restores it. */
async function withInsecureEnv<T>(fn: () => Promise<T>): Promise<T> {
  const before = process.env.NODE_TLS_REJECT_UNAUTHORIZED
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'
  try {
    return await fn()
  } finally {
    if (before === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = before
  }
}

test('the request is exactly the documented one: path, encoded client id, headers, Basic auth with ":" and UTF-8, body with duration as a string', async (t) => {
  const clientId = 'fleet app & co/1'
  const password = 'pä:ss'
  const sim = await testSimulator(t, { password, extraClientIds: [clientId] })
  const captured: RawRequestCapture[] = []
  sim.tap = (r) => captured.push(r)
  const creds = demoCredentials(sim, { clientId, password })
  const result = await client(t, creds).requestToken(input)

  assert.equal(captured.length, 1)
  const wire = captured[0]!
  assert.equal(wire.method, 'POST')
  assert.equal(wire.url, '/connectedcar/v3/fleets/virtualkey/smartaccess/token?client_id=fleet%20app%20%26%20co%2F1')
  const headers = new Map<string, string[]>()
  for (let i = 0; i < wire.rawHeaders.length; i += 2) {
    const name = wire.rawHeaders[i]!.toLowerCase()
    headers.set(name, [...(headers.get(name) ?? []), wire.rawHeaders[i + 1]!])
  }
  assert.deepEqual(headers.get('accept'), ['application/json'])
  assert.deepEqual(headers.get('content-type'), ['application/json'])
  const authorization = headers.get('authorization')?.[0] ?? ''
  assert.match(authorization, /^Basic [A-Za-z0-9+/=]+$/)
  const decoded = Buffer.from(authorization.slice('Basic '.length), 'base64').toString('utf8')
  assert.equal(decoded, `${creds.login}:pä:ss`, 'login:password in UTF-8, password kept whole')
  assert.equal(wire.body.toString('utf8'), '{"carToken":{"CarData":"Q2FyRGF0YQ==","CarData_signature":"U2lnbmF0dXJl"},"duration":"3600"}')
  assert.equal(headers.get('content-length')?.[0], String(wire.body.length))

  assert.equal(result.tokenType.toLowerCase(), 'bearer')
  assert.equal(result.expiresIn, 3600)
  assert.equal(result.attempts, 1)
  assert.ok(Math.abs(Date.parse(result.expires) - (Date.now() + 3600_000)) < 5_000)
  assert.equal(verifyTokenSignature(sim.material, result, result.tokenSignature), true)
  assert.equal(result.rateLimit.dayLimit, 10_000)
  assert.equal(typeof result.rateLimit.burstRemaining, 'number')
  assert.equal(sim.requests.length, 1, 'the server saw the POST exactly once')
})

test('buildTokenRequest is the same request the client sends', () => {
  const req = buildTokenRequest(
    { baseUrl: 'https://api.example/connectedcar/v3/', clientId: 'a b', login: 'MZP123456', password: 'x:y' },
    { ...input, durationSeconds: 60 },
  )
  assert.equal(req.url, 'https://api.example/connectedcar/v3/fleets/virtualkey/smartaccess/token?client_id=a%20b')
  assert.equal(req.headers.authorization, `Basic ${Buffer.from('MZP123456:x:y').toString('base64')}`)
  assert.equal(JSON.parse(req.body).duration, '60')
})

test('a duration that is not a positive whole number of seconds is refused before anything is sent', async (t) => {
  const sim = await testSimulator(t)
  const c = client(t, demoCredentials(sim))
  for (const durationSeconds of [0, -60, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    const error = await rejection(c.requestToken({ ...input, durationSeconds }))
    assert.equal(error.code, 'input.duration', String(durationSeconds))
  }
  const empty = await rejection(c.requestToken({ ...input, carData: '' }))
  assert.equal(empty.code, 'input.field')
  assert.equal(sim.requests.length, 0)
})

test('keep-alive: two tokens in a row use one mutual-TLS connection', async (t) => {
  const sim = await testSimulator(t)
  const c = client(t, demoCredentials(sim))
  const first = await c.requestToken(input)
  await new Promise((resolve) => setImmediate(resolve)) // undici frees the connection on the next turn
  const second = await c.requestToken(input)
  assert.notEqual(first.accessToken, second.accessToken)
  assert.equal(sim.stats.requests, 2)
  assert.equal(sim.stats.connections, 1)
})

test('every documented error status maps to its own code and message, carrying PSA code, uuid and timestamp', async (t) => {
  const sim = await testSimulator(t)
  const creds = demoCredentials(sim)
  const c = client(t, creds, { maxTries: 1 })
  const expected: Array<[number, ErrorCode, RegExp]> = [
    [400, 'psa.bad-request', /CarData/],
    [401, 'psa.unauthorized', /login, the password and the client id/],
    [403, 'psa.forbidden', /client id/],
    [404, 'psa.not-found', /base URL/],
    [408, 'psa.timeout', /network/],
    [429, 'psa.rate-limited', /Try again in 1 s/],
    [500, 'server.error', /internal error/],
    [502, 'server.bad-gateway', /gateway/],
    [503, 'server.unavailable', /unavailable/],
    [504, 'server.gateway-timeout', /may or may not have been issued/],
  ]
  const messages = new Set<string>()
  for (const [status, code, hint] of expected) {
    sim.faults.statuses = [status]
    const error = await rejection(c.requestToken(input))
    await t.test(`${status} → ${code}`, () => {
      assert.equal(error.code, code)
      assert.match(error.message, hint)
      assert.equal(error.details.psa?.status, status)
      assert.equal(error.details.psa?.code, status * 100 + 99)
      assert.match(error.details.psa?.uuid ?? '', /^[0-9a-f-]{36}$/)
      assert.ok(!Number.isNaN(Date.parse(error.details.psa?.timestamp ?? '')))
      assert.ok(error.message.includes(error.details.psa?.uuid ?? '?'), 'the reference is in the message to copy')
      assert.equal(error.details.rateLimit?.dayLimit, 10_000)
      assertNoSecrets(error, creds)
    })
    messages.add(error.message.replace(/ PSA reference:.*$/, ''))
  }
  assert.equal(messages.size, expected.length, 'each status has its own message')
  assert.equal(sim.requests.length, expected.length)
})

test('the real checks come back with their code: a wrong password is psa.unauthorized, an unknown client id psa.forbidden', async (t) => {
  const sim = await testSimulator(t)
  const wrongPassword = await rejection(client(t, demoCredentials(sim, { password: 'not:it' })).requestToken(input))
  assert.equal(wrongPassword.code, 'psa.unauthorized')
  assert.equal(wrongPassword.details.psa?.code, 40103)
  assert.ok(!wrongPassword.message.includes('not:it'))
  const unknownClient = await rejection(client(t, demoCredentials(sim, { clientId: 'someone-else' })).requestToken(input))
  assert.equal(unknownClient.code, 'psa.forbidden')
  const wrongBase = await rejection(client(t, demoCredentials(sim, { baseUrl: sim.baseUrl.replace('/v3', '/v2') })).requestToken(input))
  assert.equal(wrongBase.code, 'psa.not-found')
})

test('a malformed 200 is server.malformed and no token comes back', async (t) => {
  const sim = await testSimulator(t)
  sim.faults.malformed = true
  const error = await rejection(client(t, demoCredentials(sim)).requestToken(input))
  assert.equal(error.code, 'server.malformed')
  assert.match(error.message, /no token was kept/)
  assert.equal(sim.requests.length, 1, 'not retried')
})

test('a multi-MB answer is cut off at the cap: server.too-large', async (t) => {
  const sim = await testSimulator(t)
  sim.faults.oversized = true
  const started = Date.now()
  const error = await rejection(client(t, demoCredentials(sim)).requestToken(input))
  assert.equal(error.code, 'server.too-large')
  assert.match(error.message, /64 KiB/)
  assert.equal(sim.requests.length, 1)
  assert.ok(Date.now() - started < 5_000)
})

test('503, 503, 200 succeeds on the third try with backoff between tries', async (t) => {
  const sim = await testSimulator(t)
  sim.faults.statuses = [503, 503, 200]
  const { sleep, waits } = fakeSleep()
  const retries: RetryInfo[] = []
  const result = await client(t, demoCredentials(sim), { sleep, retryBaseDelayMs: 100, random: () => 1 }).requestToken(input, {
    onRetry: (info) => retries.push(info),
  })
  assert.equal(result.attempts, 3)
  assert.equal(sim.requests.length, 3)
  assert.deepEqual(waits, [100, 200], 'exponential backoff')
  assert.deepEqual(
    retries.map((r) => [r.attempt, r.nextAttempt, r.code, r.status]),
    [
      [1, 2, 'server.unavailable', 503],
      [2, 3, 'server.unavailable', 503],
    ],
  )
})

test('503 three times fails after exactly 3 tries', async (t) => {
  const sim = await testSimulator(t)
  sim.faults.statuses = [503, 503, 503, 200]
  const { sleep, waits } = fakeSleep()
  const error = await rejection(client(t, demoCredentials(sim), { sleep }).requestToken(input))
  assert.equal(error.code, 'server.unavailable')
  assert.match(error.message, /Tried 3 times/)
  assert.equal(sim.requests.length, 3)
  assert.equal(waits.length, 2)
})

test('500 is not retried: the server sees the POST exactly once', async (t) => {
  const sim = await testSimulator(t)
  sim.faults.statuses = [500, 200]
  const { sleep, waits } = fakeSleep()
  const error = await rejection(client(t, demoCredentials(sim), { sleep }).requestToken(input))
  assert.equal(error.code, 'server.error')
  assert.equal(sim.requests.length, 1)
  assert.equal(waits.length, 0)
})

test('a connection reset after the request was sent is not retried and is not blamed on the certificate', async (t) => {
  const sim = await testSimulator(t)
  sim.faults.statuses = ['reset', 200]
  const { sleep } = fakeSleep()
  const error = await rejection(client(t, demoCredentials(sim), { sleep }).requestToken(input))
  assert.equal(error.code, 'network.lost')
  assert.match(error.message, /after the request was sent/)
  assert.equal(sim.requests.length, 1)
  assert.equal(sim.requests[0]?.outcome, 'reset')
})

test('no answer in time after sending is network.timeout, sent once', async (t) => {
  const sim = await testSimulator(t)
  sim.faults.slowHeadersMs = 2_000
  const error = await rejection(client(t, demoCredentials(sim), { headersTimeoutMs: 200, sleep: fakeSleep().sleep }).requestToken(input))
  assert.equal(error.code, 'network.timeout')
  assert.equal(sim.requests.length, 1)
})

test('429 with Retry-After 1 is retried after at least 1 s, then succeeds', async (t) => {
  const sim = await testSimulator(t)
  sim.faults.statuses = [429, 200]
  sim.faults.retryAfterSeconds = 1
  const { sleep, waits } = fakeSleep()
  const result = await client(t, demoCredentials(sim), { sleep, retryBaseDelayMs: 10 }).requestToken(input)
  assert.equal(result.attempts, 2)
  assert.equal(waits.length, 1)
  assert.ok(waits[0]! >= 1000, `waited ${waits[0]} ms`)
  assert.equal(sim.requests.length, 2)
})

test('429 with a Retry-After beyond the cap fails at once, saying when to try again', async (t) => {
  const sim = await testSimulator(t)
  sim.faults.statuses = [429, 200]
  sim.faults.retryAfterSeconds = 120
  const { sleep, waits } = fakeSleep()
  const error = await rejection(client(t, demoCredentials(sim), { sleep, maxRetryAfterSeconds: 30 }).requestToken(input))
  assert.equal(error.code, 'psa.rate-limited')
  assert.match(error.message, /Try again in 120 s/)
  assert.equal(error.details.rateLimit?.retryAfterSeconds, 120)
  assert.equal(error.details.rateLimit?.resetSeconds, 120)
  assert.equal(waits.length, 0)
  assert.equal(sim.requests.length, 1)
})

test('connection refused is retried (nothing was sent), then network.unreachable', async (t) => {
  const sim = await testSimulator(t)
  // A port nothing listens on: reserved for this test and outside the range the OS hands out.
  const port = await reservedPort()
  const { sleep, waits } = fakeSleep()
  const error = await rejection(client(t, demoCredentials(sim, { baseUrl: `https://127.0.0.1:${port}/connectedcar/v3` }), { sleep }).requestToken(input))
  assert.equal(error.code, 'network.unreachable')
  assert.match(error.message, /connection refused/)
  assert.match(error.message, /Tried 3 times/)
  assert.equal(waits.length, 2)
})

test('client certificate refused by the server: expired, or from another CA → tls.client-refused, even with NODE_TLS_REJECT_UNAUTHORIZED=0', async (t) => {
  const sim = await testSimulator(t)
  const cases = {
    expired: expiredPartner(sim),
    'other CA': wrongCaPartner(sim.material.credentials.login),
  }
  for (const [name, identity] of Object.entries(cases)) {
    const creds = demoCredentials(sim, { certPem: identity.certPem, keyPem: identity.keyPem })
    for (const insecureEnv of [false, true]) {
      const attempt = (): Promise<VkError> => rejection(client(t, creds, { sleep: fakeSleep().sleep }).requestToken(input))
      const error = insecureEnv ? await withInsecureEnv(attempt) : await attempt()
      assert.equal(error.code, 'tls.client-refused', `${name}${insecureEnv ? ' (insecure env)' : ''}: ${error.message}`)
      assert.match(error.message, /partner certificate was probably refused/)
      assertNoSecrets(error, creds)
    }
  }
  assert.equal(sim.requests.length, 0, 'no request got through the handshake')
  assert.ok(sim.stats.handshakeFailures >= 4)
})

test('under TLS 1.2 the refusal happens inside the handshake and is still tls.client-refused, not retried', async (t) => {
  const sim = await testSimulator(t, { maxTlsVersion: 'TLSv1.2' })
  const identity = wrongCaPartner(sim.material.credentials.login)
  const { sleep, waits } = fakeSleep()
  const error = await rejection(client(t, demoCredentials(sim, { certPem: identity.certPem, keyPem: identity.keyPem }), { sleep }).requestToken(input))
  assert.equal(error.code, 'tls.client-refused')
  assert.equal(waits.length, 0)
  const ok = await client(t, demoCredentials(sim)).requestToken(input)
  assert.equal(ok.attempts, 1, 'the demo certificate works over TLS 1.2')
})

test('a non-JSON error page from a proxy still maps by status, with no PSA reference invented', async (t) => {
  const material = await loadSimulatorMaterial(await simulatorDir(t))
  const proxy = createHttpsServer({ cert: material.server.certPem, key: material.server.keyPem }, (_req, res) => {
    res.writeHead(502, { 'content-type': 'text/html' })
    res.end('<html><body>Bad Gateway</body></html>')
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  t.after(
    () =>
      new Promise<void>((resolve) => {
        proxy.closeAllConnections()
        proxy.close(() => resolve())
      }),
  )
  const port = (proxy.address() as { port: number }).port
  const creds: PartnerCredentials = {
    baseUrl: `https://localhost:${port}/connectedcar/v3`,
    clientId: material.credentials.clientId,
    login: material.credentials.login,
    password: material.credentials.password,
    certPem: material.partner.certPem,
    keyPem: material.partner.keyPem,
    caPem: material.serverCa.certPem,
  }
  const error = await rejection(client(t, creds).requestToken(input))
  assert.equal(error.code, 'server.bad-gateway')
  assert.deepEqual(error.details.psa, { status: 502 })
  assert.doesNotMatch(error.message, /PSA reference/)
})

test('a profile without a partner certificate is refused before connecting', async (t) => {
  const sim = await testSimulator(t)
  assert.throws(
    () => new PsaClient(demoCredentials(sim, { certPem: '', keyPem: '' })),
    (e: unknown) => e instanceof VkError && e.code === 'config.no-certificate',
  )
  assert.equal(sim.stats.handshakeFailures + sim.stats.requests, 0)
})

test('server certificate not signed by the profile CA → tls.server-untrusted, even with NODE_TLS_REJECT_UNAUTHORIZED=0', async (t) => {
  const sim = await testSimulator(t)
  for (const creds of [demoCredentials(sim, { caPem: otherCa().certPem }), demoCredentials(sim, { caPem: undefined })]) {
    for (const insecureEnv of [false, true]) {
      const attempt = (): Promise<VkError> => rejection(client(t, creds).requestToken(input))
      const error = insecureEnv ? await withInsecureEnv(attempt) : await attempt()
      assert.equal(error.code, 'tls.server-untrusted')
      assert.match(error.message, /Stellantis CA certificate/)
    }
  }
  assert.equal(sim.requests.length, 0)
})

test('expired server certificate → tls.server-expired; certificate for another host → tls.server-host; both even with NODE_TLS_REJECT_UNAUTHORIZED=0', async (t) => {
  const dir = await simulatorDir(t)
  const material = await loadSimulatorMaterial(dir)
  const cases: Array<['expired' | 'wrong-host', ErrorCode]> = [
    ['expired', 'tls.server-expired'],
    ['wrong-host', 'tls.server-host'],
  ]
  for (const [kind, code] of cases) {
    const sim: Simulator = await startSimulator({ dir, tlsOverride: serverCertificate(material.serverCa, kind) })
    t.after(() => sim.close())
    for (const insecureEnv of [false, true]) {
      const attempt = (): Promise<VkError> => rejection(client(t, demoCredentials(sim)).requestToken(input))
      const error = insecureEnv ? await withInsecureEnv(attempt) : await attempt()
      assert.equal(error.code, code, `${kind}${insecureEnv ? ' (insecure env)' : ''}`)
    }
    assert.equal(sim.requests.length, 0)
  }
})

test('an abort signal cancels a slow request with "cancelled"', async (t) => {
  const sim = await testSimulator(t)
  sim.faults.slowHeadersMs = 5_000
  const controller = new AbortController()
  const started = Date.now()
  setTimeout(() => controller.abort(), 100)
  const error = await rejection(client(t, demoCredentials(sim)).requestToken(input, { signal: controller.signal }))
  assert.equal(error.code, 'cancelled')
  assert.equal(error.details.unanswered, true, 'PSA had the request: a key may have been issued')
  assert.ok(Date.now() - started < 2_000)
})

test('an abort signal also cancels the wait between retries', async (t) => {
  const sim = await testSimulator(t)
  sim.faults.statuses = [503, 503, 503]
  const controller = new AbortController()
  const started = Date.now()
  const c = client(t, demoCredentials(sim), { retryBaseDelayMs: 60_000 })
  const error = await rejection(c.requestToken(input, { signal: controller.signal, onRetry: () => setTimeout(() => controller.abort(), 50) }))
  assert.equal(error.code, 'cancelled')
  assert.equal(error.details.unanswered, false, 'PSA answered 503: no key exists')
  assert.equal(sim.requests.length, 1)
  assert.ok(Date.now() - started < 2_000)
  const already = await rejection(c.requestToken(input, { signal: controller.signal }))
  assert.equal(already.code, 'cancelled', 'an aborted signal sends nothing')
  assert.equal(already.details.unanswered, false)
  assert.equal(sim.requests.length, 1)
})
