/**
 * Every `vkey` command that opens the depot closes it, whether it succeeds or fails: no
 * handle on the ledger (ledger.db and its WAL files) and no connection to PSA is left
 * behind in the process. Commands run in this process (the same code as the binary),
 * against the real simulator over mutual TLS, and the process's open files are read from
 * /proc before and after each one.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { Depot } from '../../electron/core/depot'
import { openStore } from '../../electron/core/settings-store'
import { carDataJson, setupDepot, vinFor, vkey } from '../helpers/depot-env'

/** The files of this process open on the ledger of `dataDir`. */
function ledgerHandles(dataDir: string): string[] {
  const found: string[] = []
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`)
      if (target.startsWith(join(dataDir, 'ledger.db'))) found.push(target)
    } catch {
      // the fd readdir itself used, gone by now
    }
  }
  return found.sort()
}

/** Established TCP connections to or from `port` on this machine (both ends of a connection to the in-process simulator). */
function connectionsOn(port: number): number {
  let count = 0
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines: string[]
    try {
      lines = readFileSync(table, 'utf8').trim().split('\n').slice(1)
    } catch {
      continue
    }
    for (const line of lines) {
      const [, local, remote, state] = line.trim().split(/\s+/)
      const ports = [local, remote].map((address) => parseInt(address!.split(':').at(-1)!, 16))
      if (state === '01' && ports.includes(port)) count += 1
    }
  }
  return count
}

/** Waits, bounded, until no connection to `port` is left (a closed client's socket ends at once; a kept-alive one would stay for seconds). */
async function noConnectionsLeft(port: number, withinMs = 1_500): Promise<number> {
  const deadline = Date.now() + withinMs
  while (connectionsOn(port) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  return connectionsOn(port)
}

test('the probe sees an open ledger: a depot that has read its handovers holds ledger.db until it is closed', async (t) => {
  const { dataDir } = await setupDepot(t)
  const before = ledgerHandles(dataDir)
  const depot = await Depot.open({ dataDir, store: openStore(dataDir) })
  await depot.handovers()
  assert.ok(ledgerHandles(dataDir).length > before.length, 'an open ledger is seen')
  await depot.close()
  assert.deepEqual(ledgerHandles(dataDir), before)
})

test('every command that opens the depot closes it, on success and on failure: no ledger handle and no PSA connection left', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t)
  const folder = join(dataDir, '..')
  const [car1, car2] = [join(folder, 'car-1.json'), join(folder, 'car-2.json')]
  await writeFile(car1, carDataJson(vinFor(91)))
  await writeFile(car2, carDataJson(vinFor(92)))
  const steps: { argv: string[]; code: number }[] = [
    { argv: ['profile', 'list'], code: 0 },
    { argv: ['profile', 'default', 'sim'], code: 0 },
    { argv: ['cert', 'show'], code: 0 },
    { argv: ['token', '--cardata', car1, '--duration', '1h'], code: 0 },
    { argv: ['batch', car2, '--duration', '1h'], code: 0 },
    { argv: ['list'], code: 0 },
    { argv: ['show', 'no-such-id'], code: 2 },
    { argv: ['pack', '--all-valid', '--out', join(folder, 'pack.pdf')], code: 0 },
    { argv: ['audit', '--csv', join(folder, 'audit.csv')], code: 0 },
    { argv: ['purge-expired'], code: 0 },
    { argv: ['queue', 'list'], code: 0 },
    { argv: ['queue', 'flush'], code: 0 },
    { argv: ['queue', 'cancel', 'no-such-id'], code: 2 },
    {
      argv: [
        'cert',
        'request',
        '--email',
        'it@depot.example',
        '--country',
        'FR',
        '--state',
        'IDF',
        '--locality',
        'Paris',
        '--org',
        'Depot SA',
        '--out',
        join(folder, 'depot.csr'),
      ],
      code: 0,
    },
    { argv: ['fleet', 'status'], code: 0 },
    { argv: ['fleet', 'sync'], code: 3 },
    { argv: ['list', '--fleet'], code: 3 },
    { argv: ['audit', '--fleet', '--csv', join(folder, 'fleet.csv')], code: 3 },
    { argv: ['fleet', 'leave'], code: 0 },
    { argv: ['token', '--cardata', car1, '--duration', '1h', '--profile', 'nope'], code: 3 },
    { argv: ['profile', 'add', 'demo', '--env', 'simulator'], code: 0 },
    { argv: ['profile', 'remove', 'demo'], code: 0 },
    { argv: ['vault', 'rotate'], code: 0 },
  ]
  const before = ledgerHandles(dataDir)
  for (const { argv, code } of steps) {
    const what = `vkey ${argv.join(' ')}`
    const result = await vkey(argv, env)
    assert.equal(result.code, code, `${what}: ${result.stderr}`)
    assert.deepEqual(ledgerHandles(dataDir), before, `${what} leaves no handle on the ledger`)
    assert.equal(await noConnectionsLeft(simulator.port), 0, `${what} leaves no connection to PSA open`)
  }
  // The keys were really asked for over the network (the connection check had something to see).
  assert.ok(simulator.requests.length >= 2, `${simulator.requests.length} requests reached the simulator`)
  const listed = JSON.parse((await vkey(['list', '--json'], env)).stdout) as { status: string }[]
  assert.equal(listed.filter((r) => r.status === 'issued').length, 2)
})
