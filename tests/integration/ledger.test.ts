/**
 * The ledger of keys (issue "Every key accounted for"): every key PSA issued is recorded
 * once, never overwritten, never silently shorter than asked — through `vkey token`,
 * `vkey batch`, two processes at once, the app's handlers, the offline queue, bad answers
 * and a full disk. Real simulator over mutual TLS, real keychain, real zbarimg.
 */
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { test } from 'node:test'
import { parseHandoverPayload } from '../../shared/qr-payload'
import { carDataJson, ROOT, setupDepot, testHandlers, vinFor, vkey, vkeyProcess, vkeyRunning, writeVehicleFiles, type CliResult } from '../helpers/depot-env'
import { waitUntil } from '../helpers/wait'

const run = promisify(execFile)

interface KeyJson {
  id: string
  vin: string
  access_token: string
  expires: string
  qr?: string
}
interface BatchJson {
  counts: { issued: number; renewed: number; reused: number; queued: number; failed: number }
  issued: KeyJson[]
  renewed: KeyJson[]
  reused: KeyJson[]
}
interface Listed {
  id: string
  vin: string | null
  status: string
  expires: string | null
  superseded_by: string | null
  still_valid_at_psa: boolean
  longer_than_asked: boolean
}

const list = async (env: NodeJS.ProcessEnv) => JSON.parse((await vkey(['list', '--json'], env)).stdout) as Listed[]
const keysIn = (listed: Listed[]) => listed.filter((r) => r.expires !== null)

async function scan(file: string): Promise<string> {
  const { stdout } = await run('zbarimg', ['--raw', '-q', file], { encoding: 'utf8' })
  return stdout.trim()
}

test('batch 8 h then 2 d renews every key (QRs are the 2-day keys, old ones superseded); then 1 h reuses them with zero requests', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t)
  const files = await writeVehicleFiles(join(dataDir, '..', 'cars'), 4)
  const first = await vkey(['batch', ...files, '--duration', '8h', '--out', join(dataDir, '..', 'qr'), '--json'], env)
  assert.equal(first.code, 0, first.stderr)
  assert.equal((JSON.parse(first.stdout) as BatchJson).counts.issued, 4)

  const qr2 = join(dataDir, '..', 'qr2')
  const second = await vkey(['batch', ...files, '--duration', '2d', '--out', qr2, '--json'], env)
  assert.equal(second.code, 0, second.stderr)
  const renewed = JSON.parse(second.stdout) as BatchJson
  assert.deepEqual(renewed.counts, { issued: 0, renewed: 4, reused: 0, queued: 0, failed: 0 })
  assert.equal(simulator.stats.tokensIssued, 8)
  for (const key of renewed.renewed) {
    const hours = (Date.parse(key.expires) - Date.now()) / 3600_000
    assert.ok(hours > 47, `the renewed key lives two days (${hours.toFixed(1)} h)`)
    const payload = parseHandoverPayload(await scan(key.qr!))
    assert.equal(payload.accessToken, key.access_token, 'the QR in qr2/ is the 2-day key')
  }
  const listed = await list(env)
  const superseded = listed.filter((r) => r.status === 'superseded')
  assert.equal(superseded.length, 4, 'the 8-hour keys stay in the ledger, superseded')
  assert.ok(superseded.every((r) => r.still_valid_at_psa && r.superseded_by))
  assert.equal(keysIn(listed).length, 8, 'one entry per key PSA issued')

  const human = await vkey(['list'], env)
  assert.match(human.stdout, /superseded by \S+; still valid at PSA until/)

  const third = await vkey(['batch', ...files, '--duration', '1h', '--json'], env)
  assert.deepEqual((JSON.parse(third.stdout) as BatchJson).counts, { issued: 0, renewed: 0, reused: 4, queued: 0, failed: 0 })
  assert.equal(simulator.stats.tokensIssued, 8, 'a key that covers the window is reused: nothing sent')
  const plain = await vkey(['batch', ...files, '--duration', '1h'], env)
  assert.match(plain.stdout, /0 issued, 0 renewed, 4 reused, 0 queued, 0 failed/)
  // Two-day keys reused for a 1 h batch: each is named with its end, and how to get one of the length asked.
  const advice =
    /\n {2}longer: (VF3TEST\d{10} \(until [^)]+\)(, )?){4} reused a key that works beyond the window asked: whoever takes it can open the car until then, and PSA cannot revoke it\. For keys of the length asked, ask for each again:\n((?: {4}vkey token .*\n){4})/.exec(
      plain.stdout,
    )
  assert.ok(advice, plain.stdout)
  // The commands it prints work as printed: a 1 h key for each, the 2-day ones superseded (still valid at PSA).
  for (const line of advice[3]!.trim().split('\n')) {
    assert.match(line, /^ *vkey token --cardata \S+car-\d\.json --vin VF3TEST\d{10} --duration 1h --new$/)
    const again = await vkey(line.trim().split(' ').slice(1), env)
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /^New token for VF3TEST\d{10} /, 'a shorter key than the live one: a new token, not a renewal')
  }
  assert.equal(simulator.stats.tokensIssued, 12)
  const hourKeys = keysIn(await list(env)).filter((r) => r.status === 'issued')
  assert.equal(hourKeys.length, 4)
  assert.ok(
    hourKeys.every((r) => Date.parse(r.expires!) - Date.now() < 3700_000),
    'the live keys are the 1 h ones',
  )

  const pack = await vkey(['pack', '--all-valid', '--out', join(dataDir, '..', 'pack.pdf')], env)
  assert.match(pack.stdout, /\(4 pages\)/, 'superseded keys are left out of the pack')
})

test('token twice reuses the live key; --new asks for another and supersedes the first', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t)
  const file = join(dataDir, '..', 'car.json')
  await writeFile(file, carDataJson(vinFor(1)))
  const first = await vkey(['token', '--cardata', file, '--duration', '8h', '--json'], env)
  assert.equal(first.code, 0, first.stderr)
  const again = await vkey(['token', '--cardata', file, '--duration', '2h', '--json'], env)
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stderr, /VF3TEST0000000001 already has a key until .+ \(handover \S+\) that covers the window: nothing was sent/)
  // The 8 h key is handed over for a 2 h request: said, with what it means.
  assert.match(
    again.stderr,
    /vkey: warning: the key reused works about 6 h longer than asked \(until .+\): whoever takes it can open the car until .+, and PSA cannot revoke it\. Hand it over only if that is meant; --new asks PSA for a key of the length asked\./,
  )
  assert.equal((JSON.parse(again.stdout) as KeyJson).access_token, (JSON.parse(first.stdout) as KeyJson).access_token)
  assert.equal(simulator.stats.tokensIssued, 1)

  const fresh = await vkey(['token', '--cardata', file, '--duration', '2h', '--new', '--json'], env)
  assert.equal(fresh.code, 0, fresh.stderr)
  assert.equal(simulator.stats.tokensIssued, 2)
  assert.notEqual((JSON.parse(fresh.stdout) as KeyJson).access_token, (JSON.parse(first.stdout) as KeyJson).access_token)
  assert.match(fresh.stderr, /is superseded; it stays valid at PSA until/)
  const statuses = keysIn(await list(env))
    .map((r) => r.status)
    .sort()
  assert.deepEqual(statuses, ['issued', 'superseded'])
  // The superseded key gets no pack page, and the message names the key that replaced it.
  const firstId = (JSON.parse(first.stdout) as KeyJson).id
  const freshId = (JSON.parse(fresh.stdout) as KeyJson).id
  const packed = await vkey(['pack', firstId, '--out', join(dataDir, '..', 'old.pdf')], env)
  assert.notEqual(packed.code, 0)
  assert.ok(packed.stderr.includes(`(handover ${firstId}) was superseded by handover ${freshId}: pack that one`), packed.stderr)
  // The VIN names the car's live key, though the car has an older one too.
  const byVin = await vkey(['show', vinFor(1), '--json'], env)
  assert.equal(byVin.code, 0, byVin.stderr)
  assert.equal((JSON.parse(byVin.stdout) as KeyJson).id, freshId)

  const longer = await vkey(['token', '--cardata', file, '--duration', '1d', '--json'], env)
  assert.equal(simulator.stats.tokensIssued, 3, 'a live key shorter than the window is renewed, never handed out')
  assert.ok(Date.parse((JSON.parse(longer.stdout) as KeyJson).expires) > Date.now() + 23 * 3600_000)
  // Said as it is: a longer key renews, a shorter one asked with --new is a new key beside a longer one still valid.
  const shorter = await vkey(['token', '--cardata', file, '--duration', '2h', '--new'], env)
  assert.match(shorter.stdout, /^New token for VF3TEST0000000001/m, shorter.stdout)
  assert.match(shorter.stderr, /is superseded; it stays valid at PSA until/)
  const renewed = await vkey(['token', '--cardata', file, '--duration', '3d'], env)
  assert.match(renewed.stdout, /^Token renewed for VF3TEST0000000001/m, renewed.stdout)
})

test('two vkey batch processes on the same 10 files at 300 ms latency: the simulator issues exactly 10 keys and both hand out the same ones', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t, { latencyMs: 300 })
  const files = await writeVehicleFiles(join(dataDir, '..', 'cars'), 10)
  const args = ['batch', ...files, '--duration', '8h', '--concurrency', '4', '--json']
  const [a, b] = await Promise.all([vkeyProcess(args, env), vkeyProcess(args, env)])
  assert.equal(a.code, 0, a.stderr)
  assert.equal(b.code, 0, b.stderr)
  assert.equal(simulator.stats.tokensIssued, 10, 'one key per vehicle for both processes together')
  const tokensOf = (r: CliResult) => {
    const json = JSON.parse(r.stdout) as BatchJson
    return new Map([...json.issued, ...json.reused].map((k) => [k.vin, k.access_token]))
  }
  assert.deepEqual(tokensOf(a), tokensOf(b), 'both processes hand out the same key for each vehicle')
  assert.equal(keysIn(await list(env)).length, 10)
})

test('the app and vkey request the same vehicle at once: one key, both show it', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t, { latencyMs: 300 })
  const file = join(dataDir, '..', 'car.json')
  await writeFile(file, carDataJson(vinFor(3)))
  const handlers = await testHandlers(t, dataDir)
  const imported = await handlers['vehicles:import-text']({ text: await readFile(file, 'utf8'), name: 'car.json' })
  const id = imported.added[0]!.id
  const cli = vkeyProcess(['token', '--cardata', file, '--duration', '4h', '--json'], env)
  const app = handlers['token:request']({ handoverId: id, duration: { kind: 'seconds', seconds: 4 * 3600 }, requestId: 'r1' })
  const [fromCli, fromApp] = await Promise.all([cli, app])
  assert.equal(fromCli.code, 0, fromCli.stderr)
  assert.equal(simulator.stats.tokensIssued, 1)
  assert.equal((JSON.parse(fromCli.stdout) as KeyJson).access_token, fromApp.token?.accessToken)
  assert.ok(['issued', 'reused'].includes(fromApp.outcome))
})

test('nothing is stored or sent for an unwritable --qr, an --out folder that cannot be made, or a refused --until', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t)
  const file = join(dataDir, '..', 'car.json')
  await writeFile(file, carDataJson(vinFor(4)))
  const missing = await vkey(['token', '--cardata', file, '--duration', '1h', '--qr', join(dataDir, '..', 'missing-dir', 'car.png')], env)
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /--qr .*car\.png: its folder .*missing-dir does not exist.*nothing was sent/)
  const underFile = await vkey(['batch', file, '--duration', '1h', '--out', join(file, 'qr')], env)
  assert.equal(underFile.code, 2, underFile.stderr)
  assert.match(underFile.stderr, /car\.json is a file, not a folder/)
  const past = await vkey(['token', '--cardata', file, '--until', '2020-01-01T00:00:00Z'], env)
  assert.equal(past.code, 2)
  const tooLong = await vkey(['batch', file, '--duration', '40d'], env)
  assert.equal(tooLong.code, 2)
  assert.equal(simulator.stats.requests, 0, 'zero requests')
  assert.deepEqual(await list(env), [], 'no record, not even a draft')
})

test('a bad expiry from PSA is never stored as a live key; a longer one is kept and flagged everywhere', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t)
  const file = join(dataDir, '..', 'car.json')
  await writeFile(file, carDataJson(vinFor(5)))
  for (const fault of ['past', 'absurd-expires-in'] as const) {
    simulator.faults.expiry = fault
    const result = await vkey(['token', '--cardata', file, '--duration', '1h'], env)
    assert.equal(result.code, 5, `${fault}: ${result.stderr}`)
    assert.match(result.stderr, /malformed/)
  }
  assert.equal(keysIn(await list(env)).filter((r) => r.status === 'issued').length, 0, 'no live key from a bad answer')

  simulator.faults.expiry = 'disagree'
  const disagree = JSON.parse((await vkey(['token', '--cardata', file, '--duration', '2h', '--json'], env)).stdout) as KeyJson
  const hours = (Date.parse(disagree.expires) - Date.now()) / 3600_000
  assert.ok(hours < 1.1, `the earlier of expires and expires_in wins (${hours.toFixed(2)} h)`)

  simulator.faults.expiry = 'far-future'
  const far = await vkey(['token', '--cardata', file, '--duration', '1h', '--new', '--json'], env)
  assert.equal(far.code, 0, far.stderr)
  assert.match(far.stderr, /more than 5 minutes longer than asked/)
  const flagged = (await list(env)).find((r) => r.longer_than_asked)
  assert.ok(flagged && flagged.status === 'issued', 'kept, flagged in list --json')
  assert.match((await vkey(['list'], env)).stdout, /PSA granted longer than asked/)
  const csv = join(dataDir, '..', 'audit.csv')
  await vkey(['audit', '--csv', csv], env)
  const rows = (await readFile(csv, 'utf8')).trim().split('\r\n')
  assert.ok(rows.some((row) => row.includes(flagged.id) && row.includes('PSA granted longer than asked')))
  assert.equal(rows.filter((row) => /,malformed,/.test(row)).length, 2, 'one audit row per malformed answer')
  const handlers = await testHandlers(t, dataDir)
  const detail = await handlers['handovers:get']({ id: flagged.id })
  assert.equal(detail.longerThanAsked, true, 'the token screen gets the flag')
})

test('vkey list | head -1 ends quietly with exit 0', async (t) => {
  const { env, dataDir } = await setupDepot(t)
  const files = await writeVehicleFiles(join(dataDir, '..', 'cars'), 3)
  await vkey(['batch', ...files, '--duration', '1h'], env)
  const { stdout, stderr } = await run('bash', ['-o', 'pipefail', '-c', `node ${join(ROOT, 'scripts/vkey.mjs')} list | head -c 10`], { env })
  assert.equal(stdout.length, 10)
  assert.doesNotMatch(stderr, /EPIPE|Error/)
})

test('six vkey processes started together on a new data folder all open it: one marker, one vault, one new ledger (none refused as not ours or as an empty ledger)', async (t) => {
  const { env, dataDir } = await setupDepot(t)
  const fresh = { ...env, VKEY_HOME: join(dataDir, '..', 'first-day') }
  const runs = await Promise.all(Array.from({ length: 6 }, () => vkeyProcess(['list', '--json'], fresh)))
  for (const run of runs) {
    assert.equal(run.code, 0, run.stderr)
    assert.deepEqual(JSON.parse(run.stdout), [])
  }
  const checked = await vkey(['ledger', 'check', '--json'], fresh)
  assert.equal(checked.code, 0, checked.stderr)
  assert.equal((JSON.parse(checked.stdout) as { state: string }).state, 'whole')
})

test('a ledger file left empty (0 bytes) by a crash is refused, not taken for a new ledger: nothing is forgotten, nothing sent', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t)
  const car = join(dataDir, '..', 'car.json')
  await writeFile(car, carDataJson(vinFor(70)))
  assert.equal((await vkey(['token', '--cardata', car, '--duration', '2h'], env)).code, 0)
  for (const suffix of ['-wal', '-shm']) await rm(join(dataDir, `ledger.db${suffix}`), { force: true })
  await writeFile(join(dataDir, 'ledger.db'), '')
  const listed = await vkey(['list'], env)
  assert.equal(listed.code, 3, listed.stderr)
  assert.match(
    listed.stderr,
    /The ledger .*ledger\.db is empty \(0 bytes\): the keys it recorded are lost from this file .* Nothing was sent\. Restore the data folder from a backup/,
  )
  const again = await vkey(['token', '--cardata', car, '--duration', '2h'], env)
  assert.equal(again.code, 3, again.stderr)
  assert.equal(simulator.stats.tokensIssued, 1, 'no second key for a car the lost ledger knew')
  // Knowingly: the empty file is kept aside and a new ledger starts.
  const started = await vkey(['ledger', 'new'], env)
  assert.equal(started.code, 0, started.stderr)
  const folder = /kept aside, as they were: ledger\.db in (\S+)/.exec(started.stdout)?.[1]
  assert.ok(folder, started.stdout)
  assert.equal((await stat(join(folder, 'ledger.db'))).size, 0)
  assert.equal((await vkey(['list', '--json'], env)).code, 0)
})

test('a data folder on a full disk: nothing is sent, exit 3 names the folder, and the ledger equals what PSA issued', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to mount a small tmpfs (CI runs as root)')
    return
  }
  const { env, dataDir, simulator } = await setupDepot(t)
  const full = join(dataDir, '..', 'full')
  await mkdir(full)
  await run('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', full]) // the 4 MB kept for keys (ledger.reserve) and the ledger
  try {
    // The same profile in a data folder on the small disk.
    await run('cp', ['-a', `${dataDir}/.`, full])
    const fullEnv = { ...env, VKEY_HOME: full }
    const files = await writeVehicleFiles(join(dataDir, '..', 'cars'), 40)
    const filler = spawn('sh', ['-c', `dd if=/dev/zero of=${full}/filler bs=1k count=100000 2>/dev/null; true`])
    await new Promise((resolve) => filler.on('exit', resolve))
    const result = await vkey(['batch', ...files, '--duration', '1h', '--concurrency', '4'], fullEnv)
    assert.equal(result.code, 3, result.stderr)
    assert.match(
      result.stderr,
      new RegExp(
        `(Cannot write the ledger in|Cannot use the data folder) ${full}: the disk is full|The disk holding ${full} is nearly full: VK Depot keeps 4 MB`,
      ),
    )
    assert.ok(simulator.stats.tokensIssued < 40, `sending stopped (${simulator.stats.tokensIssued} issued)`)
    await run('rm', ['-f', join(full, 'filler')])
    const recorded = keysIn(await list(fullEnv)).length
    assert.equal(
      recorded,
      simulator.stats.tokensIssued,
      'every key PSA issued is recorded (tests/integration/full-disk.test.ts: one on its way as the disk fills)',
    )
    assert.deepEqual(
      (await readdir(full)).filter((n) => n.endsWith('.tmp')),
      [],
    )

    // Keys issued, then the disk fills: they can still be listed and shown for their hand-over.
    const more = await writeVehicleFiles(join(dataDir, '..', 'more'), 2, 100)
    assert.equal((await vkey(['batch', ...more, '--duration', '1h'], fullEnv)).code, 0)
    // All but 48 kB: SQLite's shared-memory index (32 kB, made when the ledger opens) still fits; page writes do not.
    const refill = spawn('sh', ['-c', `dd if=/dev/zero of=${full}/filler bs=1k count=$(($(df --output=avail -k ${full} | tail -1) - 48)) 2>/dev/null; true`])
    await new Promise((resolve) => refill.on('exit', resolve))
    const whileFull = await vkey(['list', '--json'], fullEnv)
    assert.equal(whileFull.code, 0, `vkey list on a full disk: ${whileFull.stderr}`)
    const shownKeys = keysIn(JSON.parse(whileFull.stdout) as Listed[])
    assert.ok(shownKeys.length >= 2, 'the recorded keys are listed')
    const shown = await vkey(['show', shownKeys[0]!.id, '--json'], fullEnv)
    assert.equal(shown.code, 0, `vkey show on a full disk: ${shown.stderr}`)

    // A QR file that cannot be written after the key was issued (the disk filled while PSA had the request):
    // the key is shown, said recorded, and the printed way to its QR works.
    const car = join(dataDir, '..', 'qr-car.json')
    await writeFile(car, carDataJson(vinFor(120)))
    let answer!: () => void
    simulator.faults.hold = new Promise((resolve) => (answer = resolve))
    const requests = simulator.requests.length
    const asking = vkeyRunning(['token', '--cardata', car, '--duration', '1h', '--qr', join(full, 'car.png')], env)
    await waitUntil(() => simulator.requests.length === requests + 1, 'the request at PSA')
    const last = spawn('sh', ['-c', `dd if=/dev/zero of=${full}/filler-2 bs=1k count=100000 2>/dev/null; true`])
    await new Promise((resolve) => last.on('exit', resolve))
    // Not even room for SQLite's shared-memory index: the message says what is missing, in words.
    const blocked = await vkey(['list'], fullEnv)
    assert.equal(blocked.code, 3, blocked.stderr)
    assert.match(
      blocked.stderr,
      /^vkey: Cannot open the ledger in .*full: SQLite cannot make its shared-memory file ledger\.db-shm \(the disk is full, or nearly: it needs 32 KB even to read\)\. Free space/,
    )
    answer()
    simulator.faults.hold = null
    const token = await asking.done
    assert.notEqual(token.code, 0)
    assert.match(token.stdout, new RegExp(`Token issued for ${vinFor(120)} \\(handover `))
    const printed = new RegExp(
      `^vkey: ${vinFor(120)} has its key \\(handover (\\S+), recorded\\), but its QR code could not be written to .*the disk is full.* Then write it with \`(vkey show \\S+ --qr FILE)\`\\.`,
    ).exec(token.stderr)
    assert.ok(printed, token.stderr)
    const qrFile = join(dataDir, '..', 'car.png')
    const again = await vkey(printed[2]!.replace('FILE', qrFile).split(' ').slice(1), env)
    assert.equal(again.code, 0, again.stderr)
    assert.ok((await stat(qrFile)).size > 0, 'the QR code is written as the message says')
    await run('rm', ['-f', join(full, 'filler-2')])
    await run('rm', ['-f', join(full, 'filler')])
  } finally {
    await run('umount', ['-l', full]) // before the temp folder is removed
  }
})
