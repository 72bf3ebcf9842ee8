/**
 * Offline-prepared handovers against the real simulator (mutual TLS) and the real
 * keychain: batches with server trouble, a crash half-way, the offline queue, use of
 * issued tokens with no network, the pack, the audit and expiry.
 */
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { test } from 'node:test'
import { openStore } from '../../electron/core/settings-store'
import { summaryOf } from '../../electron/app/views'
import { BatchRunner } from '../../electron/core/batch'
import type { BatchOutcome } from '../../electron/core/batch-run'
import { importCarDataFiles } from '../../electron/core/cardata-files'
import { Depot } from '../../electron/core/depot'
import { startSimulator } from '../../electron/core/simulator'
import { registerSimulator } from '../../electron/core/simulator-registration'
import { parseHandoverPayload } from '../../shared/qr-payload'
import {
  carDataJson,
  escapeRe,
  filesUnder,
  findSecretsInClear,
  ROOT,
  setupDepot,
  testHandlers,
  vinFor,
  vkey,
  vkeyRunning,
  writeVehicleFiles,
} from '../helpers/depot-env'
import { waitUntil } from '../helpers/wait'

const run = promisify(execFile)

interface BatchJson {
  batch_id: string | null
  issued: { id: string; vin: string; access_token: string }[]
  renewed: { id: string; vin: string; access_token: string }[]
  reused: { id: string; vin: string; access_token: string }[]
  skipped: { id: string; vin: string; status: string; access_token: string | null }[]
  queued: string[]
  failed: { what: string; code: string; message: string }[]
}

interface ListedRecord {
  id: string
  vin: string | null
  status: string
  expires: string | null
  batch: string | null
}

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>()
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1)
  return counts
}

test('a batch of 200 vehicles through 503s and a 429 burst ends with exactly one token per valid vehicle, and every malformed file is reported', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t)
  const folder = join(dataDir, '..', 'cars')
  const files = await writeVehicleFiles(folder, 100)
  // 100 more vehicles in one file, as an export of many phones would be.
  const many = join(folder, 'fleet.json')
  await writeFile(many, JSON.stringify({ vehicles: Array.from({ length: 100 }, (_, i) => JSON.parse(carDataJson(vinFor(100 + i)))) }))
  const broken = join(folder, 'broken.json')
  await writeFile(broken, '{"vin": "VF3TEST0000009999", "carData": ')
  const badBase64 = join(folder, 'bad-base64.json')
  await writeFile(badBase64, JSON.stringify({ vin: vinFor(9998), carData: '***', carDataSignature: 'AAAA' }))
  const badVin = join(folder, 'bad-vin.json')
  await writeFile(badVin, carDataJson('VF3OOPS'))

  simulator.faults.statuses.push(503, 503, 200, 503, 503, 503, 200, 503)
  simulator.faults.retryAfterSeconds = 1
  const batch = vkey(['batch', ...files, many, broken, badBase64, badVin, '--duration', '8h', '--concurrency', '8', '--json'], env)
  // Once the scripted answers are out, a burst limit any machine exceeds with 8 requests at
  // once, however loaded (a busy one may never send 40 a second); after its first 429, 40.
  await waitUntil(() => simulator.faults.statuses.length === 0, 'the scripted answers')
  simulator.faults.burstPerSecond = 3
  await waitUntil(() => simulator.stats.byStatus[429], 'a 429 from the burst limit')
  simulator.faults.burstPerSecond = 40
  const result = await batch
  const summary = JSON.parse(result.stdout) as BatchJson
  assert.equal(result.code, 2, 'non-zero: some files were malformed')
  assert.equal(summary.issued.length, 200, `issued ${summary.issued.length}; failed: ${JSON.stringify(summary.failed.slice(0, 3))}`)
  assert.equal(new Set(summary.issued.map((i) => i.vin)).size, 200)
  assert.equal(simulator.stats.tokensIssued, 200, 'the server issued exactly one token per vehicle')
  assert.ok((simulator.stats.byStatus[429] ?? 0) > 0, 'the burst limit was hit')
  assert.ok((simulator.stats.byStatus[503] ?? 0) >= 6, 'the scripted 503s were answered')
  const failedFiles = summary.failed.map((f) => f.what).join('\n')
  for (const name of ['broken.json', 'bad-base64.json', 'bad-vin.json']) assert.match(failedFiles, new RegExp(name.replace('.', '\\.')))
  assert.equal(summary.failed.length, 3)

  // The store parses and holds one issued record per vehicle.
  const listed = JSON.parse((await vkey(['list', '--json'], env)).stdout) as ListedRecord[]
  const issuedPerVin = countBy(
    listed.filter((r) => r.status === 'issued'),
    (r) => r.vin ?? '',
  )
  assert.equal(issuedPerVin.size, 200)
  assert.ok([...issuedPerVin.values()].every((n) => n === 1))
})

test('a batch killed with SIGKILL half-way and run again ends with one token per vehicle and a store that parses', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t, { latencyMs: 40 })
  const files = await writeVehicleFiles(join(dataDir, '..', 'cars'), 80)
  const child = spawn(process.execPath, [join(ROOT, 'scripts/vkey.mjs'), 'batch', ...files, '--duration', '4h', '--concurrency', '4'], { env, stdio: 'ignore' })
  const exited = new Promise((resolve) => child.on('exit', resolve))
  await waitUntil(() => simulator.stats.tokensIssued >= 30, 'the first 30 keys', { timeoutMs: 60_000 })
  child.kill('SIGKILL')
  await exited
  const before = simulator.stats.tokensIssued
  assert.ok(before >= 30 && before < 80, `killed half-way (after ${before} tokens)`)

  const listedAfterKill = await vkey(['list', '--json'], env)
  assert.equal(listedAfterKill.code, 0, `the store parses after the kill: ${listedAfterKill.stderr}`)

  const resumed = await vkey(['batch', ...files, '--duration', '4h', '--concurrency', '4', '--json'], env)
  assert.equal(resumed.code, 0, resumed.stderr)
  const summary = JSON.parse(resumed.stdout) as BatchJson
  const kept = summary.skipped.length + summary.reused.length
  assert.equal(summary.issued.length + kept, 80, 'every vehicle has a key after the resume')
  // A key is recorded in the same step PSA's answer is read: only what the killed process
  // had in flight (at most the concurrency, 4) can have been issued and not recorded.
  assert.ok(kept >= before - 4, `vehicles that got a key before the kill are left alone by the resumed batch, not sent again (${kept})`)
  assert.ok(simulator.stats.tokensIssued <= 80 + 4, `server issued ${simulator.stats.tokensIssued}`)
  // What it left alone is reported with its key, as what it issued is: the output holds every vehicle's key to hand over.
  const reported = [...summary.issued, ...summary.reused, ...summary.skipped].filter((k) => k.access_token)
  assert.equal(new Set(reported.map((k) => k.vin)).size, 80, 'each vehicle has its key in the resumed batch --json')

  const listed = JSON.parse((await vkey(['list', '--json'], env)).stdout) as ListedRecord[]
  const perVin = countBy(listed, (r) => r.vin ?? '')
  assert.equal(perVin.size, 80)
  assert.ok(
    [...perVin.values()].every((n) => n === 1),
    'no vehicle lost, none doubled',
  )
  assert.ok(listed.every((r) => r.status === 'issued'))
})

test('a request made while the server is unreachable is queued, then sent exactly once when it comes back', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t, { restartable: true })
  const port = simulator.port
  const file = join(dataDir, '..', 'car.json')
  await writeFile(file, carDataJson(vinFor(7)))
  await simulator.close()

  const qr = join(dataDir, '..', 'car.png')
  const offline = await vkey(['token', '--cardata', file, '--duration', '2h', '--qr', qr, '--json'], env)
  assert.equal(offline.code, 6, offline.stderr)
  const id = /queued as ID (\S+);/.exec(offline.stderr)?.[1]
  assert.ok(id, offline.stderr)
  assert.equal((JSON.parse(offline.stdout) as { id: string }).id, id, '--json prints the queued request')
  assert.match(
    offline.stderr,
    /sent once by `vkey queue flush`, the app, or the next key request \(token or batch\) that reaches PSA; .*car\.png is written then/,
  )
  // The same request again while it waits: nothing new is queued; a script asking for JSON gets the queued request.
  const again = await vkey(['token', '--cardata', file, '--duration', '2h', '--qr', qr, '--json'], env)
  assert.equal(again.code, 6)
  assert.match(
    again.stderr,
    new RegExp(`already queued as ID ${id} for 2 h; .* To queue this request instead, run \`vkey queue cancel ${id}\`, then this command again\\.`),
  )
  const againJson = JSON.parse(again.stdout) as { status: string; id: string; qr: string }
  assert.deepEqual([againJson.status, againJson.id, againJson.qr], ['queued', id, qr])
  let listed = JSON.parse((await vkey(['list', '--json'], env)).stdout) as ListedRecord[]
  assert.deepEqual(
    listed.map((r) => r.status),
    ['queued'],
  )
  const queue = JSON.parse((await vkey(['queue', '--json'], env)).stdout) as { id: string; qr: string }[]
  assert.deepEqual(
    queue.map((q) => q.id),
    [id],
  )

  // `vkey queue flush --watch` keeps trying; once it has found the server down, the simulator
  // comes back on the same port (reserved for this test: nothing else takes it meanwhile).
  const watching = vkeyRunning(['queue', 'flush', '--watch', '--interval', '0.3'], env)
  await waitUntil(() => /1 still waiting for the network/.test(watching.stdout()), 'a first round with the server down')
  // It says why they wait: the address it tried.
  await waitUntil(() => new RegExp(`still waiting: .*:${port}\\b`).test(watching.stdout()), 'the reason, naming the address')
  const back = await startSimulator({ dir: simulator.material.dir, port })
  t.after(() => back.close())
  const flushed = await watching.done
  assert.equal(flushed.code, 0, flushed.stderr)
  assert.match(flushed.stdout, /1 sent/)
  listed = JSON.parse((await vkey(['list', '--json'], env)).stdout) as ListedRecord[]
  assert.deepEqual(
    listed.map((r) => r.status),
    ['issued'],
  )
  assert.equal(back.requests.length, 1, 'the server saw the POST exactly once')
  assert.equal((await stat(qr)).isFile(), true, 'the QR asked for with --qr was written when the key arrived')

  // Nothing left to send: a second flush sends nothing.
  await vkey(['queue', 'flush'], env)
  assert.equal(back.requests.length, 1)
})

test('a request queued with --new is sent as a new key later: the live key is neither handed out in its place nor counted as sent', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t, { restartable: true })
  const port = simulator.port
  const file = join(dataDir, '..', 'car.json')
  await writeFile(file, carDataJson(vinFor(8)))
  const first = await vkey(['token', '--cardata', file, '--duration', '2h', '--json'], env)
  assert.equal(first.code, 0, first.stderr)
  const firstToken = (JSON.parse(first.stdout) as { access_token: string }).access_token
  await simulator.close()

  const qr = join(dataDir, '..', 'new.png')
  const offline = await vkey(['token', '--cardata', file, '--duration', '2h', '--new', '--qr', qr], env)
  assert.equal(offline.code, 6, offline.stderr)
  // Another command while the server is still down: the queued --new stays queued, nothing is called sent.
  const other = join(dataDir, '..', 'other.json')
  await writeFile(other, carDataJson(vinFor(9)))
  const meanwhile = await vkey(['token', '--cardata', other, '--duration', '2h'], env)
  assert.equal(meanwhile.code, 6, meanwhile.stderr)
  assert.doesNotMatch(meanwhile.stderr, /[1-9]\d* sent|covered by a live key/)
  assert.equal((JSON.parse((await vkey(['queue', '--json'], env)).stdout) as unknown[]).length, 2)

  const back = await startSimulator({ dir: simulator.material.dir, port })
  t.after(() => back.close())
  const flushedDir = join(dataDir, '..', 'flushed')
  const flushed = await vkey(['queue', 'flush', '--out', flushedDir], env)
  assert.equal(flushed.code, 0, flushed.stderr)
  assert.match(flushed.stdout, /Queue: 2 sent, 0 refused, 0 still waiting/)
  assert.match(flushed.stdout, new RegExp(`QR codes: 2 in ${escapeRe(flushedDir)} \\(a new folder\\)`), 'a folder the flush made is said so')
  const payload = parseHandoverPayload((await run('zbarimg', ['--raw', '-q', qr], { encoding: 'utf8' })).stdout.trim())
  assert.notEqual(payload.accessToken, firstToken, 'the QR written for the queued --new holds a new key, not the live one')
  const listed = JSON.parse((await vkey(['list', '--json'], env)).stdout) as ListedRecord[]
  assert.deepEqual(
    listed
      .filter((r) => r.vin === vinFor(8))
      .map((r) => r.status)
      .sort(),
    ['issued', 'superseded'],
  )
})

test("an offline batch with --out: its queued IDs are the queue's, the flush writes their QR files there, and a simulator restarted on another port is followed", async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t)
  const files = await writeVehicleFiles(join(dataDir, '..', 'cars'), 3, 40)
  // One of the cars already has a key: its queued request is a record of its own.
  const first = JSON.parse((await vkey(['token', '--cardata', files[0]!, '--duration', '1h', '--json'], env)).stdout) as { id: string }
  await simulator.close()

  const out = join(dataDir, '..', 'qr')
  const batch = await vkey(['batch', ...files, '--duration', '6h', '--out', out, '--json'], env)
  assert.equal(batch.code, 6, batch.stderr)
  const queuedIds = (JSON.parse(batch.stdout) as { queued: string[] }).queued
  const queue = JSON.parse((await vkey(['queue', '--json'], env)).stdout) as { id: string; vin: string; qr: string | null }[]
  assert.deepEqual(queuedIds.toSorted(), queue.map((q) => q.id).toSorted(), 'the IDs `vkey queue cancel` takes')
  assert.ok(!queuedIds.includes(first.id), 'not the live key the car already had')
  assert.deepEqual(
    queue.map((q) => q.qr).toSorted(),
    [40, 41, 42].map((n) => join(out, `${vinFor(n)}.png`)),
    "each waits with its QR file's place",
  )
  const human = await vkey(['batch', ...files, '--duration', '6h', '--out', out], env)
  assert.match(
    human.stdout,
    new RegExp(`queued: PSA could not be reached; \`vkey queue flush\` sends them once and writes their QR codes to ${escapeRe(out)}\\.`),
  )

  // The simulator comes back on another port, as `vkey simulator` registers it: the simulator profile follows it.
  const back = await startSimulator({ dir: simulator.material.dir, port: 0 })
  t.after(() => back.close())
  assert.notEqual(back.baseUrl, simulator.baseUrl)
  await registerSimulator(dataDir, { baseUrl: back.baseUrl, dir: back.material.dir })
  const flushed = await vkey(['queue', 'flush'], env)
  assert.equal(flushed.code, 0, flushed.stderr)
  assert.match(flushed.stdout, /Queue: 3 sent, 0 refused, 0 still waiting/)
  // Car by car: the key and where its QR file went.
  for (const n of [40, 41, 42])
    assert.match(
      flushed.stdout,
      new RegExp(
        `^  sent: ${vinFor(n)} \\(handover \\S+\\), key until \\w{3} \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\S+; QR file ${escapeRe(join(out, `${vinFor(n)}.png`))}$`,
        'm',
      ),
    )
  assert.equal(back.requests.length, 3)
  for (const n of [40, 41, 42]) {
    const payload = parseHandoverPayload((await run('zbarimg', ['--raw', '-q', join(out, `${vinFor(n)}.png`)], { encoding: 'utf8' })).stdout.trim())
    assert.deepEqual([payload.vin, payload.env], [vinFor(n), 'simulator'], 'written by the flush, and marked as a simulator key like every other QR file')
  }
})

test('a batch with a newer export of a car whose key covers the window reuses the key and leaves no draft row behind', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t)
  const older = join(dataDir, '..', 'older.json')
  const newer = join(dataDir, '..', 'newer.json')
  await writeFile(older, carDataJson(vinFor(50)))
  await writeFile(newer, carDataJson(vinFor(50))) // the same car, exported again: other CarData
  assert.equal((await vkey(['token', '--cardata', older, '--duration', '8h'], env)).code, 0)
  const batch = await vkey(['batch', newer, '--duration', '2h'], env)
  assert.equal(batch.code, 0, batch.stderr)
  assert.match(batch.stdout, /0 issued, 0 renewed, 1 reused/)
  const listed = JSON.parse((await vkey(['list', '--json'], env)).stdout) as ListedRecord[]
  assert.deepEqual(
    listed.map((r) => [r.vin, r.status]),
    [[vinFor(50), 'issued']],
  )
  assert.equal(simulator.stats.tokensIssued, 1)
})

test('the same CarData under another file name: the renewed key names the file read this time, a reuse leaves no row', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t)
  const first = join(dataDir, '..', 'monday.json')
  const again = join(dataDir, '..', 'tuesday.json')
  await writeFile(first, carDataJson(vinFor(51)))
  await writeFile(again, await readFile(first, 'utf8')) // the same export, saved again under another name
  assert.equal((await vkey(['batch', first, '--duration', '2h'], env)).code, 0)
  const renewed = JSON.parse((await vkey(['batch', again, '--duration', '12h', '--json'], env)).stdout) as BatchJson
  assert.equal(renewed.renewed.length, 1)
  const shown = await vkey(['show', renewed.renewed[0]!.id], env)
  assert.match(shown.stdout, /from: +tuesday\.json/, shown.stdout)
  const live = (JSON.parse((await vkey(['list', '--json'], env)).stdout) as ListedRecord[]).find((r) => r.status === 'issued')!
  assert.equal(live.batch, renewed.batch_id, "the batch's ID in its --json is the one the list names")
  const reused = await vkey(['batch', first, '--duration', '1h'], env)
  assert.match(reused.stdout, /0 issued, 0 renewed, 1 reused/, reused.stdout)
  const listed = JSON.parse((await vkey(['list', '--json'], env)).stdout) as ListedRecord[]
  assert.deepEqual(listed.map((r) => r.status).sort(), ['issued', 'superseded'], 'no draft left by the reuse')
  assert.equal(simulator.stats.tokensIssued, 2)
})

test('a car exported without its VIN keeps one QR file in a batch folder: its renewal replaces it', async (t) => {
  const { env, dataDir } = await setupDepot(t)
  const car = join(dataDir, '..', 'no-vin.json')
  await writeFile(car, carDataJson())
  const out = join(dataDir, '..', 'qr')
  assert.equal((await vkey(['batch', car, '--duration', '2h', '--out', out], env)).code, 0)
  const renewed = await vkey(['batch', car, '--duration', '12h', '--out', out], env)
  assert.match(renewed.stdout, /1 renewed/, renewed.stdout)
  const files = await readdir(out)
  assert.equal(files.length, 1, files.join(', '))
  assert.match(files[0]!, /^no-vin-[\w-]{12}\.png$/)
  const [live] = (JSON.parse((await vkey(['list', '--json'], env)).stdout) as ListedRecord[]).filter((r) => r.status === 'issued')
  const payload = parseHandoverPayload((await run('zbarimg', ['--raw', '-q', join(out, files[0]!)], { encoding: 'utf8' })).stdout.trim())
  const shown = JSON.parse((await vkey(['show', live!.id, '--json'], env)).stdout) as { access_token: string }
  assert.equal(payload.accessToken, shown.access_token, 'the file holds the live key')
})

test('issued tokens are shown, exported as QR and packed with the simulator stopped; the audit has no secret; the data folder holds nothing in clear', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t)
  const files = await writeVehicleFiles(join(dataDir, '..', 'cars'), 3)
  const batch = JSON.parse((await vkey(['batch', ...files, '--duration', '8h', '--json'], env)).stdout) as BatchJson
  assert.equal(batch.issued.length, 3)
  const tokens = batch.issued.map((i) => i.access_token)
  await simulator.close()

  const out = join(dataDir, '..', 'out')
  await mkdir(out)
  const first = batch.issued[0]!
  const shown = await vkey(['show', first.id, '--qr', join(out, 'one.svg'), '--json'], env)
  assert.equal(shown.code, 0, shown.stderr)
  assert.equal((JSON.parse(shown.stdout) as { access_token: string }).access_token, first.access_token)
  assert.match(await readFile(join(out, 'one.svg'), 'utf8'), /<svg/)
  const png = await vkey(['show', first.id, '--qr', join(out, 'one.png')], env)
  assert.equal(png.code, 0)
  const { stdout: scanned } = await run('zbarimg', ['--raw', '-q', join(out, 'one.png')])
  assert.equal(parseHandoverPayload(scanned.trim()).accessToken, first.access_token)

  const pack = await vkey(['pack', '--all-valid', '--out', join(out, 'pack.pdf')], env)
  assert.equal(pack.code, 0, pack.stderr)
  assert.match(pack.stdout, /3 pages/)
  // The same key named twice (by ID and by VIN) is one page; a pack is a .pdf, not a .txt holding a PDF.
  const twice = await vkey(['pack', first.id, first.vin, '--out', join(out, 'twice.pdf')], env)
  assert.match(twice.stdout, /\(1 page\)/, twice.stderr)
  const text = await vkey(['pack', '--all-valid', '--out', join(out, 'pack.txt')], env)
  assert.equal(text.code, 2)
  assert.match(text.stderr, /--out .*pack\.txt: a pack is a PDF; give a file name ending in \.pdf/)
  // A key given to its driver, by VIN: marked so, and a pack of all valid keys leaves it out.
  const given = batch.issued[2]!
  const handed = await vkey(['handed-over', given.vin], env)
  assert.equal(handed.code, 0, handed.stderr)
  assert.match(handed.stdout, new RegExp(`^${given.vin} \\(handover ${given.id}\\): marked handed over`))
  const listedNow = JSON.parse((await vkey(['list', '--json'], env)).stdout) as ListedRecord[]
  assert.equal(listedNow.find((r) => r.id === given.id)?.status, 'handed-over')
  // Said twice (the driver came back to the desk): it already is, nothing changes.
  const again = await vkey(['handed-over', given.id], env)
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stdout, new RegExp(`^${given.vin} \\(handover ${given.id}\\): already marked handed over on .+\\.$`, 'm'))
  const none = await vkey(['handed-over'], env)
  assert.equal(none.code, 2)
  assert.match(none.stderr, /vkey handed-over: give the ID, ID prefix or VIN of each key/)
  const smaller = await vkey(['pack', '--all-valid', '--out', join(out, 'pack-2.pdf')], env)
  assert.match(smaller.stdout, /2 pages/)
  await run('pdftoppm', ['-r', '100', '-png', '-f', '2', '-l', '2', join(out, 'pack.pdf'), join(out, 'page')])
  const pages = (await filesUnder(out)).filter((f) => /page-\d+\.png$/.test(f.path))
  assert.equal(pages.length, 1)
  const { stdout: pageScan } = await run('zbarimg', ['--raw', '-q', pages[0]!.path])
  assert.ok(tokens.includes(parseHandoverPayload(pageScan.trim()).accessToken), 'page 2 of the pack scans to one of the issued tokens')
  const { stdout: pdfText } = await run('pdftotext', [join(out, 'pack.pdf'), '-'])
  assert.match(pdfText, /car key/)
  assert.match(pdfText, /VF3TEST/)

  const audit = await vkey(['audit', '--csv', join(out, 'audit.csv')], env)
  assert.equal(audit.code, 0)
  const csv = await readFile(join(out, 'audit.csv'), 'utf8')
  assert.match(csv.split('\r\n')[0]!, /^time,time_local,handover_id,technician,profile,vin/)
  assert.equal(csv.trim().split('\r\n').length, 4)
  for (const token of tokens) assert.ok(!csv.includes(token), 'no token in the audit')

  const secrets = [...tokens, simulator.material.credentials.password, simulator.material.credentials.p12Passphrase]
  assert.deepEqual(await findSecretsInClear(dataDir, secrets), [])
  for (const file of await filesUnder(dataDir)) assert.equal(file.mode, 0o600, `${file.path} is 0600`)

  // Every valid key handed over: the pack says so and how to print one again (not to request tokens).
  await vkey(['handed-over', batch.issued[0]!.id, batch.issued[1]!.id], env)
  const empty = await vkey(['pack', '--all-valid', '--out', join(out, 'empty.pdf')], env)
  assert.match(empty.stderr, /Every valid key \(3\) is marked handed over.*`vkey pack ID… --out PACK\.pdf`/)
  const reprinted = await vkey(['pack', batch.issued[0]!.id, '--out', join(out, 'again.pdf')], env)
  assert.equal(reprinted.code, 0, reprinted.stderr)
})

test('expired tokens are erased at start-up and the record stays, marked expired', async (t) => {
  const { dataDir, depot } = await setupDepot(t)
  const [record] = await depot.addVehicles({
    vehicles: [{ source: 'car.json', index: 0, vin: vinFor(11), carData: 'AAAA', carDataSignature: 'BBBB' }],
    issues: [],
  })
  const { record: issued } = await depot.requestToken(record!.id, { kind: 'seconds', seconds: 3600 })
  assert.equal(issued.status, 'issued')
  assert.ok(issued.sealedToken)

  // Two hours later, the app starts.
  const later = () => new Date(Date.now() + 2 * 3600_000)
  const handlers = await testHandlers(t, dataDir, { now: later })
  const stored = await (await handlers.depot.handovers()).get(record!.id)
  assert.equal(stored.status, 'expired')
  assert.equal(stored.sealedToken, undefined, 'the token material is gone')
  assert.equal(stored.vin, vinFor(11), 'the record stays for the history')
  const detail = await handlers['handovers:get']({ id: record!.id })
  assert.equal(detail.token, undefined)
})

test('"plan for": the duration is computed when the request goes out so the token covers the planned window', async (t) => {
  const { depot } = await setupDepot(t)
  const [record] = await depot.addVehicles({
    vehicles: [{ source: 'car.json', index: 0, vin: vinFor(12), carData: 'AAAA', carDataSignature: 'BBBB' }],
    issues: [],
  })
  const start = new Date(Date.now() + 2 * 3600_000).toISOString()
  const { record: issued } = await depot.requestToken(record!.id, { kind: 'plan', start, seconds: 3600 })
  assert.ok(Math.abs((issued.durationSeconds ?? 0) - 3 * 3600) <= 2, `asked for ${issued.durationSeconds} s: two hours until the handover plus one of use`)
  assert.equal(summaryOf(issued).coversPlan, true)
  // A token that ends before the planned window does is flagged.
  const short = { ...issued, expires: new Date(Date.parse(issued.plannedEnd!) - 600_000).toISOString() }
  assert.equal(summaryOf(short).coversPlan, false)
})

test('a second process using the same data folder sees the same handovers (the app and vkey share it)', async (t) => {
  const { dataDir, depot, env } = await setupDepot(t)
  await depot.addVehicles({ vehicles: [{ source: 'a.json', index: 0, vin: vinFor(13), carData: 'AAAA', carDataSignature: 'BBBB' }], issues: [] })
  const other = await Depot.open({ dataDir, store: openStore(dataDir) })
  t.after(() => other.close())
  assert.equal((await (await other.handovers()).list()).length, 1)
  const listed = JSON.parse((await vkey(['list', '--json'], env)).stdout) as ListedRecord[]
  assert.equal(listed[0]?.vin, vinFor(13))
})

test('a connection lost after the request was sent is not queued for a resend: the handover fails and says a token may exist', async (t) => {
  const { depot, simulator } = await setupDepot(t)
  const [record] = await depot.addVehicles({
    vehicles: [{ source: 'car.json', index: 0, vin: vinFor(14), carData: 'AAAA', carDataSignature: 'BBBB' }],
    issues: [],
  })
  simulator.faults.statuses.push('reset')
  await assert.rejects(depot.requestToken(record!.id, { kind: 'seconds', seconds: 3600 }), (error: Error & { code?: string }) => error.code === 'network.lost')
  const stored = await (await depot.handovers()).get(record!.id)
  assert.equal(stored.status, 'failed')
  assert.match(stored.error?.message ?? '', /token may have been issued/)
  assert.deepEqual(await depot.queue.flush(), { sent: 0, reused: 0, stillQueued: 0, failed: 0, failures: [], keys: [], qrFiles: [], qrErrors: [], noRoom: [] })
  assert.equal(simulator.requests.length, 1, 'the POST was sent exactly once')
})

test('a request cancelled before it was sent says no key exists: `vkey list` does not flag it and asking again warns of nothing', async (t) => {
  const { depot, simulator, env, dataDir } = await setupDepot(t)
  const file = join(dataDir, '..', 'car.json')
  await writeFile(file, carDataJson(vinFor(15)))
  const [record] = await depot.addVehicles({
    vehicles: [{ source: 'car.json', index: 0, vin: vinFor(15), carData: 'AAAA', carDataSignature: 'BBBB' }],
    issues: [],
  })
  const cancel = depot.requestToken(record!.id, { kind: 'seconds', seconds: 3600 }, { signal: AbortSignal.abort() })
  await assert.rejects(cancel, (error: Error & { code?: string }) => error.code === 'cancelled')
  assert.equal(simulator.requests.length, 0, 'nothing was sent')
  const stored = await (await depot.handovers()).get(record!.id)
  assert.equal(stored.status, 'draft')
  assert.equal(stored.error?.message, 'Cancelled before PSA could issue a key: none exists for this request.')

  const listed = JSON.parse((await vkey(['list', '--json'], env)).stdout) as { id: string; may_have_issued: boolean }[]
  assert.equal(listed.find((r) => r.id === record!.id)?.may_have_issued, false)
  const again = await vkey(['token', '--cardata', file, '--duration', '1h'], env)
  assert.equal(again.code, 0, again.stderr)
  assert.doesNotMatch(again.stderr, /cut off|may have issued/)
  assert.equal(simulator.requests.length, 1)
})

test('the app resumes a batch that a killed vkey process left unfinished, without a second token for any vehicle', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t, { latencyMs: 40 })
  const files = await writeVehicleFiles(join(dataDir, '..', 'cars'), 40)
  const child = spawn(process.execPath, [join(ROOT, 'scripts/vkey.mjs'), 'batch', ...files, '--duration', '4h', '--concurrency', '2'], { env, stdio: 'ignore' })
  const exited = new Promise((resolve) => child.on('exit', resolve))
  await waitUntil(() => simulator.stats.tokensIssued >= 10, 'the first 10 keys', { timeoutMs: 60_000 })
  child.kill('SIGKILL')
  await exited

  let finished: (progress: { done: number; total: number; failed: number }) => void = () => undefined
  const done = new Promise<{ done: number; total: number; failed: number }>((resolve) => (finished = resolve))
  const handlers = await testHandlers(t, dataDir, {
    emit: (event, payload) => {
      if (event === 'batch:progress' && !(payload as { running: boolean }).running) finished(payload as { done: number; total: number; failed: number })
    },
  })
  const progress = await done
  assert.deepEqual({ done: progress.done, total: progress.total, failed: progress.failed }, { done: 40, total: 40, failed: 0 })
  const records = await (await handlers.depot.handovers()).list()
  assert.equal(records.length, 40)
  assert.ok(records.every((r) => r.status === 'issued'))
  assert.ok(simulator.stats.tokensIssued <= 40 + 3 * 2, `server issued ${simulator.stats.tokensIssued} (at most the 2 in flight and 4 unstored twice)`)
})

/**
 * The files as a batch of 8 h keys, one request at a time, cancelled once two keys are
 * recorded (as Ctrl-C does); one request may be in flight then.
 */
async function batchCancelledAfterTwoKeys(depot: Depot, files: string[]): Promise<BatchOutcome> {
  const records = await depot.addVehicles(await importCarDataFiles(files))
  const stop = new AbortController()
  let keys = 0
  const outcome = await new BatchRunner(depot).run(
    records.map((r) => r.id),
    { kind: 'seconds', seconds: 8 * 3600 },
    { concurrency: 1, signal: stop.signal, onKey: () => ++keys === 2 && stop.abort() },
  )
  assert.equal(outcome.cancelled, true)
  return outcome
}

test('running a cancelled batch again minutes later resumes it: the keys it got are not asked again, and their QR files are written', async (t) => {
  const { env, dataDir, simulator, depot } = await setupDepot(t)
  const files = await writeVehicleFiles(join(dataDir, '..', 'resume-cars'), 4, 40)
  const first = await batchCancelledAfterTwoKeys(depot, files)
  const kept = first.issued.length
  assert.ok(kept >= 2, `${kept} keys recorded before the cancel`)

  // "Cancelled: run the same command again to resume" — six minutes later, past any cover tolerance.
  const later = () => new Date(Date.now() + 6 * 60_000)
  const out = join(dataDir, '..', 'resume-qr')
  const again = await vkey(['batch', ...files, '--duration', '8h', '--out', out], env, '', later)
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stdout, new RegExp(`: ${4 - kept} issued, 0 renewed, .*, ${kept} left alone by the resumed batch\\.`))
  assert.match(again.stderr, new RegExp(`vkey batch: 4/4 \\(100 %\\): ${4 - kept} issued, .*, ${kept} left alone\\n$`), 'the progress ends at the whole')
  const listed = JSON.parse((await vkey(['list', '--json'], env)).stdout) as { vin: string; status: string }[]
  assert.equal(listed.filter((r) => r.status === 'issued').length, 4, 'one live key per car')
  assert.equal(listed.filter((r) => r.status === 'superseded').length, 0, 'nothing renewed')
  assert.deepEqual((await readdir(out)).sort(), files.map((_, i) => `${vinFor(40 + i)}.png`).sort(), 'a QR file for every car, kept keys included')
  assert.ok(simulator.stats.tokensIssued <= 5, `PSA issued ${simulator.stats.tokensIssued}: four keys and at most the one cut off`)
})

test('a resumed batch leaves alone the vehicles its first run served with a live key, even once that key falls short of the new window', async (t) => {
  const { env, dataDir, simulator, depot } = await setupDepot(t)
  const files = await writeVehicleFiles(join(dataDir, '..', 'reuse-cars'), 3, 90)
  // The first car already has a live key: the batch reuses it.
  assert.equal((await vkey(['token', '--cardata', files[0]!, '--duration', '8h'], env)).code, 0)
  const first = await batchCancelledAfterTwoKeys(depot, files)
  assert.equal(first.reused.length, 1)
  const issuedBefore = simulator.stats.tokensIssued

  // Resumed a quarter of an hour later: the reused key now ends 15 min short of the window, past the 10 min that reuse allows.
  const later = () => new Date(Date.now() + 15 * 60_000)
  const out = join(dataDir, '..', 'reuse-qr')
  const again = await vkey(['batch', ...files, '--duration', '8h', '--out', out], env, '', later)
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stdout, /, 2 left alone by the resumed batch\./)
  const listed = JSON.parse((await vkey(['list', '--json'], env)).stdout) as { vin: string; status: string }[]
  assert.deepEqual(
    listed.filter((r) => r.status === 'superseded'),
    [],
    'nothing renewed',
  )
  assert.equal(listed.filter((r) => r.vin === vinFor(90) && r.status === 'issued').length, 1, 'one live key for the first car')
  assert.ok(simulator.stats.tokensIssued - issuedBefore <= 1, 'only the car the first run did not reach was asked for')
  assert.deepEqual((await readdir(out)).sort(), files.map((_, i) => `${vinFor(90 + i)}.png`).sort(), 'a QR file for every car, the reused key included')
})

test('a resumed batch --json lists a key handed over since as left alone without its token, and writes no QR file for it', async (t) => {
  const { env, dataDir, depot } = await setupDepot(t)
  const files = await writeVehicleFiles(join(dataDir, '..', 'given-cars'), 3, 96)
  const first = await batchCancelledAfterTwoKeys(depot, files)
  const [given, kept] = first.issued
  assert.ok(given && kept, 'two keys recorded before the cancel')
  assert.equal((await vkey(['handed-over', given], env)).code, 0)

  const out = join(dataDir, '..', 'given-qr')
  const again = await vkey(['batch', ...files, '--duration', '8h', '--out', out, '--json'], env)
  assert.equal(again.code, 0, again.stderr)
  const summary = JSON.parse(again.stdout) as BatchJson
  const skipped = new Map(summary.skipped.map((s) => [s.id, s]))
  assert.deepEqual([skipped.get(given)?.status, skipped.get(given)?.access_token], ['handed-over', null], 'handed over: no token to hand out again')
  assert.equal(skipped.get(kept)?.status, 'issued')
  assert.ok(skipped.get(kept)?.access_token, 'the key still to hand over is reported with its token')
  const givenVin = (await (await depot.handovers()).get(given)).vin
  assert.ok(!(await readdir(out)).includes(`${givenVin}.png`), 'no QR file for the key already handed over')
  assert.equal((await readdir(out)).length, 2)
})

test('a live key is reused only for the profile it was issued with: another profile gets a key of its own', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t)
  const file = join(dataDir, '..', 'car.json')
  await writeFile(file, carDataJson(vinFor(95)))
  assert.equal((await vkey(['token', '--cardata', file, '--duration', '8h'], env)).code, 0)
  const added = await vkey(['profile', 'add', 'other', '--env', 'simulator'], env)
  assert.equal(added.code, 0, added.stderr)
  const other = await vkey(['token', '--cardata', file, '--duration', '1h', '--profile', 'other'], env)
  assert.equal(other.code, 0, other.stderr)
  assert.equal(simulator.stats.tokensIssued, 2, 'a key of its own for the other profile, not the first one handed over again')
  const listed = JSON.parse((await vkey(['list', '--json'], env)).stdout) as { profile: string; status: string }[]
  assert.deepEqual(listed.map((r) => `${r.profile} ${r.status}`).sort(), ['other issued', 'sim superseded'])
  // The same profile again reuses its own key.
  assert.equal((await vkey(['token', '--cardata', file, '--duration', '1h', '--profile', 'other'], env)).code, 0)
  assert.equal(simulator.stats.tokensIssued, 2)
})

test('the same command run again minutes later reuses its keys (saying how much short they end) instead of renewing them; a window longer by more than the tolerance renews', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t)
  const files = await writeVehicleFiles(join(dataDir, '..', 'rerun-cars'), 3, 60)
  assert.equal((await vkey(['batch', ...files, '--duration', '8h'], env)).code, 0)
  assert.equal(simulator.stats.tokensIssued, 3)
  const later = (minutes: number) => () => new Date(Date.now() + minutes * 60_000)
  const again = await vkey(['batch', ...files, '--duration', '8h'], env, '', later(3))
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stdout, /: 0 issued, 0 renewed, 3 reused/)
  const token = await vkey(['token', '--cardata', files[0]!, '--duration', '8h'], env, '', later(4))
  assert.equal(token.code, 0, token.stderr)
  assert.match(
    token.stderr,
    new RegExp(
      `^vkey: ${vinFor(60)} already has a key until .+ \\(handover \\S+\\), about 4 min short of the window asked \\(until .+\\), which is close enough to keep it: nothing was sent\\.`,
    ),
  )
  assert.equal(simulator.stats.tokensIssued, 3, 'no second key for a car that has one')
  // Half an hour later the 8 h keys end well short of a new 8 h window: that is a renewal, said as one.
  const renewed = await vkey(['token', '--cardata', files[1]!, '--duration', '8h'], env, '', later(30))
  assert.equal(renewed.code, 0, renewed.stderr)
  assert.match(renewed.stdout, /^(Token renewed|New token) for/) // the simulator's clock is not moved: only the request is new
  assert.equal(simulator.stats.tokensIssued, 4)
})

test('a token that ends before its planned window is flagged in the list and by the app', async (t) => {
  const { env, dataDir, simulator, depot } = await setupDepot(t)
  const [record] = await depot.addVehicles({
    vehicles: [{ source: 'car.json', index: 0, vin: vinFor(15), carData: 'AAAA', carDataSignature: 'BBBB' }],
    issues: [],
  })
  // PSA granted less than asked (a server-side policy): one hour instead of three.
  simulator.faults.maxGrantSeconds = 3600
  const start = new Date(Date.now() + 2 * 3600_000).toISOString()
  const { record: issued } = await depot.requestToken(record!.id, { kind: 'plan', start, seconds: 3600 })
  assert.equal(issued.status, 'issued')
  const handlers = await testHandlers(t, dataDir)
  const [summary] = (await handlers['handovers:list'](undefined)).handovers
  assert.equal(summary?.coversPlan, false)
  const listed = await vkey(['list'], env)
  assert.match(listed.stdout, /key ends before the planned window/)
  const json = JSON.parse((await vkey(['list', '--json'], env)).stdout) as { covers_plan: boolean }[]
  assert.equal(json[0]?.covers_plan, false)

  // The command line says so when the key is issued, never silently shorter than asked.
  const car = join(dataDir, '..', 'short.json')
  await writeFile(car, carDataJson(vinFor(16)))
  const token = await vkey(['token', '--cardata', car, '--duration', '8h'], env)
  assert.equal(token.code, 0, token.stderr)
  assert.match(token.stderr, /vkey: warning: PSA granted a key until .+, shorter than asked \(until .+\)\. It is kept as issued; ask again with --new/)
  const cars = await writeVehicleFiles(join(dataDir, '..', 'short-cars'), 2, 17)
  const batch = await vkey(['batch', ...cars, '--duration', '8h'], env)
  assert.equal(batch.code, 0, batch.stderr)
  assert.match(batch.stdout, new RegExp(`\\n  shorter: PSA granted 2 keys ending before the window asked \\(${vinFor(17)}, ${vinFor(18)}\\)`))
  simulator.faults.maxGrantSeconds = null
  const full = await vkey(['token', '--cardata', car, '--duration', '30m', '--new'], env)
  assert.doesNotMatch(full.stderr, /shorter than asked/, 'a key that covers the window is not flagged')
})

test('a batch never merges cars silently: the same file twice is one request (said so); the same CarData under another VIN is refused, in the batch and against the ledger', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t)
  const dir = join(dataDir, '..', 'cars')
  await mkdir(dir)
  // One car's export, and copies of it with the VIN edited (what a hurried copy-and-edit makes).
  const original = JSON.parse(carDataJson(vinFor(1))) as Record<string, unknown>
  const files: string[] = []
  for (const n of [1, 2, 3]) {
    const path = join(dir, `car-${n}.json`)
    await writeFile(path, JSON.stringify({ ...original, vin: vinFor(n) }))
    files.push(path)
  }
  const out = join(dataDir, '..', 'qr')
  const batch = await vkey(['batch', files[0]!, files[0]!, files[1]!, files[2]!, '--duration', '2h', '--out', out], env)
  assert.equal(batch.code, 2, batch.stderr)
  assert.match(
    batch.stderr,
    new RegExp(`vkey batch: ${escapeRe(files[0]!)} holds the same vehicle \\(${vinFor(1)}\\) as ${escapeRe(files[0]!)}: one request for both\\.`),
  )
  for (const n of [2, 3]) {
    assert.match(
      batch.stdout,
      new RegExp(
        `failed: ${escapeRe(files[n - 1]!)} \\(vin\\): .*VIN ${vinFor(n)}, but ${escapeRe(files[0]!)} holds the same CarData with VIN ${vinFor(1)}\\. CarData belongs to one car`,
      ),
    )
  }
  assert.match(batch.stdout, /1 issued/)
  assert.match(batch.stdout, new RegExp(`QR codes: 1 in ${escapeRe(out)} \\(a new folder\\)`))
  assert.equal(simulator.stats.tokensIssued, 1, 'one request, for the one car the CarData is')
  // A mistyped --out two folders deep is refused before anything is sent, not created.
  const deep = join(dataDir, '..', 'qr-typo', 'today')
  const refused = await vkey(['batch', files[0]!, '--duration', '2h', '--out', deep], env)
  assert.equal(refused.code, 2)
  assert.match(
    refused.stderr,
    /--out .*today: its parent folder .*qr-typo does not exist\. Create it first \(mkdir -p\) or choose another folder; nothing was sent\./,
  )
  assert.equal(simulator.stats.tokensIssued, 1)
  // A file name given to --out (`vkey token --qr`'s habit) is not made into a folder.
  const asFile = await vkey(['batch', files[0]!, '--duration', '2h', '--out', join(dataDir, '..', 'car.png')], env)
  assert.equal(asFile.code, 2)
  assert.match(
    asFile.stderr,
    /--out .*car\.png: no such folder, and the name reads as a file's\. --out takes a folder .*\(e\.g\. --out qr\); nothing was sent\./,
  )
  assert.equal(existsSync(join(dataDir, '..', 'car.png')), false)
  assert.equal(simulator.stats.tokensIssued, 1)
  assert.deepEqual(await readdir(out), [`${vinFor(1)}.png`], 'no QR file carries another car’s VIN')

  // Against the ledger: that CarData is recorded for car 1; a later file giving it another VIN is refused too.
  const later = await vkey(['batch', files[2]!, '--duration', '2h', '--json'], env)
  assert.equal(later.code, 2)
  const json = JSON.parse(later.stdout) as BatchJson
  assert.equal(json.failed.length, 1)
  assert.match(json.failed[0]!.message, new RegExp(`VIN ${vinFor(3)}, but its CarData is already recorded for ${vinFor(1)} \\(handover \\S+\\)`))
  assert.equal(simulator.stats.tokensIssued, 1, 'nothing sent')
})
