/**
 * The fleet's claim on the real request path: two data folders (two depots, each with the real
 * simulator over mutual TLS) joined with `vkey fleet join` to one real PostgreSQL, driven through
 * the real CLI (`vkey token`, `vkey batch`, `vkey queue flush`). A issues; B is refused with A's
 * technician and laptop and sends nothing to PSA; B with --new gets its own key and A's is
 * superseded fleet-wide; a request B queued offline goes through the claim when flushed.
 */
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'node:test'
import { technician } from '../../electron/core/technician'
import { startSimulator } from '../../electron/core/simulator'
import { formatLocal } from '../../shared/time'
import { carDataJson, escapeRe, tempFolder, vinFor, vkey, writeVehicleFiles, type TestDepot } from '../helpers/depot-env'
import { cliLaptop, startFleetServer } from '../helpers/fleet-env'
import { postgresMissing } from '../helpers/postgres'

const missing = postgresMissing()
if (missing) console.log(`# fleet PSA tests skipped: ${missing}`)

interface FleetKey {
  entry_id: string
  laptop: string
  technician: string
}

interface FleetList {
  stale: boolean
  vehicles: Array<{ vin: string; conflict: boolean; keys: FleetKey[]; still_valid_not_live: FleetKey[] }>
}

async function fleetList(laptop: TestDepot): Promise<FleetList> {
  const listed = await vkey(['list', '--fleet', '--json'], laptop.env)
  assert.equal(listed.code, 0, listed.stderr)
  return JSON.parse(listed.stdout) as FleetList
}

test(
  "vkey token: A issues; B is refused with A's technician and laptop (exit 7, zero requests to PSA); B --new → A's key superseded on both",
  { skip: Boolean(missing) },
  async (t) => {
    const server = await startFleetServer(t)
    const a = await cliLaptop(t, server, 'DEPOT-1')
    const b = await cliLaptop(t, server, 'DEPOT-2')
    const vin = vinFor(1521)
    const car = join(await tempFolder(t), 'car.json')
    await writeFile(car, carDataJson(vin))

    const first = await vkey(['token', '--cardata', car, '--duration', '8h', '--json'], a.env)
    assert.equal(first.code, 0, first.stderr)
    const aKey = JSON.parse(first.stdout) as { id: string; expires: string }
    assert.equal(a.simulator.stats.tokensIssued, 1)
    const status = JSON.parse((await vkey(['fleet', 'status', '--json'], a.env)).stdout) as { waiting: number }
    assert.equal(status.waiting, 0, 'the key was recorded fleet-wide with the claim, nothing waits')

    const refused = await vkey(['token', '--cardata', car, '--duration', '4h'], b.env)
    assert.equal(refused.code, 7, refused.stderr)
    const until = formatLocal(aKey.expires)
    assert.match(refused.stderr, new RegExp(`^vkey: ${vin} has a key until ${escapeRe(until)}, issued by ${escapeRe(technician())} on DEPOT-1\\. .*--new`))
    assert.equal(b.simulator.stats.requests, 0, 'B sent nothing to PSA')
    const audit = join(await tempFolder(t), 'audit.csv')
    assert.equal((await vkey(['audit', '--csv', audit], b.env)).code, 0)
    assert.match(
      await readFile(audit, 'utf8'),
      new RegExp(`,sim,${vin},,14400,refused,,,"${vin} has a key until [^"]+ on DEPOT-1\\. [^"]+",fleet\\.held,`),
      "B's audit has the refusal, with the profile and the duration asked (4 h)",
    )

    // The fleet server out of reach: what B's last sync brought still refuses it, and A's reuse says it could not ask.
    await fleetList(b)
    await server.pg.stop()
    const offline = await vkey(['token', '--cardata', car, '--duration', '4h'], b.env)
    assert.equal(offline.code, 7, offline.stderr)
    assert.match(offline.stderr, /on DEPOT-1\. .*\(The fleet server could not be reached: as of the last sync, \w{3} \d{4}-\d\d-\d\d /)
    assert.equal(b.simulator.stats.requests, 0, 'B sent nothing to PSA while offline either')
    const unchecked = await vkey(['token', '--cardata', car, '--duration', '2h'], a.env)
    assert.equal(unchecked.code, 0, unchecked.stderr)
    assert.match(
      unchecked.stderr,
      /already has a key until .*\nvkey: The fleet server could not be asked whether another laptop has superseded this key since the last sync/,
    )
    await server.pg.start()

    // A's own covering key is reused: no claim, nothing sent.
    const reused = await vkey(['token', '--cardata', car, '--duration', '2h'], a.env)
    assert.equal(reused.code, 0, reused.stderr)
    assert.match(reused.stderr, /already has a key until/)
    assert.equal(a.simulator.stats.requests, 1)

    const forced = await vkey(['token', '--cardata', car, '--duration', '4h', '--new', '--json'], b.env)
    assert.equal(forced.code, 0, forced.stderr)
    const bKey = JSON.parse(forced.stdout) as { id: string }
    assert.equal(b.simulator.stats.tokensIssued, 1)
    assert.match(
      forced.stderr,
      new RegExp(
        `vkey: ${vin} also has a key issued by ${escapeRe(technician())} on DEPOT-1, valid until ${escapeRe(until)}: it is now marked superseded fleet-wide`,
      ),
      'B is told whose key its own supersedes',
    )
    // A has not synced: its key, superseded by B's, is not handed out again; the request meets B's claim instead.
    const afterNew = await vkey(['token', '--cardata', car, '--duration', '2h'], a.env)
    assert.equal(afterNew.code, 7, afterNew.stderr)
    assert.match(afterNew.stderr, new RegExp(`^vkey: ${vin} has a key until .*, issued by ${escapeRe(technician())} on DEPOT-2\\.`))
    assert.equal(a.simulator.stats.requests, 1, 'A sent nothing more to PSA')

    for (const side of [a, b]) {
      const view = await fleetList(side)
      assert.equal(view.stale, false)
      assert.deepEqual(
        view.vehicles.map((v) => [v.vin, v.conflict, v.keys.map((k) => k.entry_id), v.still_valid_not_live.map((k) => k.entry_id)]),
        [[vin, false, [`DEPOT-2/${bKey.id}`], [`DEPOT-1/${aKey.id}`]]],
        "only B's key is live fleet-wide; A's, superseded, is still listed: it opens the car until it expires",
      )
    }
    const human = await vkey(['list', '--fleet'], b.env)
    assert.match(
      human.stdout,
      new RegExp(
        `\\n    superseded, still opens the car until ${escapeRe(until)}  .* on DEPOT-1  \\(DEPOT-1/${escapeRe(aKey.id)}\\): keep it out of circulation\\n`,
      ),
    )
    const fleetAudit = join(await tempFolder(t), 'fleet.csv')
    assert.equal((await vkey(['audit', '--fleet', '--csv', fleetAudit], b.env)).code, 0)
    const aRow = (await readFile(fleetAudit, 'utf8')).split('\r\n').find((line) => line.includes(`,DEPOT-1/${aKey.id},`))
    assert.match(aRow ?? '', new RegExp(`,superseded,no,DEPOT-2/${escapeRe(bKey.id)},,DEPOT-1/${escapeRe(aKey.id)},,yes,[^,]+,${escapeRe(until)}$`))
    const aLedger = JSON.parse((await vkey(['list', '--json'], a.env)).stdout) as Array<{
      id: string
      status: string
      superseded_by: string | null
      still_valid_at_psa: boolean
    }>
    const aEntry = aLedger.find((r) => r.id === aKey.id)
    assert.deepEqual(
      [aEntry?.status, aEntry?.superseded_by, aEntry?.still_valid_at_psa],
      ['superseded', `DEPOT-2/${bKey.id}`, true],
      "A's own ledger marks its key superseded by B's",
    )
    // `vkey show` on A sends the technician to the laptop that holds the new key, with a command that works there.
    const shown = await vkey(['show', aKey.id], a.env)
    assert.equal(shown.code, 2, shown.stderr)
    assert.match(
      shown.stderr,
      new RegExp(
        `superseded by a key issued on laptop DEPOT-2 \\(fleet entry DEPOT-2/${escapeRe(bKey.id)}\\): that laptop hands it over, with \`vkey show ${escapeRe(bKey.id)}\` there`,
      ),
    )
    assert.equal((await vkey(['show', bKey.id], b.env)).code, 0, 'the command it names works on B')
  },
)

test(
  "a laptop's own renewal is shared with the new key: no other laptop ever sees two live keys (no false conflict)",
  { skip: Boolean(missing) },
  async (t) => {
    const server = await startFleetServer(t)
    const a = await cliLaptop(t, server, 'DEPOT-1')
    const b = await cliLaptop(t, server, 'DEPOT-2')
    const vin = vinFor(1531)
    const car = join(await tempFolder(t), 'car.json')
    await writeFile(car, carDataJson(vin))
    assert.equal((await vkey(['token', '--cardata', car, '--duration', '1h'], b.env)).code, 0)
    const renewed = await vkey(['token', '--cardata', car, '--duration', '3h', '--json'], b.env)
    assert.equal(renewed.code, 0, renewed.stderr)
    const newKey = JSON.parse(renewed.stdout) as { id: string }
    assert.equal(b.simulator.stats.tokensIssued, 2, 'a longer window: a second key')
    const status = JSON.parse((await vkey(['fleet', 'status', '--json'], b.env)).stdout) as { waiting: number }
    assert.equal(status.waiting, 0, 'both changes went to the server with the new key')
    const view = await fleetList(a)
    assert.deepEqual(
      view.vehicles.map((v) => [v.vin, v.conflict, v.keys.map((k) => k.entry_id)]),
      [[vin, false, [`DEPOT-2/${newKey.id}`]]],
      "A sees B's newest key only, before B ever syncs",
    )
  },
)

test(
  'vkey batch and vkey queue flush go through the claim: refused vehicles count as failed with zero requests; a request queued offline is refused when flushed',
  { skip: Boolean(missing) },
  async (t) => {
    const server = await startFleetServer(t)
    const a = await cliLaptop(t, server, 'DEPOT-1')
    const b = await cliLaptop(t, server, 'DEPOT-2')
    const cars = await writeVehicleFiles(join(await tempFolder(t), 'cars'), 4, 1600)

    const aBatch = await vkey(['batch', ...cars.slice(0, 3), '--duration', '8h'], a.env)
    assert.equal(aBatch.code, 0, aBatch.stderr)
    assert.match(aBatch.stdout, /3 issued, 0 renewed, 0 reused, 0 queued, 0 failed/)

    const bBatch = await vkey(['batch', ...cars, '--duration', '4h', '--json'], b.env)
    assert.equal(bBatch.code, 7, bBatch.stderr)
    const summary = JSON.parse(bBatch.stdout) as { counts: Record<string, number>; failed: Array<{ what: string; code: string; message: string }> }
    assert.deepEqual(summary.counts, { issued: 1, renewed: 0, reused: 0, queued: 0, failed: 3 })
    assert.deepEqual(
      summary.failed.map((f) => [f.what, f.code]).sort(),
      [0, 1, 2].map((i) => [vinFor(1600 + i), 'fleet.held']),
    )
    for (const f of summary.failed)
      assert.match(f.message, new RegExp(`^${f.what} has a key until .*, issued by .* on DEPOT-1\\. .*\`vkey token --cardata FILE --new\``))
    assert.equal(b.simulator.stats.requests, 1, 'B asked PSA only for the car nobody held')
    const human = await vkey(['batch', ...cars.slice(0, 1), '--duration', '4h'], b.env)
    assert.match(human.stdout, /0 issued, 0 renewed, 0 reused, 0 queued, 1 failed/)
    assert.match(human.stdout, new RegExp(`failed: ${vinFor(1600)} has a key until .* on DEPOT-1`)) // the VIN said once

    // B queues a request while its PSA cannot be reached (the claim is released, nothing held) ...
    const late = join(await tempFolder(t), 'late.json')
    await writeFile(late, carDataJson(vinFor(1650)))
    const port = b.simulator.port
    await b.simulator.close()
    const queued = await vkey(['token', '--cardata', late, '--duration', '4h'], b.env)
    assert.equal(queued.code, 6, queued.stderr)
    // ... A gets a key for that car meanwhile ...
    const aLate = await vkey(['token', '--cardata', late, '--duration', '8h'], a.env)
    assert.equal(aLate.code, 0, aLate.stderr)
    // ... and B's flush, with its PSA back, claims first: refused, zero requests.
    const back = await startSimulator({ dir: b.simulator.material.dir, port })
    t.after(() => back.close())
    const flushed = await vkey(['queue', 'flush'], b.env)
    assert.equal(flushed.code, 7, flushed.stderr)
    assert.match(flushed.stdout, /Queue: 0 sent, 1 refused, 0 still waiting/)
    assert.match(flushed.stdout, new RegExp(`refused: ${vinFor(1650)}: ${vinFor(1650)} has a key until .* on DEPOT-1`))
    assert.equal(back.stats.requests, 0, 'the flushed request never reached PSA')
  },
)
