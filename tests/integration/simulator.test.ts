/**
 * The PSA simulator over real mutual TLS on 127.0.0.1: its key material on disk, the
 * documented checks and error bodies, the fault modes, and what it records.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { X509Certificate } from 'node:crypto'
import { issueCertificate, issuePartnerCertificate, type Issued } from '../../electron/core/pki'
import { loadSimulatorMaterial, simulatorFiles, startSimulator, verifyTokenSignature, type Simulator } from '../../electron/core/simulator'
import { otherCa, simulatorDir, tempDir, testSimulator } from '../helpers/pki-fixtures'

const run = promisify(execFile)

interface RawAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  json: unknown
}

interface RawOptions {
  method?: string
  path?: string
  clientId?: string | null
  headers?: Record<string, string>
  body?: string
  identity?: Issued | null
  auth?: [string, string] | null
  agent?: HttpsAgent
}

const goodBody = JSON.stringify({ carToken: { CarData: 'Q2FyRGF0YQ==', CarData_signature: 'U2lnbmF0dXJl' }, duration: '3600' })

/** A plain node:https request with the demo partner certificate unless told otherwise. */
function raw(sim: Simulator, options: RawOptions = {}): Promise<RawAnswer> {
  const m = sim.material
  const identity = options.identity === undefined ? m.partner : options.identity
  const auth = options.auth === undefined ? [m.credentials.login, m.credentials.password] : options.auth
  const clientId = options.clientId === undefined ? m.credentials.clientId : options.clientId
  const path =
    (options.path ?? '/connectedcar/v3/fleets/virtualkey/smartaccess/token') + (clientId === null ? '' : `?client_id=${encodeURIComponent(clientId)}`)
  const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/json' }
  if (auth) headers.authorization = `Basic ${Buffer.from(`${auth[0]}:${auth[1]}`, 'utf8').toString('base64')}`
  Object.assign(headers, options.headers ?? {})
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: sim.port,
        servername: 'localhost',
        path,
        method: options.method ?? 'POST',
        headers,
        ca: m.serverCa.certPem,
        ...(identity ? { cert: identity.certPem, key: identity.keyPem } : {}),
        agent: options.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', reject)
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json: unknown
          try {
            json = JSON.parse(text)
          } catch {
            json = undefined
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json })
        })
      },
    )
    req.on('error', reject)
    req.end(options.body ?? (options.method === 'GET' ? undefined : goodBody))
  })
}

function assertErrorBody(answer: RawAnswer, status: number): void {
  assert.equal(answer.status, status, answer.text)
  const body = answer.json as { code: number; uuid: string; message: string; timestamp: string }
  assert.equal(typeof body.code, 'number')
  assert.equal(Math.floor(body.code / 100), status, `code ${body.code} starts with the status`)
  assert.match(body.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
  assert.ok(body.message.length > 0)
  assert.ok(!Number.isNaN(Date.parse(body.timestamp)))
  assert.ok(answer.headers['x-ratelimit-limit-1'] !== undefined, 'rate-limit headers on every answer')
}

test('first start creates the demo material (folder 0700, files 0600) and a later start reuses it', async (t) => {
  const dir = join(await tempDir(t), 'simulator')
  const first = await startSimulator({ dir })
  await first.close()
  assert.equal(first.material.created, true)
  assert.equal((await stat(dir)).mode & 0o777, 0o700)
  for (const file of Object.values(simulatorFiles(dir))) {
    assert.equal((await stat(file)).mode & 0o777, 0o600, `${file} is 0600`)
  }
  const creds = JSON.parse(await readFile(join(dir, 'demo-credentials.json'), 'utf8')) as Record<string, string>
  assert.match(creds.login ?? '', /^MZP\d{6}$/)
  assert.ok(creds.password?.includes(':'), 'the demo password contains ":"')
  assert.ok(creds.clientId && creds.p12Passphrase)

  const partner = new X509Certificate(first.material.partner.certPem)
  assert.match(partner.subject, /OU=Programs Partners/)
  assert.match(partner.subject, new RegExp(`CN=${creds.login}`))
  assert.ok(partner.checkIssued(new X509Certificate(first.material.partnerCa.certPem)))
  const server = new X509Certificate(first.material.server.certPem)
  assert.match(server.subjectAltName ?? '', /DNS:localhost/)
  assert.match(server.subjectAltName ?? '', /IP Address:127\.0\.0\.1/)
  assert.ok(server.checkIssued(new X509Certificate(first.material.serverCa.certPem)))

  const second = await startSimulator({ dir })
  await second.close()
  assert.equal(second.material.created, false)
  assert.equal(second.material.server.certPem, first.material.server.certPem)
  assert.deepEqual(second.material.credentials, first.material.credentials)
})

test('an expired server certificate is re-issued on the next start, from the same CA', async (t) => {
  const dir = await simulatorDir(t)
  const before = await loadSimulatorMaterial(dir)
  const expired = issueCertificate(before.serverCa, {
    subject: { CN: 'localhost' },
    usage: 'server',
    altNames: ['localhost'],
    notBefore: new Date(Date.now() - 10 * 86_400_000),
    notAfter: new Date(Date.now() - 86_400_000),
  })
  await writeFile(before.files.serverCert, expired.certPem)
  await writeFile(before.files.serverKey, expired.keyPem)
  const sim = await startSimulator({ dir })
  t.after(() => sim.close())
  assert.equal(sim.material.serverCertRenewed, true)
  assert.ok(new Date(new X509Certificate(sim.material.server.certPem).validTo) > new Date())
  assert.equal(sim.material.serverCa.certPem, before.serverCa.certPem)
  assert.equal((await raw(sim)).status, 200, 'the renewed certificate is served and trusted')
})

test('openssl reads the demo partner.p12 with its passphrase (3DES, no legacy provider needed)', async (t) => {
  const sim = await testSimulator(t)
  const m = sim.material
  const { stdout } = await run('openssl', ['pkcs12', '-in', m.files.partnerP12, '-nokeys', '-passin', 'env:P12PASS'], {
    env: { ...process.env, P12PASS: m.credentials.p12Passphrase },
  })
  assert.match(stdout, /-----BEGIN CERTIFICATE-----/)
  assert.match(stdout, new RegExp(`CN ?= ?${m.credentials.login}`))
  const keys = await run('openssl', ['pkcs12', '-in', m.files.partnerP12, '-nocerts', '-nodes', '-passin', 'env:P12PASS'], {
    env: { ...process.env, P12PASS: m.credentials.p12Passphrase },
  })
  assert.match(keys.stdout, /-----BEGIN PRIVATE KEY-----/)
  await assert.rejects(run('openssl', ['pkcs12', '-in', m.files.partnerP12, '-nokeys', '-passin', 'pass:wrong']), 'a wrong passphrase is refused')
})

test('a plain https request with the demo certificate gets a token whose signature verifies', async (t) => {
  const fixed = new Date('2030-05-01T10:00:00.250Z')
  const sim = await testSimulator(t, { now: () => fixed })
  const answer = await raw(sim)
  assert.equal(answer.status, 200, answer.text)
  const body = answer.json as { token: { access_token: string; expires: string; expires_in: string; token_type: string }; token_signature: string }
  assert.ok(body.token.access_token.length >= 16)
  assert.equal(body.token.expires, '2030-05-01T11:00:00Z')
  assert.equal(body.token.expires_in, '3600')
  assert.equal(body.token.token_type, 'bearer')
  assert.equal(verifyTokenSignature(sim.material, body.token, body.token_signature), true)
  assert.equal(
    verifyTokenSignature(sim.material, { ...body.token, expires: '2030-05-02T11:00:00Z' }, body.token_signature),
    false,
    'a changed expiry fails the check',
  )
  for (const h of ['x-ratelimit-limit-1', 'x-ratelimit-remaining-1', 'x-ratelimit-limit-2', 'x-ratelimit-remaining-2']) {
    assert.match(String(answer.headers[h]), /^\d+$/, h)
  }
  assert.equal(sim.stats.tokensIssued, 1)
})

test('without a client certificate the handshake is refused and no request reaches the API', async (t) => {
  const sim = await testSimulator(t)
  await assert.rejects(raw(sim, { identity: null }))
  assert.equal(sim.requests.length, 0)
  assert.ok(sim.stats.handshakeFailures >= 1)
})

test('a client certificate from another CA, or expired, is refused at the handshake', async (t) => {
  const sim = await testSimulator(t)
  const foreign = issuePartnerCertificate(otherCa(), { login: sim.material.credentials.login })
  const expired = issuePartnerCertificate(sim.material.partnerCa, {
    login: sim.material.credentials.login,
    notBefore: new Date(Date.now() - 10 * 86_400_000),
    notAfter: new Date(Date.now() - 86_400_000),
  })
  await assert.rejects(raw(sim, { identity: foreign }))
  await assert.rejects(raw(sim, { identity: expired }))
  assert.equal(sim.requests.length, 0)
  assert.ok(sim.stats.handshakeFailures >= 2)
})

test('each documented check answers its status with the documented error body', async (t) => {
  const sim = await testSimulator(t)
  const m = sim.material
  const otherLogin = issuePartnerCertificate(m.partnerCa, { login: 'MZP000001' })
  const body = (value: unknown): string => JSON.stringify(value)
  const carToken = { CarData: 'Q2FyRGF0YQ==', CarData_signature: 'U2lnbmF0dXJl' }
  const cases: Array<[string, RawOptions, number]> = [
    ['unknown path', { path: '/connectedcar/v3/fleets/virtualkey/other' }, 404],
    ['wrong method', { method: 'GET' }, 405],
    ['no client_id', { clientId: null }, 401],
    ['unknown client_id', { clientId: 'not-a-client' }, 403],
    ['no authorization', { auth: null }, 401],
    ['wrong password', { auth: [m.credentials.login, 'wrong:password'] }, 401],
    ['wrong login', { auth: ['MZP999999', m.credentials.password] }, 401],
    ['authorization not Basic', { auth: null, headers: { authorization: 'Bearer abc' } }, 401],
    ['certificate CN is another login', { identity: otherLogin }, 403],
    ['accept is not JSON', { headers: { accept: 'text/html' } }, 400],
    ['content-type is not JSON', { headers: { 'content-type': 'text/plain' } }, 400],
    ['body is not JSON', { body: '{"carToken":' }, 400],
    ['no carToken', { body: body({ duration: '3600' }) }, 400],
    ['no CarData_signature', { body: body({ carToken: { CarData: 'QUJD' } }) }, 400],
    ['duration as a number', { body: body({ carToken, duration: 3600 }) }, 400],
    ['duration zero', { body: body({ carToken, duration: '0' }) }, 400],
    ['duration over 30 days', { body: body({ carToken, duration: String(31 * 86_400) }) }, 400],
    ['CarData not base64', { body: body({ carToken: { ...carToken, CarData: 'not base64!' } }) }, 400],
    ['signature not base64', { body: body({ carToken: { ...carToken, CarData_signature: 'x' } }) }, 400],
  ]
  const codes = new Set<number>()
  for (const [name, options, status] of cases) {
    const answer = await raw(sim, options)
    await t.test(name, () => assertErrorBody(answer, status))
    codes.add((answer.json as { code: number }).code)
  }
  assert.ok(codes.size >= 12, 'the checks answer distinct API codes')
  assert.equal(sim.stats.tokensIssued, 0)

  const noDuration = await raw(sim, { body: body({ carToken }) })
  assert.equal(noDuration.status, 200)
  assert.equal((noDuration.json as { token: { expires_in: string } }).token.expires_in, '86400', 'duration defaults to 24 h')
  const withCharset = await raw(sim, { headers: { 'content-type': 'application/json; charset=utf-8' } })
  assert.equal(withCharset.status, 200)
})

test('the scripted status sequence is consumed one per request; 429 carries Retry-After and X-RateLimit-Reset', async (t) => {
  const sim = await testSimulator(t)
  sim.faults.statuses = [503, 429, 200]
  sim.faults.retryAfterSeconds = 7
  const first = await raw(sim)
  assertErrorBody(first, 503)
  const second = await raw(sim)
  assertErrorBody(second, 429)
  assert.equal(second.headers['retry-after'], '7')
  assert.equal(second.headers['x-ratelimit-reset'], '7')
  assert.equal((await raw(sim)).status, 200)
  assert.equal((await raw(sim)).status, 200, 'after the script, normal answers')
  for (const status of [400, 401, 403, 404, 408, 500, 502, 504]) {
    sim.faults.statuses = [status]
    assertErrorBody(await raw(sim), status)
  }
  assert.deepEqual(
    sim.requests.map((r) => r.status),
    [503, 429, 200, 200, 400, 401, 403, 404, 408, 500, 502, 504],
  )
})

test('burst mode answers 429 past N requests in the same second', async (t) => {
  const fixed = new Date('2030-01-01T00:00:00Z')
  const sim = await testSimulator(t, { now: () => fixed })
  sim.faults.burstPerSecond = 2
  const statuses = [(await raw(sim)).status, (await raw(sim)).status]
  const third = await raw(sim)
  assert.deepEqual(statuses, [200, 200])
  assertErrorBody(third, 429)
  assert.equal(third.headers['x-ratelimit-limit-2'], '2')
  assert.equal(third.headers['x-ratelimit-remaining-2'], '0')
  assert.ok(third.headers['retry-after'])
})

test('malformed and oversized modes answer 200 with a broken or multi-MB body', async (t) => {
  const sim = await testSimulator(t)
  sim.faults.statuses = ['malformed', 'oversized']
  const malformed = await raw(sim)
  assert.equal(malformed.status, 200)
  const body = malformed.json as { token: Record<string, unknown> }
  assert.equal(body.token.expires, undefined, 'fields are missing')
  const big = await raw(sim)
  assert.equal(big.status, 200)
  assert.ok(big.text.length > 2 * 1024 * 1024, `body is ${big.text.length} bytes`)
})

test('reset mode destroys the socket after reading the request, and it is recorded', async (t) => {
  const sim = await testSimulator(t)
  sim.faults.reset = true
  await assert.rejects(raw(sim))
  assert.equal(sim.requests.length, 1)
  assert.equal(sim.requests[0]?.outcome, 'reset')
  assert.equal(sim.requests[0]?.status, null)
  assert.equal(sim.stats.resets, 1)
})

test('slow headers and latency delay the answer', async (t) => {
  const sim = await testSimulator(t, { latencyMs: 150 })
  sim.faults.slowHeadersMs = 150
  const started = Date.now()
  assert.equal((await raw(sim)).status, 200)
  assert.ok(Date.now() - started >= 290, 'latency and slow headers add up')
})

test('requests are recorded without secrets', async (t) => {
  const sim = await testSimulator(t)
  const answer = await raw(sim)
  const token = (answer.json as { token: { access_token: string } }).token.access_token
  await raw(sim, { auth: [sim.material.credentials.login, 'wrong:password'] })
  assert.equal(sim.requests.length, 2)
  const [first] = sim.requests
  assert.equal(first?.method, 'POST')
  assert.equal(first?.path, '/connectedcar/v3/fleets/virtualkey/smartaccess/token')
  assert.equal(first?.clientId, sim.material.credentials.clientId)
  assert.equal(first?.status, 200)
  assert.equal(first?.bodyParsed, true)
  const recorded = JSON.stringify({ requests: sim.requests, stats: sim.stats })
  for (const secret of [sim.material.credentials.password, 'wrong:password', token, 'Basic ']) {
    assert.ok(!recorded.includes(secret), 'no secret in the records')
  }
})

test('close() also ends idle keep-alive connections', async (t) => {
  const sim = await startSimulator({ dir: await simulatorDir(t) })
  const agent = new HttpsAgent({ keepAlive: true })
  t.after(() => agent.destroy())
  assert.equal((await raw(sim, { agent })).status, 200)
  const started = Date.now()
  await sim.close()
  assert.ok(Date.now() - started < 2000, 'close does not wait for the keep-alive timeout')
  await assert.rejects(raw(sim), 'nothing listens any more')
})
