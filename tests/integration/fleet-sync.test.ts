/**
 * Fleet mode against a real PostgreSQL (Debian's, started in a temp folder with TLS): two
 * laptops (two data folders, two roles) share one ledger of keys. Claims, supersede with
 * --new, offline conflicts, exactly-once push with a sync cut midway, and row-level security.
 */
import assert from 'node:assert/strict'
import test, { type TestContext } from 'node:test'
import pg from 'pg'
import { claimVehicle, heldMessage } from '../../electron/core/fleet/claims'
import { connectFleet } from '../../electron/core/fleet/connection'
import { handoverLedger } from '../../electron/core/fleet/handover-ledger'
import { FLEET_ENTRY_FIELDS, toFleetEntry, type LedgerEntry } from '../../electron/core/fleet/types'
import { liveByVehicle } from '../../electron/core/fleet/view'
import { setupDepot, vinFor } from '../helpers/depot-env'
import { issuedEntry, joinedLaptop, LAPTOPS, startFleetServer, type FleetServerEnv, type TestLaptop } from '../helpers/fleet-env'
import { postgresMissing } from '../helpers/postgres'

const missing = postgresMissing()
if (missing) console.log(`# fleet tests skipped: ${missing}`)

/** A as a laptop role, straight SQL (for the row-level security checks). */
async function asLaptop(server: FleetServerEnv, name: keyof typeof LAPTOPS): Promise<pg.Client> {
  const { client } = await connectFleet({
    host: server.pg.host,
    port: server.pg.port,
    database: 'vkey_fleet',
    ...LAPTOPS[name],
    caPem: server.caPem,
    tls: 'verify',
  })
  return client
}

/** What the local request path does when the fleet lets it through and PSA issues the key. */
/** A claim of A. Martin's on DEPOT-1 (a laptop joined as DEPOT-1), open for an hour, over a connection of its own. */
async function openClaim(t: TestContext, laptop: TestLaptop, vehicleKey: string): Promise<{ client: pg.Client; claimId: string }> {
  const client = await laptop.fleet.connect()
  t.after(() => client.end())
  const claim = await claimVehicle(client, 'DEPOT-1', { vehicleKey, windowEnd: new Date(Date.now() + 3600_000).toISOString(), technician: 'A. Martin' })
  assert.ok(claim.ok)
  return { client, claimId: claim.claimId }
}

async function issueThroughFleet(laptop: TestLaptop, vin: string, technician: string, options: { force?: boolean } = {}) {
  const windowEnd = new Date(Date.now() + 8 * 3600_000).toISOString()
  const gate = await laptop.fleet.beforeRequest({ vehicleKey: vin, windowEnd, technician, ...(options.force ? { force: true } : {}) })
  if (gate.kind !== 'proceed') return gate
  const entry = issuedEntry(vin, technician, { hours: 9 }) // PSA's answer
  laptop.ledger.put(entry)
  const recorded = await laptop.fleet.afterIssued(gate, entry)
  return { ...gate, entry, recorded }
}

test("fleet: A claims and records; B is refused with A's name; B --new supersedes A's key on both laptops", { skip: Boolean(missing) }, async (t) => {
  const server = await startFleetServer(t)
  const a = await joinedLaptop(t, server, 'DEPOT-1')
  const b = await joinedLaptop(t, server, 'DEPOT-2')
  const vin = vinFor(1501)

  const first = await issueThroughFleet(a, vin, 'A. Martin')
  assert.equal(first.kind, 'proceed')
  assert.equal('recorded' in first && first.recorded, 'recorded')

  const refused = await b.fleet.beforeRequest({ vehicleKey: vin, windowEnd: new Date(Date.now() + 4 * 3600_000).toISOString(), technician: 'B. Durand' })
  assert.equal(refused.kind, 'refused')
  assert.ok(refused.kind === 'refused')
  assert.equal(refused.heldBy.technician, 'A. Martin')
  assert.equal(refused.heldBy.laptop, 'DEPOT-1')
  assert.match(refused.message, new RegExp(`^${vin} has a key until \\w{3} \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d .*, issued by A\\. Martin on DEPOT-1\\.`))
  assert.equal(b.ledger.all().length, 0, 'B recorded nothing: it never asked PSA')

  const forced = await issueThroughFleet(b, vin, 'B. Durand', { force: true })
  assert.ok(forced.kind === 'proceed' && 'entry' in forced)
  assert.equal(forced.supersedes, `DEPOT-1/${first.kind === 'proceed' && 'entry' in first ? first.entry.id : ''}`)

  // A learns at its next sync; its own ledger marks the entry superseded and pushes that back.
  const syncA = await a.fleet.sync(a.ledger)
  assert.equal(syncA.supersededHere.length, 1)
  const aEntry = a.ledger.all()[0]!
  assert.equal(aEntry.status, 'superseded')
  assert.equal(aEntry.supersededBy, `DEPOT-2/${forced.entry.id}`)
  // Everything pulled again (a rejoin starts from the first entry): nothing new is superseded, and nothing is said to be.
  a.fleet.mirror.set('remote_cursor', '0')
  assert.deepEqual((await a.fleet.sync(a.ledger)).supersededHere, [])
  await b.fleet.sync(b.ledger)
  for (const laptop of [a, b]) {
    const live = liveByVehicle(laptop.fleet.mirror).filter((v) => v.vehicleKey === vin)
    assert.equal(live.length, 1, `${laptop.name} sees one vehicle`)
    assert.deepEqual(
      live[0]!.keys.map((k) => k.entryId),
      [`DEPOT-2/${forced.entry.id}`],
      `${laptop.name} sees only B's key live`,
    )
    assert.equal(live[0]!.conflict, false)
  }
  const admin = await server.pg.admin('vkey_fleet')
  t.after(() => admin.end())
  const serverView = await admin.query('SELECT status FROM vkey_fleet.entries WHERE laptop = $1', ['DEPOT-1'])
  assert.deepEqual(serverView.rows, [{ status: 'superseded' }])
})

test(
  'fleet: offline on both laptops, one car twice → after sync both flag the conflict; a sync cut midway pushes each entry once',
  { skip: Boolean(missing) },
  async (t) => {
    const server = await startFleetServer(t)
    const a = await joinedLaptop(t, server, 'DEPOT-1')
    const b = await joinedLaptop(t, server, 'DEPOT-2')
    const vin = vinFor(1502)

    await server.pg.stop()
    const offline = await a.fleet.beforeRequest({ vehicleKey: vin, windowEnd: new Date(Date.now() + 3600_000).toISOString(), technician: 'A. Martin' })
    assert.equal(offline.kind, 'offline', 'no server: the laptop works locally')
    a.ledger.put(issuedEntry(vin, 'A. Martin'))
    for (let i = 0; i < 24; i++) a.ledger.put(issuedEntry(vinFor(2000 + i), 'A. Martin'))
    b.ledger.put(issuedEntry(vin, 'B. Durand'))
    await assert.rejects(a.fleet.sync(a.ledger), (e: Error) => /Cannot reach the fleet server/.test(e.message))
    const status = a.fleet.status(a.ledger)
    assert.equal(status.waiting, 25, 'fleet status counts the entries waiting')
    assert.match(status.lastError?.message ?? '', /Cannot reach/)
    assert.match(status.lastError?.at ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'kept apart from the message, ISO UTC')

    await server.pg.start()
    // A's sync is cut after the server committed its second batch of 10, before it is marked pushed.
    let commits = 0
    await assert.rejects(
      a.fleet.sync(a.ledger, {
        batchSize: 10,
        hooks: {
          afterServerCommit: () => {
            if (++commits === 2) throw new Error('laptop closed mid-sync')
          },
        },
      }),
      /mid-sync/,
    )
    const again = await a.fleet.sync(a.ledger, { batchSize: 10 })
    assert.equal(again.sent, 15, 'the batch cut off is sent again, then the rest')
    assert.equal(again.written, 5, 'the server writes only what it did not have: every entry written exactly once (20 + 5)')
    assert.equal(a.fleet.status().waiting, 0)

    await b.fleet.sync(b.ledger)
    await a.fleet.sync(a.ledger)
    const admin = await server.pg.admin('vkey_fleet')
    t.after(() => admin.end())
    const counts = await admin.query<{ n: string; distinct_ids: string }>(
      'SELECT count(*) AS n, count(DISTINCT entry_id) AS distinct_ids FROM vkey_fleet.entries',
    )
    assert.deepEqual(counts.rows[0], { n: '26', distinct_ids: '26' })
    const conflicts = await admin.query<{ vehicle_key: string; live_keys: string; laptops: string[] }>(
      'SELECT vehicle_key, live_keys, laptops FROM vkey_fleet.conflicts',
    )
    assert.deepEqual(conflicts.rows, [{ vehicle_key: vin, live_keys: '2', laptops: ['DEPOT-1', 'DEPOT-2'] }])
    for (const laptop of [a, b]) {
      const view = liveByVehicle(laptop.fleet.mirror)
      assert.equal(view[0]!.vehicleKey, vin, `${laptop.name}: the conflict comes first`)
      assert.equal(view[0]!.conflict, true)
      assert.deepEqual(view[0]!.keys.map((k) => k.laptop).sort(), ['DEPOT-1', 'DEPOT-2'], 'both keys kept: never merged')
      assert.equal(view.filter((v) => v.conflict).length, 1)
    }
    assert.equal(liveByVehicle(b.fleet.mirror).length, 25, "B pulled all of A's keys")

    // A's keys issued offline have no claim: once pushed, they hold their cars as a claim would.
    const hour = (h: number) => new Date(Date.now() + h * 3600_000).toISOString()
    const held = await b.fleet.beforeRequest({ vehicleKey: vinFor(2000), windowEnd: hour(1), technician: 'B. Durand' })
    assert.ok(held.kind === 'refused', 'B is refused a car A issued a key for offline')
    assert.equal(held.heldBy.laptop, 'DEPOT-1')
    assert.match(held.message, /issued by A\. Martin on DEPOT-1/)
    const longer = await b.fleet.beforeRequest({ vehicleKey: vinFor(2001), windowEnd: hour(10), technician: 'B. Durand' })
    assert.ok(longer.kind === 'proceed', "a window A's key does not cover: B may ask")
    assert.equal(longer.superseded?.laptop, 'DEPOT-1', 'and is told whose key the new one supersedes')
    assert.equal(longer.supersedes, longer.superseded?.entryId)
  },
)

test("fleet: row-level security — B's role cannot insert, update or end-and-rewrite entries carrying A's laptop", { skip: Boolean(missing) }, async (t) => {
  const server = await startFleetServer(t)
  const a = await joinedLaptop(t, server, 'DEPOT-1')
  a.ledger.put(issuedEntry(vinFor(1503), 'A. Martin', { id: 'a-entry' }))
  await a.fleet.sync(a.ledger)
  const b = await asLaptop(server, 'DEPOT-2')
  t.after(() => b.end())

  await assert.rejects(
    b.query(`INSERT INTO vkey_fleet.entries (entry_id, laptop, local_id, vehicle_key, profile, technician, issued_at, expires, status)
      VALUES ('DEPOT-1/forged', 'DEPOT-1', 'forged', 'VF3FORGED00000001', 'sim', 'A. Martin', now(), now() + interval '1 day', 'issued')`),
    (e: { code?: string }) => e.code === '42501',
    "a forged entry in A's name is refused",
  )
  const update = await b.query(`UPDATE vkey_fleet.entries SET status = 'expired', technician = 'nobody' WHERE entry_id = 'DEPOT-1/a-entry'`)
  assert.equal(update.rowCount, 0, "A's entry is not B's to update")
  assert.equal((await b.query(`UPDATE vkey_fleet.entries SET laptop = 'DEPOT-2' WHERE entry_id = 'DEPOT-1/a-entry'`)).rowCount, 0, 'nor to take over')
  await assert.rejects(b.query(`DELETE FROM vkey_fleet.entries WHERE entry_id = 'DEPOT-1/a-entry'`), (e: { code?: string }) => e.code === '42501')
  await assert.rejects(
    b.query(`INSERT INTO vkey_fleet.claims (vehicle_key, laptop, technician, window_end) VALUES ('VF3X', 'DEPOT-1', 'A. Martin', now())`),
    (e: { code?: string }) => e.code === '42501',
  )
  // B reads everyone's entries.
  const read = await b.query('SELECT entry_id, laptop, technician, status FROM vkey_fleet.entries')
  assert.deepEqual(read.rows, [{ entry_id: 'DEPOT-1/a-entry', laptop: 'DEPOT-1', technician: 'A. Martin', status: 'issued' }], "B reads A's entry, unchanged")

  // A's open claim may only be ended, signed by B: not rewritten.
  const claim = await openClaim(t, a, 'VF3CLAIM000000001')
  await assert.rejects(
    b.query(`UPDATE vkey_fleet.claims SET technician = 'B' WHERE claim_id = $1`, [claim.claimId]),
    (e: { code?: string }) => e.code === '42501',
  )
  await assert.rejects(
    b.query(`UPDATE vkey_fleet.claims SET ended_at = now(), ended_by = 'DEPOT-1', end_reason = 'released' WHERE claim_id = $1`, [claim.claimId]),
    (e: { code?: string }) => e.code === '42501',
    "B cannot end it in A's name",
  )
  await assert.rejects(
    b.query(`UPDATE vkey_fleet.claims SET ended_at = now() - interval '1 hour', ended_by = 'DEPOT-2', end_reason = 'expired' WHERE claim_id = $1`, [
      claim.claimId,
    ]),
    (e: { code?: string }) => e.code === '42501',
    'B cannot back-date the end of it (hiding when it took the car over)',
  )
  const row = await claim.client.query('SELECT ended_at, technician FROM vkey_fleet.claims WHERE claim_id = $1', [claim.claimId])
  assert.deepEqual(row.rows, [{ ended_at: null, technician: 'A. Martin' }])
  const ended = await b.query(`UPDATE vkey_fleet.claims SET ended_at = now(), ended_by = 'DEPOT-2', end_reason = 'superseded' WHERE claim_id = $1`, [
    claim.claimId,
  ])
  assert.equal(ended.rowCount, 1, 'B may end it now, signed with its own name (as a --new does)')
})

test(
  "fleet: a link to another car's key is refused when written; a link once accepted holds, and one the server refuses does not hold back a sync",
  { skip: Boolean(missing) },
  async (t) => {
    const server = await startFleetServer(t)
    const a = await joinedLaptop(t, server, 'DEPOT-1')
    const vin = vinFor(1507)
    a.ledger.put(issuedEntry(vin, 'A. Martin', { id: 'a-key' }))
    await a.fleet.sync(a.ledger)
    const b = await asLaptop(server, 'DEPOT-2')
    t.after(() => b.end())
    const insert = (id: string, car: string, supersedes: string | null) =>
      b.query(
        `INSERT INTO vkey_fleet.entries (entry_id, laptop, local_id, vehicle_key, profile, technician, issued_at, expires, status, supersedes)
       VALUES ($1, 'DEPOT-2', $2, $3, 'sim', 'B', now(), now() + interval '1 day', 'issued', $4)`,
        [`DEPOT-2/${id}`, id, car, supersedes],
      )
    const refused = (e: { code?: string }) => e.code === '23514'
    await assert.rejects(insert('other-car', 'VF3OTHERCAR000001', 'DEPOT-1/a-key'), refused, "B's new row naming A's key for another car")
    await insert('plain', 'VF3OTHERCAR000001', null)
    await assert.rejects(
      b.query(`UPDATE vkey_fleet.entries SET supersedes = 'DEPOT-1/a-key' WHERE entry_id = 'DEPOT-2/plain'`),
      refused,
      'nor as a changed link',
    )

    // A link for the same car is accepted, and holds when A's key is filed under another vehicle key later (a VIN typed for it).
    await insert('same-car', vin, 'DEPOT-1/a-key')
    a.ledger.put({ ...a.ledger.get('a-key')!, vehicleKey: 'VF3NEWVIN00000001', vin: 'VF3NEWVIN00000001' })
    await a.fleet.sync(a.ledger)
    assert.equal(a.ledger.get('a-key')?.status, 'superseded', "A marks its key superseded by B's")
    assert.equal(
      (await b.query(`UPDATE vkey_fleet.entries SET status = 'handed-over' WHERE entry_id = 'DEPOT-2/same-car'`)).rowCount,
      1,
      "B's row is written again",
    )
    const live = await b.query<{ entry_id: string }>('SELECT entry_id FROM vkey_fleet.live_entries ORDER BY entry_id')
    assert.deepEqual(
      live.rows.map((r) => r.entry_id),
      ['DEPOT-2/plain', 'DEPOT-2/same-car'],
      "A's key stays superseded fleet-wide",
    )

    // A laptop whose link the server refuses shares the entry without it, says so, and is not stuck.
    const c = await joinedLaptop(t, server, 'DEPOT-2')
    const entry = issuedEntry('VF3OTHERCAR000002', 'B. Durand', { id: 'c-key' })
    c.ledger.put(entry)
    c.fleet.mirror.noteSupersedes(entry.id, 'DEPOT-2/plain') // its own laptop's key: never another laptop's
    const synced = await c.fleet.sync(c.ledger)
    assert.ok(synced.sent >= 1, JSON.stringify(synced))
    assert.equal(c.fleet.status(c.ledger).waiting, 0, 'nothing left waiting')
    assert.deepEqual(synced.dropped, [
      "the server refused the link of entry DEPOT-2/c-key to DEPOT-2/plain (not another laptop's key for the same car): the entry was shared without it",
    ])
    const row = await b.query('SELECT supersedes FROM vkey_fleet.entries WHERE entry_id = $1', ['DEPOT-2/c-key'])
    assert.deepEqual(row.rows, [{ supersedes: null }])

    // Nor may B rewrite which key A's claim stands for while ending it.
    const claim = await openClaim(t, a, 'VF3CLAIM000000002')
    await assert.rejects(
      b.query(
        `UPDATE vkey_fleet.claims SET ended_at = now(), ended_by = 'DEPOT-2', end_reason = 'superseded', entry_id = 'DEPOT-2/plain', expires = now() + interval '9 days' WHERE claim_id = $1`,
        [claim.claimId],
      ),
      (e: { code?: string }) => e.code === '42501',
    )
  },
)

test("the ledger marks its key superseded by another laptop's entry once", async (t) => {
  const { depot } = await setupDepot(t)
  const vin = vinFor(1509)
  const [record] = await depot.addVehicles({ vehicles: [{ source: 'car.json', index: 0, vin, carData: 'AAAA', carDataSignature: 'BBBB' }], issues: [] })
  await depot.requestToken(record!.id, { kind: 'seconds', seconds: 3600 })
  const ledger = handoverLedger(await depot.handovers(), 'A. Martin')
  assert.equal(ledger.markSupersededBy(record!.id, 'DEPOT-2/newer'), true)
  assert.equal(ledger.markSupersededBy(record!.id, 'DEPOT-2/newer'), false, 'pulled again (a rejoin): not counted twice')
  assert.equal((await depot.handovers()).find(record!.id)?.supersededBy, 'DEPOT-2/newer')
  assert.equal(ledger.markSupersededBy('no-such-id', 'DEPOT-2/newer'), false)
})

test('fleet: only facts leave the laptop — no token, signature or CarData field in FleetEntry or on the server', { skip: Boolean(missing) }, async (t) => {
  const ledgerRow = { ...issuedEntry(vinFor(1504), 'A. Martin'), accessToken: 'SECRET-TOKEN', tokenSignature: 'SIG', carData: 'CARDATA' } as LedgerEntry
  const shared = toFleetEntry('DEPOT-1', ledgerRow)
  assert.deepEqual(Object.keys(shared).sort(), [...FLEET_ENTRY_FIELDS].sort())
  assert.ok(!JSON.stringify(shared).includes('SECRET') && !JSON.stringify(shared).includes('CARDATA'))
  for (const field of FLEET_ENTRY_FIELDS) assert.doesNotMatch(field, /token|signature|car_?data|secret|password/i)

  const server = await startFleetServer(t)
  const admin = await server.pg.admin('vkey_fleet')
  t.after(() => admin.end())
  const columns = await admin.query<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'vkey_fleet'`,
  )
  assert.ok(columns.rows.length > 20)
  for (const c of columns.rows) assert.doesNotMatch(c.column_name, /token|signature|car_?data|secret|password/i, `${c.table_name}.${c.column_name}`)
})

test('fleet: the refusal names who holds the key and until when, in local time with its zone', () => {
  const message = heldMessage(
    'VF3AAAAAAAAAAAAAA',
    { technician: 'A. Martin', laptop: 'DEPOT-2', expires: new Date(Date.now() + 3600_000).toISOString(), entryId: 'DEPOT-2/x' },
    'Europe/Paris',
  )
  assert.match(message, /^VF3AAAAAAAAAAAAAA has a key until \w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T \(UTC\+0[12]:00\), issued by A\. Martin on DEPOT-2\./)
  const hostile = heldMessage('VF3AAAAAAAAAAAAAA', { technician: 'A\u001b[2JMartin', laptop: 'DEPOT-2', expires: null, entryId: null })
  assert.ok(!hostile.includes('\u001b'), 'a terminal escape from another laptop is shown, not obeyed')
})
