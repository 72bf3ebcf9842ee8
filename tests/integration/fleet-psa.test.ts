/**
 * The fleet around real requests to PSA: two data folders (two depots, each with the real
 * simulator over mutual TLS) against one real PostgreSQL. A issues; B is refused with A's name
 * and sends nothing to PSA; B with --new gets its own key and A's is superseded fleet-wide.
 */
import assert from 'node:assert/strict'
import test from 'node:test'
import { parseCarData } from '../../shared/cardata'
import type { Depot } from '../../electron/core/depot'
import { Fleet } from '../../electron/core/fleet/fleet'
import { withFleetClaim } from '../../electron/core/fleet/gate'
import { ledgerEntryOf } from '../../electron/core/fleet/handover-ledger'
import { liveByVehicle } from '../../electron/core/fleet/view'
import { carDataJson, setupDepot, vinFor, type TestDepot } from '../helpers/depot-env'
import { LAPTOPS, startFleetServer, type FleetServerEnv, type LaptopName } from '../helpers/fleet-env'
import { postgresMissing } from '../helpers/postgres'

const missing = postgresMissing()
if (missing) console.log(`# fleet PSA tests skipped: ${missing}`)

async function laptop(t: test.TestContext, server: FleetServerEnv, name: LaptopName): Promise<TestDepot & { fleet: Fleet }> {
  const env = await setupDepot(t)
  const { fleet } = await Fleet.join(env.dataDir, await env.depot.vault(), { host: server.pg.host, port: server.pg.port, database: 'vkey_fleet', laptop: name, ...LAPTOPS[name], caPem: server.caPem })
  t.after(() => fleet.close())
  return { ...env, fleet }
}

/** What the request path does: store the vehicle, claim it fleet-wide, ask PSA, record. */
async function requestThroughFleet(depot: Depot, fleet: Fleet, cardata: string, who: string, force = false) {
  const imported = parseCarData(cardata, 'car.json')
  const [record] = await depot.addVehicles({ vehicles: imported.vehicles, issues: [] })
  const plan = { kind: 'seconds' as const, seconds: 4 * 3600 }
  const windowEnd = new Date(Date.now() + plan.seconds * 1000).toISOString()
  return withFleetClaim(fleet, { vehicleKey: record!.vin!, windowEnd, technician: who, force }, async () => {
    const { record: issued } = await depot.requestToken(record!.id, plan)
    return { value: issued, entry: ledgerEntryOf(issued, who) }
  })
}

test('fleet + PSA: A issues; B is refused with A\'s name and zero requests to PSA; B --new → A\'s key superseded on both', { skip: Boolean(missing) }, async (t) => {
  const server = await startFleetServer(t)
  const a = await laptop(t, server, 'DEPOT-1')
  const b = await laptop(t, server, 'DEPOT-2')
  const vin = vinFor(1521)
  const cardata = carDataJson(vin)

  const first = await requestThroughFleet(a.depot, a.fleet, cardata, 'A. Martin')
  assert.ok(first.kind === 'done')
  assert.equal(first.fleet, 'recorded')
  assert.equal(a.simulator.stats.tokensIssued, 1)

  const refused = await requestThroughFleet(b.depot, b.fleet, cardata, 'B. Durand')
  assert.ok(refused.kind === 'refused')
  assert.match(refused.message, new RegExp(`^${vin} has a key until \\d\\d:\\d\\d.*, issued by A\\. Martin on DEPOT-1\\.`))
  assert.equal(b.simulator.stats.requests, 0, 'B sent nothing to PSA')

  const forced = await requestThroughFleet(b.depot, b.fleet, cardata, 'B. Durand', true)
  assert.ok(forced.kind === 'done')
  assert.equal(forced.fleet, 'recorded')
  assert.equal(b.simulator.stats.tokensIssued, 1)

  for (const side of [a, b]) {
    await side.fleet.sync({ kind: 'none', entriesChangedSince: () => [], markSupersededBy: () => false })
    const live = liveByVehicle(side.fleet.mirror)
    assert.equal(live.length, 1)
    assert.equal(live[0]!.conflict, false)
    assert.deepEqual(live[0]!.keys.map((k) => k.entryId), [`DEPOT-2/${forced.value.id}`], 'only B\'s key is live fleet-wide')
  }
})
