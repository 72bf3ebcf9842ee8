/**
 * The first SIGINT or SIGTERM cancels cleanly (issue 9, item 4): the real `vkey`
 * (scripts/vkey.mjs) in a child process, against the simulator over mutual TLS with a long
 * latency, gets the signal once the simulator has the request (or once a silent server has
 * the connection), and exits with 130 before any answer, saying whether a request had
 * reached PSA. The latency (60 s) is far longer than the tests' timeouts, so a command
 * that waited for the answer would fail them.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { test } from 'node:test'
import { PassThrough, Readable } from 'node:stream'
import { watchSignals } from '../../electron/cli/interrupt'
import { runCli } from '../../electron/cli/run'
import { startSimulator } from '../../electron/core/simulator'
import { waitUntil } from '../helpers/wait'
import { carDataJson, ROOT, setupDepot, startVkey, vinFor, vkey } from '../helpers/depot-env'

test('SIGINT while PSA has the request: exit 130 before any answer, saying a key may exist', { timeout: 60_000 }, async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t, { latencyMs: 60_000 })
  const file = join(dataDir, '..', 'car.json')
  await writeFile(file, carDataJson(vinFor(80)))
  const received = new Promise<void>((resolve) => {
    simulator.tap = () => resolve()
  })
  const run = startVkey(t, ['token', '--cardata', file, '--duration', '1h'], env)
  await received // the simulator has read the whole request
  run.signal('SIGINT')
  const result = await run.exited
  t.diagnostic(`exited ${result.afterSignalMs} ms after SIGINT`)
  assert.equal(result.code, 130, result.stderr)
  assert.match(
    result.stderr,
    /^vkey: interrupted \(SIGINT\) while a request to PSA was waiting for an answer: PSA may have issued a key that was not stored here\. Check `vkey list` before asking again\.\n$/,
  )
  assert.deepEqual(simulator.stats.byStatus, {}, 'the simulator had not answered yet')

  // The advice works as printed: the vehicle is listed, back to draft, with the cancel's reason.
  const listed = await vkey(['list', '--json'], env)
  const [record] = JSON.parse(listed.stdout) as { status: string; error: { message: string } | null }[]
  assert.equal(record?.status, 'draft')
  assert.match(record?.error?.message ?? '', /a key may have been issued/)
  // …and so does the audit's row for the attempt.
  const csv = join(dataDir, '..', 'audit.csv')
  assert.equal((await vkey(['audit', '--csv', csv], env)).code, 0)
  assert.match(await readFile(csv, 'utf8'), new RegExp(`,${vinFor(80)},.*,cancelled,.*If PSA had already received the request, a key may have been issued`))
})

test(
  'vkey killed (SIGKILL) while PSA has the request: the record says a key may have been issued, the audit has the attempt, the next request warns',
  { timeout: 60_000 },
  async (t) => {
    const { env, dataDir, simulator } = await setupDepot(t, { latencyMs: 60_000 })
    const vin = vinFor(86)
    const file = join(dataDir, '..', 'car.json')
    await writeFile(file, carDataJson(vin))
    const received = new Promise<void>((resolve) => {
      simulator.tap = () => resolve()
    })
    const run = startVkey(t, ['token', '--cardata', file, '--duration', '1h'], env)
    await received
    run.signal('SIGKILL') // no handler runs: only what was on disk before the request went out remains
    assert.equal((await run.exited).signal, 'SIGKILL')

    const [record] = JSON.parse((await vkey(['list', '--json'], env)).stdout) as { status: string; error: { message: string } | null }[]
    assert.equal(record?.status, 'draft')
    assert.match(
      record?.error?.message ?? '',
      /^Interrupted: the VK Depot process \(pid \d+\) ended while this request was on its way to PSA\. If PSA had received it, a key may have been issued; it was not stored\.$/,
    )
    const csv = join(dataDir, '..', 'audit.csv')
    assert.equal((await vkey(['audit', '--csv', csv], env)).code, 0)
    assert.match(await readFile(csv, 'utf8'), new RegExp(`,${vin},.*,cancelled,.*Interrupted: the VK Depot process`), 'the audit lists the attempt')

    simulator.faults.latencyMs = 0
    const again = await vkey(['token', '--cardata', file, '--duration', '1h'], env)
    assert.equal(again.code, 0, again.stderr)
    assert.match(
      again.stderr,
      new RegExp(
        `^vkey token: the last request for ${vin} was cut off by an interruption: PSA may have issued a key for it that was not stored here \\(the audit lists the attempt\\)\\. This request asks for it again`,
      ),
    )
  },
)

test('SIGINT while still connecting: exit 130, saying no request was sent', { timeout: 60_000 }, async (t) => {
  const { env, depot, simulator } = await setupDepot(t)
  const sockets = new Set<Socket>()
  let connected: () => void = () => undefined
  const reached = new Promise<void>((resolve) => (connected = resolve))
  const silent = createServer((socket) => {
    sockets.add(socket) // accepted, never a byte back: the handshake never ends
    connected()
  })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    for (const socket of sockets) socket.destroy()
    silent.close()
  })
  const port = (silent.address() as { port: number }).port
  const demo = simulator.material.credentials
  await depot.partners.save({
    name: 'silent',
    environment: `https://localhost:${port}/connectedcar/v3`,
    clientId: demo.clientId,
    login: demo.login,
    password: demo.password,
  })
  await depot.partners.importCertificate('silent', {
    file: { name: 'partner.p12', bytes: await readFile(simulator.material.files.partnerP12) },
    passphrase: demo.p12Passphrase,
  })
  const file = join(depot.dataDir, '..', 'car.json')
  await writeFile(file, carDataJson(vinFor(81)))

  const run = startVkey(t, ['token', '--cardata', file, '--duration', '1h', '--profile', 'silent'], env)
  await reached
  run.signal('SIGINT')
  const result = await run.exited
  t.diagnostic(`exited ${result.afterSignalMs} ms after SIGINT`)
  assert.equal(result.code, 130, result.stderr)
  assert.match(result.stderr, /^vkey: interrupted \(SIGINT\) before any request was sent to PSA: no key was issued\.\n$/)
})

test('SIGTERM during a batch: exit 130, the batch says how to resume and the notice counts the requests in flight', { timeout: 60_000 }, async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t, { latencyMs: 60_000 })
  const files: string[] = []
  for (const n of [82, 83]) {
    const file = join(dataDir, '..', `car-${n}.json`)
    await writeFile(file, carDataJson(vinFor(n)))
    files.push(file)
  }
  let seen = 0
  const bothReceived = new Promise<void>((resolve) => {
    simulator.tap = () => {
      if (++seen === 2) resolve()
    }
  })
  const run = startVkey(t, ['batch', ...files, '--duration', '1h', '--concurrency', '2'], env)
  await bothReceived
  run.signal('SIGTERM')
  const result = await run.exited
  t.diagnostic(`exited ${result.afterSignalMs} ms after SIGTERM`)
  assert.equal(result.code, 130, result.stderr)
  assert.match(result.stdout, /Cancelled: run the same command again to resume/)
  assert.match(result.stderr, /vkey: interrupted \(SIGTERM\) while 2 requests to PSA were waiting for an answer/)
  assert.deepEqual(simulator.stats.byStatus, {})

  // Resumed as told: the cars whose requests were cut off are named before new keys are asked for them.
  simulator.faults.latencyMs = 0
  const resumed = await vkey(['batch', ...files, '--duration', '1h'], env)
  assert.equal(resumed.code, 0, resumed.stderr)
  assert.match(
    resumed.stderr,
    new RegExp(
      `the last request for (${vinFor(82)}, ${vinFor(83)}|${vinFor(83)}, ${vinFor(82)}) was cut off by an interruption: PSA may have issued a key for each that was not stored here`,
    ),
  )
  assert.match(resumed.stdout, /2 issued/)
})

test(
  'SIGINT during `vkey queue flush`: the request PSA may have is left out of the queue, never sent again by itself; the untried one stays queued',
  { timeout: 60_000 },
  async (t) => {
    const { env, dataDir, simulator } = await setupDepot(t, { restartable: true })
    const port = Number(new URL(simulator.baseUrl).port)
    const files: string[] = []
    for (const n of [83, 84, 85]) {
      const file = join(dataDir, '..', `car-${n}.json`)
      await writeFile(file, carDataJson(vinFor(n)))
      files.push(file)
    }
    await simulator.close()
    for (const file of files.slice(0, 2)) assert.equal((await vkey(['token', '--cardata', file, '--duration', '1h'], env)).code, 6)
    const queued = JSON.parse((await vkey(['queue', '--json'], env)).stdout) as { id: string; vin: string; queued_at: string }[]
    assert.equal(queued.length, 2)

    const slow = await startSimulator({ dir: simulator.material.dir, port, latencyMs: 60_000 })
    t.after(() => slow.close())
    const received = new Promise<void>((resolve) => {
      slow.tap = () => resolve()
    })
    const run = startVkey(t, ['queue', 'flush'], env)
    await received // PSA has the first request
    run.signal('SIGINT')
    const result = await run.exited
    assert.equal(result.code, 130)
    assert.match(result.stderr, /while a request to PSA was waiting for an answer: PSA may have issued a key/)

    // The request PSA had is out of the queue, saying a key may exist; the one never tried waits, queued since the same time.
    const after = JSON.parse((await vkey(['queue', '--json'], env)).stdout) as { id: string; vin: string; queued_at: string }[]
    assert.equal(after.length, 1)
    const untried = queued.find((q) => q.id === after[0]!.id)
    assert.ok(untried, 'the one left is one of the two queued')
    assert.equal(after[0]!.queued_at, untried.queued_at)
    const cut = queued.find((q) => q.id !== untried.id)!
    const listed = JSON.parse((await vkey(['list', '--json'], env)).stdout) as { id: string; status: string; error: { message: string } | null }[]
    const cutRecord = listed.find((r) => r.id === cut.id)
    assert.equal(cutRecord?.status, 'draft')
    assert.match(cutRecord?.error?.message ?? '', /a key may have been issued/)

    // The next key request flushes the queue: the untried request is sent, the cut one is not sent again.
    slow.faults.latencyMs = 0
    assert.equal((await vkey(['token', '--cardata', files[2]!, '--duration', '1h'], env)).code, 0)
    assert.equal(slow.requests.length, 3, 'the cut request once, the untried one, the new one')
    assert.equal((JSON.parse((await vkey(['list', '--json'], env)).stdout) as { id: string; status: string }[]).find((r) => r.id === cut.id)?.status, 'draft')
  },
)

test(
  '`vkey queue flush` killed (SIGKILL) while PSA has a queued request: `vkey queue` names the car and how to ask again; the next flush says it once and sends nothing',
  { timeout: 60_000 },
  async (t) => {
    const { env, dataDir, simulator } = await setupDepot(t, { restartable: true })
    const port = Number(new URL(simulator.baseUrl).port)
    const vin = vinFor(87)
    const file = join(dataDir, '..', 'car-87.json')
    await writeFile(file, carDataJson(vin))
    const qr = join(dataDir, '..', 'car-87.png')
    await simulator.close()
    assert.equal((await vkey(['token', '--cardata', file, '--duration', '90m', '--qr', qr], env)).code, 6)

    const slow = await startSimulator({ dir: simulator.material.dir, port, latencyMs: 60_000 })
    t.after(() => slow.close())
    const received = new Promise<void>((resolve) => {
      slow.tap = () => resolve()
    })
    const run = startVkey(t, ['queue', 'flush'], env)
    await received
    run.signal('SIGKILL')
    assert.equal((await run.exited).signal, 'SIGKILL')

    const cutOff = new RegExp(
      `^vkey queue: the last request for ${vin} \\(queued since \\w{3} \\d{4}-\\d{2}-\\d{2} [\\d:]+ .+; its QR file ${qr} was not written\\) was cut off by an interruption: PSA may have issued a key for it that was not stored here \\(the audit lists the attempt\\)\\. It left the queue, so no flush sends it again by itself\\. To ask again \\(a new key: the one PSA may have issued was not stored\\): \`(vkey token --cardata ${file} --duration 1h30m --profile sim --qr ${qr})\`\\.`,
    )
    const listed = await vkey(['queue'], env)
    assert.equal(listed.code, 0, listed.stderr)
    assert.match(listed.stderr, cutOff)
    assert.match(listed.stdout, /^0 request\(s\) waiting for the network\./m)
    // A script reading `--json` gets the queue on stdout and the same word on stderr.
    const listedJson = await vkey(['queue', '--json'], env)
    assert.deepEqual(JSON.parse(listedJson.stdout), [])
    assert.match(listedJson.stderr, cutOff)
    slow.faults.latencyMs = 0
    const flushed = await vkey(['queue', 'flush'], env)
    assert.equal(flushed.code, 0, flushed.stderr)
    assert.match(flushed.stderr, cutOff)
    assert.match(flushed.stdout, /^Queue: 0 sent, 0 refused, 0 still waiting for the network\./)
    const again = await vkey(['queue', 'flush'], env)
    assert.equal(again.stderr, '', 'said once')
    assert.equal(slow.requests.length, 1, 'the cut request was not sent again by itself')
    // The command it suggests (with the file the car came from), run as printed, asks again (and says why), and writes the QR file.
    const asked = await vkey(cutOff.exec(listed.stderr)![1]!.split(' ').slice(1), env)
    assert.equal(asked.code, 0, asked.stderr)
    assert.ok((await stat(qr)).size > 0, 'the QR file is written')
    assert.match(asked.stderr, /^vkey token: the last request for .* was cut off by an interruption/)
    assert.equal(slow.requests.length, 2)
  },
)

test('a Ctrl-C that came while vkey was still loading is handled once it watches its signals: it says nothing was sent, exit 130', async () => {
  // scripts/vkey.mjs notes such a signal; cli/io.ts hands it to watchSignals. The process here is a stand-in with the same calls.
  const stderr = new PassThrough()
  let text = ''
  stderr.setEncoding('utf8').on('data', (c: string) => (text += c))
  let exitCode: number | undefined
  const listeners = new Map<string, () => void>()
  const source = {
    on: (name: 'SIGINT' | 'SIGTERM', listener: () => void) => listeners.set(name, listener),
    listeners: (name: 'SIGINT' | 'SIGTERM') => [listeners.get(name)].filter(Boolean),
    removeListener: (name: 'SIGINT' | 'SIGTERM', listener: () => void) => listeners.get(name) === listener && listeners.delete(name),
    exit: (code: number): never => {
      exitCode = code
      return undefined as never
    },
  }
  const interruption = watchSignals(source, stderr, 20, 'SIGINT')
  await interruption.interrupted
  assert.equal(interruption.signal, 'SIGINT')
  await waitUntil(() => exitCode !== undefined, 'the grace period to end')
  assert.equal(exitCode, 130)
  assert.equal(text, 'vkey: interrupted (SIGINT) before any request was sent to PSA: no key was issued.\n')
  assert.ok(listeners.has('SIGINT') && listeners.has('SIGTERM'), 'later signals are watched as usual')

  // And the command it came before is not run at all.
  const out = new PassThrough()
  let printed = ''
  out.setEncoding('utf8').on('data', (c: string) => (printed += c))
  const late = watchSignals(source, stderr, 60_000, 'SIGTERM')
  const code = await runCli(['handed-over', 'NOPE'], { stdout: out, stderr, stdin: Readable.from([]), env: process.env, isTty: false, interruption: late })
  assert.equal(code, 130)
  assert.equal(printed, '')
  assert.match(text, /interrupted \(SIGTERM\) before any request was sent to PSA: no key was issued\.\n$/)
})

test('a Ctrl-C on its way while vkey starts watching its signals is not dropped: the command does not run on (a real process)', async () => {
  // The signal reaches the process before watchSignals and is dispatched after it: in between,
  // vkey's listeners replace scripts/vkey.mjs's. With no listener for a moment, Node dropped it
  // and the command ran on, its request sent (a technician's Ctrl-C 0.2 s after starting vkey token).
  const script = `
    import { watchSignals } from ${JSON.stringify(join(ROOT, 'electron/cli/interrupt.ts'))}
    process.on('SIGINT', () => { globalThis.vkeyEarlySignal = 'SIGINT' }) // as scripts/vkey.mjs does
    process.kill(process.pid, 'SIGINT') // on its way: Node dispatches it at the next turn of the event loop
    watchSignals(process, process.stderr, 50, globalThis.vkeyEarlySignal)
    setTimeout(() => { process.stdout.write('ran on'); process.exit(0) }, 5000)`
  const run = promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT })
  const failure = await run.then(
    (done) => assert.fail(`exited 0: ${done.stdout}`),
    (error: Error & { code?: number; stdout?: string; stderr?: string }) => error,
  )
  assert.equal(failure.code, 130)
  assert.equal(failure.stdout, '')
  assert.match(failure.stderr ?? '', /^vkey: interrupted \(SIGINT\) before any request was sent to PSA: no key was issued\.\n$/)
})
