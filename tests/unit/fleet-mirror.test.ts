/**
 * fleet.db of the first version (entries WITHOUT ROWID) is upgraded in place when opened:
 * every entry, its "waiting to be pushed" mark and version, and the cursors are kept, and
 * pulled rows are still merged by entry id.
 */
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import test from 'node:test'
import Database from 'better-sqlite3'
import { FleetMirror, PULLED_COLUMNS, type PulledValue } from '../../electron/core/fleet/mirror'
import { liveByVehicle } from '../../electron/core/fleet/view'
import { tempFolder } from '../helpers/depot-env'

const FIRST_VERSION = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entries (
  entry_id TEXT PRIMARY KEY, laptop TEXT NOT NULL, local_id TEXT NOT NULL, vehicle_key TEXT NOT NULL, vin TEXT,
  profile TEXT NOT NULL, technician TEXT NOT NULL, issued_at TEXT NOT NULL, expires TEXT, duration_seconds INTEGER,
  batch_id TEXT, status TEXT NOT NULL, superseded_by TEXT, supersedes TEXT,
  pending INTEGER NOT NULL DEFAULT 0, version INTEGER NOT NULL DEFAULT 1, remote_seq INTEGER
) WITHOUT ROWID;
CREATE INDEX entries_pending ON entries (pending) WHERE pending = 1;
CREATE TABLE local_supersedes (local_id TEXT PRIMARY KEY, supersedes TEXT NOT NULL);
INSERT INTO meta VALUES ('remote_cursor', '41'), ('local_cursor', '7');
INSERT INTO entries VALUES ('DEPOT-1/a', 'DEPOT-1', 'a', 'VF3AAAAAAAAAAAAAA', 'VF3AAAAAAAAAAAAAA', 'sim', 'A', '2026-12-01T08:00:00.000Z', '2026-12-01T16:00:00.000Z', 28800, NULL, 'issued', NULL, NULL, 1, 3, NULL);
INSERT INTO entries VALUES ('DEPOT-2/b', 'DEPOT-2', 'b', 'VF3BBBBBBBBBBBBBB', 'VF3BBBBBBBBBBBBBB', 'sim', 'B', '2026-12-01T09:00:00.000Z', '2026-12-01T17:00:00.000Z', 28800, NULL, 'issued', NULL, NULL, 0, 1, 41);
`

test('fleet.db of the first version is upgraded in place: entries, marks and cursors kept', async (t) => {
  const dataDir = join(await tempFolder(t), 'data')
  mkdirSync(dataDir)
  const old = new Database(FleetMirror.fileIn(dataDir))
  old.exec(FIRST_VERSION)
  old.close()

  const mirror = FleetMirror.open(dataDir)
  t.after(() => mirror.close())
  const table = mirror.db.prepare<[], { sql: string }>("SELECT sql FROM sqlite_master WHERE name = 'entries'").get()!
  assert.doesNotMatch(table.sql, /WITHOUT ROWID/i)
  assert.deepEqual(
    mirror
      .allEntries()
      .map((e) => e.entryId)
      .sort(),
    ['DEPOT-1/a', 'DEPOT-2/b'],
  )
  assert.deepEqual(
    mirror.pending(10).map((p) => [p.entry.entryId, p.version]),
    [['DEPOT-1/a', 3]],
  )
  assert.equal(mirror.number('remote_cursor'), 41)
  assert.equal(mirror.number('local_cursor'), 7)

  // A pulled row for a known entry updates it (merged by entry id), a new one is added.
  const pulled = (id: string, status: string, seq: number): PulledValue[] => {
    const row: Record<string, PulledValue> = {
      entry_id: id,
      laptop: 'DEPOT-2',
      local_id: id.split('/')[1]!,
      vehicle_key: 'VF3BBBBBBBBBBBBBB',
      vin: 'VF3BBBBBBBBBBBBBB',
      profile: 'sim',
      technician: 'B',
      issued_at: '2026-12-01T09:00:00.000Z',
      expires: '2026-12-01T17:00:00.000Z',
      duration_seconds: 28800,
      batch_id: null,
      status,
      superseded_by: null,
      supersedes: null,
      seq,
    }
    return PULLED_COLUMNS.map((c) => row[c]!)
  }
  mirror.applyRemote([pulled('DEPOT-2/b', 'handed-over', 42), pulled('DEPOT-2/c', 'issued', 43)], 43)
  assert.deepEqual(
    mirror
      .allEntries()
      .map((e) => [e.entryId, e.status])
      .sort(),
    [
      ['DEPOT-1/a', 'issued'],
      ['DEPOT-2/b', 'handed-over'],
      ['DEPOT-2/c', 'issued'],
    ],
  )
  assert.equal(mirror.number('remote_cursor'), 43)

  // Opened again: nothing left to upgrade, nothing lost.
  mirror.close()
  const again = FleetMirror.open(dataDir)
  assert.equal(again.allEntries().length, 3)
  again.close()
})

test("the fleet's view lists, under each car, the keys PSA still honours that are not live: superseded, or unreadable on their laptop", async (t) => {
  const dataDir = join(await tempFolder(t), 'data')
  mkdirSync(dataDir)
  const mirror = FleetMirror.open(dataDir)
  t.after(() => mirror.close())
  const now = new Date('2026-12-01T12:00:00.000Z')
  const row = (id: string, car: string, status: string, expires: string, supersedes: string | null = null): PulledValue[] => {
    const values: Record<string, PulledValue> = {
      entry_id: id,
      laptop: id.split('/')[0]!,
      local_id: id.split('/')[1]!,
      vehicle_key: car,
      vin: car,
      profile: 'sim',
      technician: 'T',
      issued_at: '2026-12-01T08:00:00.000Z',
      expires,
      duration_seconds: 28800,
      batch_id: null,
      status,
      superseded_by: null,
      supersedes,
      seq: 0,
    }
    return PULLED_COLUMNS.map((c) => values[c] ?? null)
  }
  mirror.applyRemote(
    [
      row('DEPOT-1/old', 'VF3AAAAAAAAAAAAAA', 'issued', '2026-12-01T16:00:00.000Z'),
      row('DEPOT-2/new', 'VF3AAAAAAAAAAAAAA', 'issued', '2026-12-01T18:00:00.000Z', 'DEPOT-1/old'),
      row('DEPOT-1/lost', 'VF3BBBBBBBBBBBBBB', 'unreadable', '2026-12-01T15:00:00.000Z'),
      row('DEPOT-1/gone', 'VF3CCCCCCCCCCCCCC', 'unreadable', '2026-12-01T11:00:00.000Z'),
      row('DEPOT-1/done', 'VF3DDDDDDDDDDDDDD', 'expired', '2026-12-01T16:00:00.000Z'),
    ],
    5,
  )
  assert.deepEqual(
    liveByVehicle(mirror, now).map((v) => [v.vehicleKey, v.keys.map((k) => k.entryId), v.stillValid.map((k) => k.entryId)]),
    [
      ['VF3AAAAAAAAAAAAAA', ['DEPOT-2/new'], ['DEPOT-1/old']],
      ['VF3BBBBBBBBBBBBBB', [], ['DEPOT-1/lost']],
    ],
  )
})
