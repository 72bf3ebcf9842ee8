/**
 * VK Depot's locks other than the ledger's are broken only when their owner process is
 * gone: a process paused inside a lock (SIGSTOP, as a suspended laptop) keeps it however
 * long it sleeps, and the others say "busy" with its pid. A reused PID does not count.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { test, type TestContext } from 'node:test'
import { openStore } from '../../electron/core/settings-store'
import { BatchRunner } from '../../electron/core/batch'
import { Depot } from '../../electron/core/depot'
import { acquireOwnerLock, settingsLock } from '../../electron/core/owner-lock'
import { ProfileStore } from '../../electron/core/profiles'
import { ROOT, tempFolder } from '../helpers/depot-env'

/** A child process that takes the lock, says "locked", and releases it when told "release". */
function lockHolder(t: TestContext, lockPath: string): { child: ChildProcess; next: () => Promise<string> } {
  const script = `
    import { acquireOwnerLock } from ${JSON.stringify(join(ROOT, 'electron/core/owner-lock.ts'))}
    import { createInterface } from 'node:readline'
    const release = await acquireOwnerLock(${JSON.stringify(lockPath)}, { what: 'the test lock' })
    console.log('locked')
    for await (const line of createInterface({ input: process.stdin })) {
      if (line === 'release') { await release(); console.log('released'); process.exit(0) }
    }
  `
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] })
  t.after(() => child.kill('SIGKILL'))
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  return { child, next: async () => String((await lines.next()).value) }
}

test('a lock whose owner is paused longer than any timeout is not stolen; the waiter says busy with its pid', async (t) => {
  const dir = await tempFolder(t)
  const lockPath = join(dir, 'x.lock')
  const holder = lockHolder(t, lockPath)
  assert.equal(await holder.next(), 'locked')
  holder.child.kill('SIGSTOP')
  t.after(() => holder.child.kill('SIGCONT'))
  // Asleep for an hour, as far as the lock file's age can tell: age is no reason to break it.
  await utimes(lockPath, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000))
  const before = await readFile(lockPath, 'utf8')

  await assert.rejects(acquireOwnerLock(lockPath, { what: 'The test folder', waitMs: 300 }), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'config.busy')
    assert.match(error.message, new RegExp(`The test folder is busy: another VK Depot process, pid ${holder.child.pid}, holds it`))
    return true
  })
  assert.equal(await readFile(lockPath, 'utf8'), before, 'the paused owner still holds its lock')

  // Woken up, it still owns the lock and releases it; then the other process gets it.
  holder.child.kill('SIGCONT')
  holder.child.stdin!.write('release\n')
  assert.equal(await holder.next(), 'released')
  const release = await acquireOwnerLock(lockPath, { what: 'The test folder', waitMs: 300 })
  await release()
})

test('a lock whose owner is gone, or whose PID now belongs to another process, is broken at once', async (t) => {
  const dir = await tempFolder(t)
  const lockPath = join(dir, 'y.lock')
  const holder = lockHolder(t, lockPath)
  assert.equal(await holder.next(), 'locked')
  holder.child.kill('SIGKILL')
  await once(holder.child, 'exit')
  const release = await acquireOwnerLock(lockPath, { what: 'The test folder', waitMs: 0 })
  await release()

  // A live PID (ours) with another start time: the process that wrote it is gone, the PID was reused.
  await writeFile(lockPath, JSON.stringify({ owner: { pid: process.pid, start: 'another-start', host: hostname() }, nonce: 'old' }))
  const again = await acquireOwnerLock(lockPath, { what: 'The test folder', waitMs: 0 })
  await again()
})

test('two simulators starting on a new folder at once share one consistent set of key material', async (t) => {
  const dir = join(await tempFolder(t), 'sim')
  const script = `
    import { loadSimulatorMaterial } from ${JSON.stringify(join(ROOT, 'electron/core/simulator/material.ts'))}
    const m = await loadSimulatorMaterial(${JSON.stringify(dir)})
    console.log(JSON.stringify({ login: m.credentials.login, partner: m.partner.certPem, ca: m.partnerCa.certPem }))
  `
  const run = () =>
    new Promise<{ login: string; partner: string; ca: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
      let out = ''
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
      child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as { login: string; partner: string; ca: string }) : reject(new Error(`exit ${code}`))))
    })
  const [a, b] = await Promise.all([run(), run()])
  assert.deepEqual(a, b, 'both simulators use the same material')
  const { loadSimulatorMaterial } = await import('../../electron/core/simulator/material')
  const material = await loadSimulatorMaterial(dir)
  assert.equal(material.credentials.login, a.login)
  assert.equal(material.partner.certPem, a.partner)
})

test('a batch journal whose process is paused is not resumed by another; one whose process is gone is', async (t) => {
  const dataDir = join(await tempFolder(t), 'data')
  const depot = await Depot.open({ dataDir, store: openStore(dataDir) })
  t.after(() => depot.close())
  const sleeper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
  t.after(() => sleeper.kill('SIGKILL'))
  await once(sleeper, 'spawn')
  sleeper.kill('SIGSTOP')
  const { processStartTime } = await import('../../electron/core/process-owner')
  const gone = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await once(gone, 'exit')
  await mkdir(join(dataDir, 'batches'), { recursive: true })
  const journal = (id: string, pid: number, start: string) => ({
    id,
    ids: ['a'],
    plan: { kind: 'seconds', seconds: 60 },
    concurrency: 1,
    createdAt: new Date().toISOString(),
    pid,
    owner: { pid, start, host: hostname() },
  })
  await writeFile(join(dataDir, 'batches', 'bpaused.json'), JSON.stringify(journal('bpaused', sleeper.pid!, processStartTime(sleeper.pid!)!)))
  await writeFile(join(dataDir, 'batches', 'bgone.json'), JSON.stringify(journal('bgone', gone.pid!, '1')))
  const unfinished = await new BatchRunner(depot).unfinished()
  assert.deepEqual(
    unfinished.map((j) => j.id),
    ['bgone'],
  )
})

test('the settings file: a profile save waits for a paused owner of its lock, says busy, and saves once it is released', async (t) => {
  const dir = join(await tempFolder(t), 'data')
  await mkdir(dir)
  const store = openStore(dir)
  const profiles = new ProfileStore(store, undefined, settingsLock(dir, 300))
  profiles.save({ name: 'first', environment: 'preprod', baseUrl: 'https://api-preprod.groupe-psa.com/connectedcar/v3', clientId: 'c', login: 'MZP000001' })
  const holder = lockHolder(t, join(dir, 'settings.lock'))
  assert.equal(await holder.next(), 'locked')
  holder.child.kill('SIGSTOP')
  t.after(() => holder.child.kill('SIGCONT'))

  const second = {
    name: 'second',
    environment: 'preprod' as const,
    baseUrl: 'https://api-preprod.groupe-psa.com/connectedcar/v3',
    clientId: 'c',
    login: 'MZP000002',
  }
  assert.throws(() => profiles.save(second), new RegExp(`The settings file in .* is busy: another VK Depot process, pid ${holder.child.pid}, holds it`))
  assert.deepEqual(
    profiles.list().map((p) => p.name),
    ['first'],
    'nothing written past a live lock',
  )

  holder.child.kill('SIGCONT')
  holder.child.stdin!.write('release\n')
  assert.equal(await holder.next(), 'released')
  profiles.save(second)
  assert.deepEqual(
    profiles.list().map((p) => p.name),
    ['first', 'second'],
  )
})
