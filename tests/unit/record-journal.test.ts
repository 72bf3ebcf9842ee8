/**
 * The snapshot + change-log store under the handover history: what survives a reopen, a
 * torn append from a killed process, compaction, and two processes writing in turn.
 */
import assert from 'node:assert/strict'
import { appendFile, readFile, stat, writeFile } from 'node:fs/promises'
import { test } from 'node:test'
import { z } from 'zod'
import { RecordJournal } from '../../electron/core/record-journal'
import { tempFolder } from '../helpers/depot-env'

const Item = z.object({ id: z.string(), n: z.number() })
type Item = z.infer<typeof Item>

function journal(dir: string, compactBytes?: number): RecordJournal<Item> {
  return new RecordJournal<Item>({ dir, name: 'items', parseRecord: (value) => Item.parse(value), ...(compactBytes ? { compactBytes } : {}) })
}

function put(item: Item) {
  return (records: Item[]) => {
    const at = records.findIndex((r) => r.id === item.id)
    if (at >= 0) records[at] = item
    else records.push(item)
  }
}

test('changes are appended to the log and read back by a new instance, with the files private', async (t) => {
  const dir = await tempFolder(t)
  const first = journal(dir)
  await Promise.all([first.mutate(put({ id: 'a', n: 1 })), first.mutate(put({ id: 'b', n: 2 }))])
  await first.mutate(put({ id: 'a', n: 3 }))
  await first.mutate((records) => {
    records.splice(records.findIndex((r) => r.id === 'b'), 1)
  })
  assert.deepEqual(await journal(dir).read(), [{ id: 'a', n: 3 }])
  const log = await readFile(first.logFile, 'utf8')
  assert.equal(log.trim().split('\n').length, 4, 'one line per changed record, no rewrite')
  assert.equal((await stat(first.logFile)).mode & 0o777, 0o600)
})

test('a torn last line left by a killed writer is ignored, then cut before the next append', async (t) => {
  const dir = await tempFolder(t)
  const store = journal(dir)
  await store.mutate(put({ id: 'a', n: 1 }))
  await appendFile(store.logFile, '{"put":{"id":"b","n"') // the process died mid-write
  const reopened = journal(dir)
  assert.deepEqual(await reopened.read(), [{ id: 'a', n: 1 }])
  await reopened.mutate(put({ id: 'c', n: 3 }))
  assert.deepEqual(await journal(dir).read(), [{ id: 'a', n: 1 }, { id: 'c', n: 3 }])
  assert.ok(!(await readFile(store.logFile, 'utf8')).includes('"id":"b"'), 'the torn bytes are gone')
})

test('a corrupted line in the middle is a clear error naming the file, not a silent loss', async (t) => {
  const dir = await tempFolder(t)
  const store = journal(dir)
  await store.mutate(put({ id: 'a', n: 1 }))
  await appendFile(store.logFile, 'garbage\n{"put":{"id":"b","n":2}}\n')
  await assert.rejects(journal(dir).read(), (error: Error & { code?: string }) => error.code === 'config.vault' && /items\.log/.test(error.message) && /line 2/.test(error.message))
})

test('past the threshold the log is folded into an atomic snapshot and emptied', async (t) => {
  const dir = await tempFolder(t)
  const store = journal(dir, 2048)
  for (let i = 0; i < 100; i += 1) await store.mutate(put({ id: `id-${i % 10}`, n: i }))
  assert.ok((await stat(store.logFile)).size < 2048 + 200)
  const snapshot = JSON.parse(await readFile(store.snapshotFile, 'utf8')) as { records: Item[] }
  assert.ok(snapshot.records.length > 0, 'a snapshot was written')
  const expected = Array.from({ length: 10 }, (_, k) => ({ id: `id-${k}`, n: 90 + k }))
  assert.deepEqual(await journal(dir).read(), expected)
})

test('a crash between the new snapshot and emptying the log replays to the same state', async (t) => {
  const dir = await tempFolder(t)
  const store = journal(dir)
  await store.mutate(put({ id: 'a', n: 1 }))
  await store.mutate(put({ id: 'a', n: 2 }))
  const log = await readFile(store.logFile, 'utf8')
  // The snapshot of the final state is written, the log not yet emptied.
  await writeFile(store.snapshotFile, JSON.stringify({ version: 1, records: [{ id: 'a', n: 2 }] }))
  await writeFile(store.logFile, log)
  assert.deepEqual(await journal(dir).read(), [{ id: 'a', n: 2 }])
})

test('two instances (two processes) writing in turn see each other and lose nothing', async (t) => {
  const dir = await tempFolder(t)
  const app = journal(dir)
  const cli = journal(dir)
  await Promise.all(
    Array.from({ length: 40 }, (_, i) => ((i % 2 ? app : cli) as RecordJournal<Item>).mutate(put({ id: `v${i}`, n: i }))),
  )
  assert.equal((await app.read()).length, 40)
  assert.equal((await cli.read()).length, 40)
  assert.deepEqual((await journal(dir).read()).map((r) => r.n).sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i))
})
