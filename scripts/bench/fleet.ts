/**
 * Figure 10 — fleet sync on a real PostgreSQL (Debian's, started like the tests do):
 *  a. a new laptop's first sync of 100,000 entries written by 50 laptops, against reading the
 *     same rows with one plain query (target ≤ 1.5 ×);
 *  b. a steady sync of 500 new entries, against one plain query for those rows (≤ 1.5 ×);
 *  c. a claim round trip (claim, record the issued key, as before a PSA request) against the
 *     same check-and-record in the local-only SQLite ledger (report).
 * Ours includes writing fleet.db (SQLite) and moving the cursors; the baseline only reads.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type pg from 'pg'
import { claimVehicle, recordIssued } from '../../electron/core/fleet/claims'
import { connectFleet } from '../../electron/core/fleet/connection'
import { migrate } from '../../electron/core/fleet/migrations'
import { FleetMirror } from '../../electron/core/fleet/mirror'
import { FleetSync } from '../../electron/core/fleet/sync'
import { toFleetEntry } from '../../electron/core/fleet/types'
import { administratorSql, issuedEntry, LAPTOPS, OWNER, schemaSql, SqliteLedger } from '../../tests/helpers/fleet-env'
import { startPostgres, type TestPostgres } from '../../tests/helpers/postgres'
import { collect, log, median, now, removeQuietly, round, tempDir } from './util'

export interface FleetFigure {
  entries: number
  laptops: number
  firstSync: { oursMedianMs: number; plainMedianMs: number; ratio: number; runsMs: number[] }
  steady: { entries: number; oursMedianMs: number; plainMedianMs: number; ratio: number }
  claim: { fleetMedianMs: number; localMedianMs: number; ratio: number }
  peakRssMB: number
}

const PLAIN_COLUMNS =
  'entry_id, laptop, local_id, vehicle_key, vin, profile, technician, issued_at, expires, duration_seconds, batch_id, status, superseded_by, supersedes, seq'

/** Writes `count` entries spread over `laptops` laptops, as the owner (one statement). */
async function seed(owner: pg.Client, count: number, laptops: number, from: number): Promise<void> {
  await owner.query(
    `INSERT INTO vkey_fleet.entries (entry_id, laptop, local_id, vehicle_key, vin, profile, technician, issued_at, expires, duration_seconds, status)
     SELECT 'L' || (i % $3) || '/e' || i, 'L' || (i % $3), 'e' || i, 'VF3BENCH' || lpad(i::text, 9, '0'), 'VF3BENCH' || lpad(i::text, 9, '0'),
            'prod', 'Technician ' || (i % $3), now() - interval '1 hour', now() + interval '7 hours', 28800, 'issued'
     FROM generate_series($1::int, $2::int) AS i`,
    [from, from + count - 1, laptops],
  )
}

async function setup(pgs: TestPostgres, laptops: number): Promise<{ owner: pg.Client; laptop: pg.Client }> {
  const superuser = await pgs.admin()
  for (const sql of administratorSql()) await superuser.query(sql)
  await superuser.end()
  const inDb = await pgs.admin('vkey_fleet')
  for (const sql of schemaSql()) await inDb.query(sql)
  await inDb.end()
  const caPem = await readFile(pgs.caFile, 'utf8')
  const server = { host: pgs.host, port: pgs.port, database: 'vkey_fleet', tls: 'verify' as const, caPem, timeoutMs: 10_000 }
  const { client: owner } = await connectFleet({ ...server, ...OWNER })
  await migrate(owner)
  await owner.query(`INSERT INTO vkey_fleet.laptops SELECT 'L' || i, 'bench_l' || i FROM generate_series(0, $1::int - 1) AS i`, [laptops])
  await owner.query(`INSERT INTO vkey_fleet.laptops VALUES ('DEPOT-1', $1)`, [LAPTOPS['DEPOT-1'].user])
  const { client: laptop } = await connectFleet({ ...server, ...LAPTOPS['DEPOT-1'] })
  return { owner, laptop }
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  collect()
  const started = now()
  const value = await work()
  return { ms: now() - started, value }
}

export async function fleetFigure(options: {
  entries: number
  laptops: number
  steady: number
  steadyRounds: number
  repetitions: number
  claims: number
}): Promise<FleetFigure> {
  const pgs = await startPostgres()
  const root = await tempDir('vkey-bench-fleet-')
  let peakRss = 0
  const sample = () => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
  }
  try {
    const { owner, laptop } = await setup(pgs, options.laptops)
    await seed(owner, options.entries, options.laptops, 1)
    await owner.query('ANALYZE vkey_fleet.entries')
    log(`10. fleet: ${options.entries} entries from ${options.laptops} laptops seeded`)
    const ledger = new SqliteLedger(join(root, 'ledger.db'))
    const first: number[] = []
    const plain: number[] = []
    let mirror: FleetMirror | undefined
    for (let r = 0; r < options.repetitions + 1; r++) {
      mirror?.close()
      FleetMirror.remove(join(root, `laptop-${r}`))
      mirror = FleetMirror.open(join(root, `laptop-${r}`))
      const engine = new FleetSync({ mirror, ledger, laptop: 'DEPOT-1' })
      const ours = await timed(() => engine.sync(laptop))
      sample()
      if (ours.value.pulled !== options.entries) throw new Error(`first sync pulled ${ours.value.pulled}`)
      const bare = await timed(() => laptop.query(`SELECT ${PLAIN_COLUMNS} FROM vkey_fleet.entries WHERE laptop <> $1`, ['DEPOT-1']))
      if (bare.value.rowCount !== options.entries) throw new Error('plain query miscounted')
      if (r > 0) {
        first.push(ours.ms)
        plain.push(bare.ms)
      } // the first round warms the caches
    }
    const firstSync = {
      oursMedianMs: round(median(first), 1),
      plainMedianMs: round(median(plain), 1),
      ratio: round(median(first) / median(plain), 2),
      runsMs: first.map((v) => round(v, 1)),
    }
    log(`10a. first sync ${firstSync.oursMedianMs} ms, plain query ${firstSync.plainMedianMs} ms → ${firstSync.ratio} ×`)

    const steadyOurs: number[] = []
    const steadyPlain: number[] = []
    let next = options.entries + 1
    const engine = new FleetSync({ mirror: mirror!, ledger, laptop: 'DEPOT-1' })
    const plainQuery = (cursor: number) => () =>
      laptop.query(`SELECT ${PLAIN_COLUMNS} FROM vkey_fleet.entries WHERE seq > $1 AND laptop <> $2`, [cursor, 'DEPOT-1'])
    for (let r = 0; r < options.steadyRounds + 1; r++) {
      const cursor = mirror!.number('remote_cursor')
      await seed(owner, options.steady, options.laptops, next)
      next += options.steady
      // The first read of rows just written sets their hint bits on the server: done here, so
      // neither timed read pays it. The order alternates, so neither always runs on a warmer cache.
      await owner.query('SELECT count(*) FROM vkey_fleet.entries WHERE seq > $1', [cursor])
      const plainFirst = r % 2 === 0
      const bare1 = plainFirst ? await timed(plainQuery(cursor)) : undefined
      const ours = await timed(() => engine.sync(laptop))
      const bare = bare1 ?? (await timed(plainQuery(cursor)))
      if (ours.value.pulled !== options.steady || bare.value.rowCount !== options.steady) throw new Error('steady sync miscounted')
      if (r > 0) {
        steadyOurs.push(ours.ms)
        steadyPlain.push(bare.ms)
      }
    }
    const steady = {
      entries: options.steady,
      oursMedianMs: round(median(steadyOurs), 2),
      plainMedianMs: round(median(steadyPlain), 2),
      ratio: round(median(steadyOurs) / median(steadyPlain), 2),
    }
    log(`10b. steady sync of ${options.steady}: ${steady.oursMedianMs} ms, plain query ${steady.plainMedianMs} ms → ${steady.ratio} ×`)

    const fleetMs: number[] = []
    const localMs: number[] = []
    for (let i = 0; i < options.claims; i++) {
      const vin = `VF3CLAIM${String(i).padStart(9, '0')}`
      const entry = issuedEntry(vin, 'Bench')
      const fleet = await timed(async () => {
        const claim = await claimVehicle(laptop, 'DEPOT-1', { vehicleKey: vin, windowEnd: entry.expires!, technician: 'Bench' })
        if (!claim.ok) throw new Error('claim refused')
        await recordIssued(laptop, claim.claimId, toFleetEntry('DEPOT-1', entry))
      })
      const local = await timed(async () => {
        ledger.db.transaction(() => {
          ledger.db.prepare(`SELECT id FROM ledger WHERE json ->> '$.vehicleKey' = ? AND json ->> '$.status' = 'issued'`).get(vin)
          ledger.put(entry)
        })()
      })
      fleetMs.push(fleet.ms)
      localMs.push(local.ms)
    }
    const claim = { fleetMedianMs: round(median(fleetMs), 2), localMedianMs: round(median(localMs), 3), ratio: round(median(fleetMs) / median(localMs), 1) }
    log(`10c. claim round trip ${claim.fleetMedianMs} ms (local-only ledger ${claim.localMedianMs} ms)`)
    mirror?.close()
    ledger.close()
    await owner.end()
    await laptop.end()
    return { entries: options.entries, laptops: options.laptops, firstSync, steady, claim, peakRssMB: round(peakRss / 1048576, 1) }
  } finally {
    await pgs.close()
    await removeQuietly(root)
  }
}
