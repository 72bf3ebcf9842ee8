/**
 * The ledger's storage: a 0.1 history migrated on first start, a writer suspended inside
 * its lock (SIGSTOP, as a laptop put to sleep) never loses what it or the others commit,
 * a row it cannot read is named rather than guessed at, and the rules hold under random
 * interleavings of two depots (fast-check).
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { access, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import fc from 'fast-check'
import { openStore } from '../../electron/core/settings-store'
import { Depot } from '../../electron/core/depot'
import { carDataHash, vehicleOf } from '../../electron/core/handover-record'
import { obtainKey } from '../../electron/core/key-requests'
import { startSimulator, type Simulator } from '../../electron/core/simulator'
import { toErrorView } from '../../shared/errors'
import { ROOT, setupDepot, vinFor, vkey } from '../helpers/depot-env'

test('a history written by VK Depot 0.1 (snapshot + change log) is moved into the ledger on first start', async (t) => {
  const { dataDir, depot, env } = await setupDepot(t)
  const vault = await depot.vault()
  const now = Date.now()
  const legacy = (id: string, vin: string, issuedMinutesAgo: number | null) => ({
    id,
    vin,
    source: `${vin}.json`,
    status: issuedMinutesAgo === null ? 'draft' : 'issued',
    createdAt: new Date(now - 3600_000).toISOString(),
    updatedAt: new Date(now - 3600_000).toISOString(),
    carDataHash: carDataHash(`cd-${id}`, `sig-${id}`),
    sealedCarData: vault.seal(`handover:${id}:cardata`, JSON.stringify({ carData: `cd-${id}`, carDataSignature: `sig-${id}` })),
    ...(issuedMinutesAgo === null
      ? {}
      : {
          issuedAt: new Date(now - issuedMinutesAgo * 60_000).toISOString(),
          expires: new Date(now + 4 * 3600_000).toISOString(),
          durationSeconds: 14_400,
          sealedToken: vault.seal(
            `handover:${id}:token`,
            JSON.stringify({ accessToken: `tok-${id}`, tokenType: 'bearer', expiresIn: 14_400, tokenSignature: 'sig' }),
          ),
        }),
  })
  // Two live keys for one car (0.1 overwrote or doubled them), a draft, and a removal in the log.
  await writeFile(join(dataDir, 'handovers.json'), JSON.stringify({ version: 1, records: [legacy('old', vinFor(1), 50), legacy('gone', vinFor(3), null)] }))
  await writeFile(
    join(dataDir, 'handovers.log'),
    `${JSON.stringify({ put: legacy('new', vinFor(1), 10) })}\n${JSON.stringify({ put: legacy('draft', vinFor(2), null) })}\n${JSON.stringify({ del: 'gone' })}\n{"put": torn`,
  )

  const listed = JSON.parse((await vkey(['list', '--json'], env)).stdout) as { id: string; status: string; superseded_by: string | null }[]
  const byId = new Map(listed.map((r) => [r.id, r]))
  assert.deepEqual([...byId.keys()].sort(), ['draft', 'new', 'old'])
  assert.equal(byId.get('new')?.status, 'issued', 'the newest key of the car is its live key')
  assert.equal(byId.get('old')?.status, 'superseded')
  assert.equal(byId.get('old')?.superseded_by, 'new')
  await assert.rejects(access(join(dataDir, 'handovers.json')), 'the old files left the data folder')
  assert.ok((await readFile(join(dataDir, 'migrated-v0.1', 'handovers.log'), 'utf8')).includes('"del"'))
  const shown = await vkey(['show', 'new', '--json'], env)
  assert.equal((JSON.parse(shown.stdout) as { access_token: string }).access_token, 'tok-new', 'sealed tokens still open')
})

test('a writer suspended inside its lock: the other waits, says who holds the store, and every committed record survives', async (t) => {
  const { dataDir, depot } = await setupDepot(t)
  await depot.handovers()
  const holder = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `import { openLedgerDb } from ${JSON.stringify(join(ROOT, 'electron/core/ledger-db.ts'))}
       const db = openLedgerDb(${JSON.stringify(dataDir)})
       db.exec('BEGIN IMMEDIATE')
       db.prepare("INSERT INTO meta (key, value) VALUES ('written-by-the-sleeper', 'yes')").run()
       console.log('locked')
       process.stdin.once('data', () => { db.exec('COMMIT'); db.close(); process.exit(0) })`,
    ],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
  )
  const exited = new Promise((resolve) => holder.on('exit', resolve))
  t.after(() => holder.kill('SIGKILL'))
  await new Promise<void>((resolve) => holder.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('locked') && resolve()))
  holder.kill('SIGSTOP') // the laptop sleeps with the lock held

  const other = await Depot.open({ dataDir, store: openStore(dataDir), busyTimeoutMs: 300 })
  t.after(() => other.close())
  const vehicle = { source: 'car.json', index: 0, vin: vinFor(7), carData: 'AAAA', carDataSignature: 'BBBB' }
  const busy = await other.addVehicles({ vehicles: [vehicle], issues: [] }).then(
    () => undefined,
    (error: unknown) => toErrorView(error),
  )
  assert.equal(busy?.code, 'storage.busy')
  assert.match(busy?.message ?? '', new RegExp(`another VK Depot process, pid [0-9, ]*${holder.pid}`))

  holder.kill('SIGCONT') // it wakes up and finishes its write
  holder.stdin.write('commit\n')
  await exited
  const [added] = await other.addVehicles({ vehicles: [vehicle], issues: [] })
  const store = await other.handovers()
  assert.equal(
    store.db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'written-by-the-sleeper'").get()?.value,
    'yes',
    "the sleeper's record is there",
  )
  assert.equal((await store.get(added!.id)).vin, vinFor(7), "and so is the waiting process's")
})

test('a ledger row this VK Depot cannot read is refused with a message naming the handover, the file and what to do', async (t) => {
  const { depot, env } = await setupDepot(t)
  const [damaged, sealed] = await depot.addVehicles({
    vehicles: [
      { source: 'a.json', index: 0, vin: vinFor(41), carData: 'AAAA', carDataSignature: 'BBBB' },
      { source: 'b.json', index: 0, vin: vinFor(42), carData: 'CCCC', carDataSignature: 'DDDD' },
    ],
    issues: [],
  })
  const store = await depot.handovers()
  // A status this version does not know (a newer VK Depot, or a hand edit) on one row.
  store.write(() => store.db.prepare("UPDATE handovers SET record = json_set(record, '$.status', 'parked') WHERE id = ?").run(damaged!.id))
  const listed = await vkey(['list'], env)
  assert.equal(listed.code, 3)
  assert.match(listed.stderr, new RegExp(`handover ${damaged!.id} in .*ledger\\.db cannot be read \\(its field "status"\\)`))
  assert.match(listed.stderr, /`vkey version`/)

  // Sealed CarData that opens but is not what VK Depot seals: named as such, without its content.
  store.write(() => store.db.prepare("UPDATE handovers SET record = json_set(record, '$.status', 'draft') WHERE id = ?").run(damaged!.id))
  const vault = await depot.vault()
  const record = await store.get(sealed!.id)
  store.write(() => store.put({ ...record, sealedCarData: vault.seal(`handover:${record.id}:cardata`, JSON.stringify({ carData: 'SECRET-CARDATA' })) }))
  const error = toErrorView(await depot.requestToken(record.id, { kind: 'seconds', seconds: 3600 }).catch((e: unknown) => e))
  assert.equal(error.code, 'storage.damaged')
  assert.match(error.message, new RegExp(`sealed CarData of handover ${record.id} .*\\(its field "carDataSignature"\\)`))
  assert.doesNotMatch(error.message, /SECRET-CARDATA/)
})

/** Actions two depots on one data folder may take, in any order, some at the same time. */
type Action =
  | { kind: 'token'; who: 0 | 1; car: number; hours: number; fresh: boolean }
  | { kind: 'batch'; who: 0 | 1; hours: number }
  | { kind: 'offline' | 'online' }
  | { kind: 'flush'; who: 0 | 1 }
  | { kind: 'cancel'; who: 0 | 1 }
  | { kind: 'later'; hours: number }

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant('token' as const),
    who: fc.constantFrom(0 as const, 1 as const),
    car: fc.integer({ min: 0, max: 2 }),
    hours: fc.integer({ min: 1, max: 48 }),
    fresh: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('batch' as const), who: fc.constantFrom(0 as const, 1 as const), hours: fc.integer({ min: 1, max: 48 }) }),
  fc.record({ kind: fc.constantFrom('offline' as const, 'online' as const) }),
  fc.record({ kind: fc.constant('flush' as const), who: fc.constantFrom(0 as const, 1 as const) }),
  fc.record({ kind: fc.constant('cancel' as const), who: fc.constantFrom(0 as const, 1 as const) }),
  fc.record({ kind: fc.constant('later' as const), hours: fc.integer({ min: 1, max: 30 }) }),
)

test('property: under random interleavings of two depots, the ledger holds exactly the keys PSA issued, one live key per car, each covering its window', async (t) => {
  const { dataDir, simulator: first } = await setupDepot(t, { restartable: true })
  // PSA and the depots share one clock, which the 'later' action moves (hours pass).
  let offsetMs = 0
  const now = () => new Date(Date.now() + offsetMs)
  const port = first.port
  await first.close()
  let simulator: Simulator = await startSimulator({ dir: first.material.dir, port, now })
  let issuedBefore = 0 // keys issued by simulators already stopped
  const cars = [0, 1, 2].map((n) => ({ source: `car${n}.json`, index: 0, vin: vinFor(900 + n), carData: `Q0FS${n}AAA`, carDataSignature: `U0lH${n}AAA` }))
  const depots = await Promise.all([0, 1].map(() => Depot.open({ dataDir, store: openStore(dataDir), now, clientOptions: { retryBaseDelayMs: 5 } })))
  t.after(async () => {
    await Promise.all(depots.map((d) => d.close()))
    if (simulator.port > 0) await simulator.close()
  })
  const ids = await depots[0]!.addVehicles({ vehicles: cars, issues: [] })

  const perform = async (a: Action): Promise<void> => {
    const depot = 'who' in a ? depots[a.who]! : depots[0]!
    const plan = { kind: 'seconds' as const, seconds: ('hours' in a ? a.hours : 1) * 3600 }
    if (a.kind === 'token') await obtainKey(depot, { id: ids[a.car]!.id }, plan, { forceNew: a.fresh, claimWaitMs: 20_000 })
    else if (a.kind === 'batch') await Promise.allSettled(ids.map((r) => depot.requestToken(r.id, plan, { claimWaitMs: 20_000 })))
    else if (a.kind === 'flush') await depot.queue.flush()
    else if (a.kind === 'cancel') {
      const queued = (await (await depot.handovers()).list()).find((r) => r.status === 'queued')
      if (queued) await depot.queue.cancel(queued.id)
    } else if (a.kind === 'later') offsetMs += a.hours * 3600_000
    else if (a.kind === 'offline' && simulator.port === port) {
      // Marked stopped before the await: the other action of the same step sees it at once.
      const stopping = simulator
      simulator = { port: -1 } as Simulator
      issuedBefore += stopping.stats.tokensIssued
      await stopping.close()
    } else if (a.kind === 'online' && simulator.port === -1) {
      simulator = { port: -2 } as Simulator // starting: the other action of the same step leaves it be
      simulator = await startSimulator({ dir: first.material.dir, port, now })
    }
  }

  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(action, action), { minLength: 1, maxLength: 5 }), async (steps) => {
      for (const [a, b] of steps) {
        // Two depots at once; refusals, cancels and an unreachable PSA are outcomes, not failures.
        const results = await Promise.allSettled([perform(a), perform(b)])
        for (const r of results)
          if (r.status === 'rejected') assert.match(toErrorView(r.reason).code, /^(network\.|psa\.|server\.|input\.duration|cancelled)/, String(r.reason))
        const store = await depots[0]!.handovers()
        const records = await store.list()
        const issuedNow = issuedBefore + (simulator.port === -1 ? 0 : simulator.stats.tokensIssued)
        assert.equal(records.filter((r) => r.issuedAt).length, issuedNow, 'the ledger holds exactly the keys PSA issued')
        const live = store.db.prepare<[], { vehicle: string; n: number }>('SELECT vehicle, COUNT(*) AS n FROM handovers WHERE live = 1 GROUP BY vehicle').all()
        assert.ok(
          live.every((row) => row.n === 1),
          'at most one live key per vehicle',
        )
        for (const car of ids) {
          const key = store.liveKeyOf(vehicleOf(car))
          if (key)
            assert.ok(
              key.longerThanAsked || Date.parse(key.expires!) + 2000 >= Date.parse(key.plannedEnd!),
              `a live key covers the window it was asked for (${JSON.stringify({ expires: key.expires, plannedEnd: key.plannedEnd, requestedAt: key.requestedAt, issuedAt: key.issuedAt, duration: key.durationSeconds, offsetMs })})`,
            )
        }
      }
    }),
    { numRuns: 6 },
  )
})
