/**
 * Every request ends (issue 9, item 4): one overall deadline per PSA request, whatever the
 * server does. The simulator (real mutual TLS) drips its answer one byte at a time or never
 * answers; a bare TCP listener accepts and never completes the handshake. The deadline is
 * shortened through the client's test option `requestTimeoutMs`; the message names the
 * phase that stalled and the time spent. The per-test timeout turns a hang into a failure.
 */
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createServer, type Socket } from 'node:net'
import { test, type TestContext } from 'node:test'
import { VkError } from '../../shared/errors'
import { PsaClient, type PartnerCredentials, type PsaClientOptions } from '../../electron/core/psa-client'
import { demoCredentials, testSimulator } from '../helpers/pki-fixtures'
import { formatLocal } from '../../shared/time'
import { carDataJson, escapeRe, setupDepot, startVkey, testHandlers, vinFor, vkey } from '../helpers/depot-env'
import { waitUntil } from '../helpers/wait'

const input = { carData: 'Q2FyRGF0YQ==', carDataSignature: 'U2lnbmF0dXJl', durationSeconds: 3600 }

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

test('a body dripped one byte at a time is stopped at the deadline, "while reading the answer", and not repeated', { timeout: 30_000 }, async (t) => {
  const sim = await testSimulator(t)
  sim.faults.stall = 'drip'
  sim.faults.dripIntervalMs = 200 // every gap is short: undici's per-chunk body timeout never fires
  let sent = 0
  const psa = client(t, demoCredentials(sim), { requestTimeoutMs: 1500, onRequestSent: () => sent++ })
  const error = await rejection(psa.requestToken(input))
  assert.equal(error.code, 'network.timeout')
  assert.match(error.message, /^Stopped after \d+\.\d s while reading the answer from localhost:\d+ \(the 1\.5 s limit for one request\)/)
  assert.match(error.message, /a token may have been issued/)
  assert.equal(sim.requests.length, 1, 'not sent a second time')
  assert.equal(sim.stats.tokensIssued, 1, 'the server did issue a token: the message must not say otherwise')
  assert.equal(sent, 1)
})

test('headers that never come are stopped at the deadline, "while waiting for the answer"', { timeout: 30_000 }, async (t) => {
  const sim = await testSimulator(t)
  sim.faults.stall = 'hang-headers'
  const psa = client(t, demoCredentials(sim), { requestTimeoutMs: 1000 })
  const error = await rejection(psa.requestToken(input))
  assert.equal(error.code, 'network.timeout')
  assert.match(
    error.message,
    /^Stopped after \d+\.\d s while waiting for the answer from localhost:\d+ \(the 1\.0 s limit for one request\): the request was sent/,
  )
  assert.equal(error.details.unanswered, true, 'the error says PSA may have issued a key')
  assert.equal(sim.requests.length, 1, 'not sent a second time')
})

test('a server that accepts the connection but never completes the handshake is stopped "while connecting"', { timeout: 30_000 }, async (t) => {
  const sockets = new Set<Socket>()
  const silent = createServer((socket) => {
    sockets.add(socket) // accepted, and never a byte back
  })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    for (const socket of sockets) socket.destroy()
    silent.close()
  })
  const port = (silent.address() as { port: number }).port
  const sim = await testSimulator(t)
  let sent = 0
  const psa = client(t, demoCredentials(sim, { baseUrl: `https://localhost:${port}/connectedcar/v3` }), {
    requestTimeoutMs: 800,
    maxTries: 1,
    onRequestSent: () => sent++,
  })
  const error = await rejection(psa.requestToken(input))
  assert.equal(error.code, 'network.timeout')
  assert.match(error.message, /^Stopped after \d+\.\d s while connecting to localhost:\d+ \(the 0\.8 s limit for one request\); nothing was sent/)
  assert.equal(error.details.unanswered, undefined, 'nothing was sent: no key can exist')
  assert.equal(sent, 0)
  assert.ok(sockets.size >= 1, 'the client did reach the listener')
})

test('the deadline does not touch a normal answer, nor a cancel by the user', { timeout: 30_000 }, async (t) => {
  const sim = await testSimulator(t)
  const psa = client(t, demoCredentials(sim), { requestTimeoutMs: 5000 })
  const token = await psa.requestToken(input)
  assert.ok(token.accessToken)
  sim.faults.stall = 'hang-headers'
  const controller = new AbortController()
  const pending = rejection(psa.requestToken(input, { signal: controller.signal }))
  sim.tap = () => controller.abort()
  const error = await pending
  assert.equal(error.code, 'cancelled')
})

test('the deadline is a profile setting: vkey profile add … --timeout SECONDS, and vkey token stops there', { timeout: 60_000 }, async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t)
  const bad = await vkey(['profile', 'add', 'sim', '--env', 'simulator', '--timeout', '0'], env)
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /--timeout must be a whole number from 1 to 300/)

  const saved = await vkey(['profile', 'add', 'sim', '--env', 'simulator', '--timeout', '1'], env)
  assert.equal(saved.code, 0, saved.stderr)
  assert.match(saved.stdout, /1 s per request/)
  const listed = JSON.parse((await vkey(['profile', 'list', '--json'], env)).stdout) as { name: string; requestTimeoutSeconds: number }[]
  assert.equal(listed.find((p) => p.name === 'sim')?.requestTimeoutSeconds, 1)

  const file = join(dataDir, '..', 'car.json')
  await writeFile(file, carDataJson(vinFor(90)))
  simulator.faults.stall = 'drip'
  simulator.faults.dripIntervalMs = 200
  const token = await vkey(['token', '--cardata', file, '--duration', '1h'], env)
  assert.equal(token.code, 5, token.stderr)
  assert.match(token.stderr, /^vkey: Stopped after \d+\.\d s while reading the answer from localhost:\d+ \(the 1\.0 s limit for one request\)/)
  assert.equal(simulator.requests.length, 1)

  // PSA issued that key (the body was on its way): the next request for the car says so before it asks again.
  assert.equal(simulator.stats.tokensIssued, 1)
  const [attempt] = JSON.parse((await vkey(['list', '--json'], env)).stdout) as { requested_at: string; planned_end: string; may_have_issued: boolean }[]
  assert.equal(attempt!.may_have_issued, true, '`vkey list --json` says PSA may hold a key for it')
  // The timeout's advice ("check `vkey list` first") finds the warning there, with the window.
  assert.match(
    (await vkey(['list'], env)).stdout,
    new RegExp(
      `! its request got no answer: PSA may hold a key from it that is not stored here, opening the car until ${escapeRe(formatLocal(attempt!.planned_end))} at the latest`,
    ),
  )
  simulator.faults.stall = null
  const again = await vkey(['token', '--cardata', file, '--duration', '1h'], env)
  assert.equal(again.code, 0, again.stderr)
  assert.match(
    again.stderr,
    new RegExp(
      `^vkey token: the last request for ${vinFor(90)} \\(sent ${escapeRe(formatLocal(attempt!.requested_at))}, for a key until ${escapeRe(formatLocal(attempt!.planned_end))}\\) got no answer: PSA may have issued a key that was not stored here and would open the car until then \\(the audit lists the attempt\\)\\. This request asks again`,
    ),
  )
  // The second key is stored; the one the first request may have got is still said, by the CLI and to the app.
  const settled = JSON.parse((await vkey(['list', '--json'], env)).stdout) as { status: string; may_have_issued: boolean }[]
  assert.deepEqual(
    settled.map((r) => [r.status, r.may_have_issued]),
    [['issued', true]],
  )
  const until = escapeRe(formatLocal(attempt!.planned_end))
  assert.match(
    (await vkey(['list'], env)).stdout,
    new RegExp(`! an earlier request got no answer: PSA may hold a key from it that is not stored here, opening the car until ${until} at the latest`),
  )
  const handlers = await testHandlers(t, dataDir)
  const [summary] = (await handlers['handovers:list']({})).handovers
  assert.deepEqual(summary!.earlierCutOff, { until: attempt!.planned_end })
})

test(
  'a vkey paused while PSA answers (Ctrl-Z, SIGSTOP) past its deadline keeps the answer that came meanwhile: the key is recorded, not thrown away',
  { timeout: 60_000 },
  async (t) => {
    const { env, dataDir, simulator } = await setupDepot(t)
    assert.equal((await vkey(['profile', 'add', 'sim', '--env', 'simulator', '--timeout', '1'], env)).code, 0)
    const file = join(dataDir, '..', 'car.json')
    await writeFile(file, carDataJson(vinFor(91)))
    let answer!: () => void
    simulator.faults.hold = new Promise((resolve) => (answer = resolve))
    const run = startVkey(t, ['token', '--cardata', file, '--duration', '1h'], env)
    await waitUntil(() => simulator.requests.length === 1, 'the request at PSA')
    run.signal('SIGSTOP')
    const stoppedAt = Date.now()
    answer() // PSA issues the key while vkey is paused
    await waitUntil(() => simulator.stats.tokensIssued === 1, 'the key issued')
    await waitUntil(() => Date.now() - stoppedAt > 2_000, 'the 1 s deadline long past')
    run.signal('SIGCONT')
    const { code, stdout, stderr } = await run.exited
    assert.equal(code, 0, stderr)
    assert.match(stdout, /Token issued/)
    const listed = JSON.parse((await vkey(['list', '--json'], env)).stdout) as { vin: string; status: string }[]
    assert.deepEqual(
      listed.map((r) => [r.vin, r.status]),
      [[vinFor(91), 'issued']],
      'PSA issued 1 key; the ledger holds it',
    )
  },
)
