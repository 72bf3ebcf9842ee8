/**
 * First start after the move to SQLite: the history written by VK Depot 0.1 (a snapshot
 * `handovers.json`, its change log `handovers.log`, and batch journals in `batches/`) is
 * copied into the ledger in one transaction, then the old files are moved to
 * `<data>/migrated-v0.1/` (they hold sealed data only; delete the folder once satisfied).
 *
 * The newest record of each vehicle that still holds an unexpired key becomes its live key;
 * older ones with a key are marked superseded, as the new rules would have done.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { VkError } from '../../shared/errors'
import type { HandoverStore } from './handovers'
import type { HandoverRecord } from './handover-record'

const LEGACY_FILES = ['handovers.json', 'handovers.log']
export const MIGRATED_FOLDER = 'migrated-v0.1'

export interface RecordRules {
  parse(value: unknown): HandoverRecord
  vehicleOf(record: HandoverRecord): string
}

export function migrateLegacyHistory(store: HandoverStore, dataDir: string, rules: RecordRules): void {
  const present = LEGACY_FILES.filter((name) => existsSync(join(dataDir, name)))
  const batchDir = join(dataDir, 'batches')
  const journals = existsSync(batchDir) ? readdirSync(batchDir).filter((n) => n.endsWith('.json')) : []
  if (!present.length && !journals.length) return
  const records = readLegacyRecords(dataDir)
  store.write(() => {
    const already = store.db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'migrated_v0_1'").get()
    if (already) return
    const parsed = records.map((r) => rules.parse(r))
    const liveByVehicle = new Map<string, HandoverRecord>()
    const nowMs = Date.now()
    for (const record of [...parsed].sort((a, b) => (a.issuedAt ?? '').localeCompare(b.issuedAt ?? ''))) {
      if (record.sealedToken && record.expires && Date.parse(record.expires) > nowMs && (record.status === 'issued' || record.status === 'handed-over')) {
        const vehicle = rules.vehicleOf(record)
        const older = liveByVehicle.get(vehicle)
        if (older) Object.assign(older, { status: 'superseded', supersededBy: record.id })
        liveByVehicle.set(vehicle, record)
      }
    }
    const live = new Set([...liveByVehicle.values()].map((r) => r.id))
    for (const record of parsed) store.put(record, { live: live.has(record.id) })
    for (const name of journals) {
      try {
        const journal = JSON.parse(readFileSync(join(batchDir, name), 'utf8')) as { id?: unknown; createdAt?: unknown }
        if (typeof journal.id === 'string' && typeof journal.createdAt === 'string') {
          store.db
            .prepare('INSERT OR IGNORE INTO batches (id, created_at, journal) VALUES (?, ?, ?)')
            .run(journal.id, journal.createdAt, JSON.stringify(journal))
        }
      } catch {
        // a journal that does not parse was never completely written: nothing was sent for it
      }
    }
    store.db.prepare("INSERT INTO meta (key, value) VALUES ('migrated_v0_1', ?)").run(new Date().toISOString())
  })
  const target = join(dataDir, MIGRATED_FOLDER)
  mkdirSync(target, { recursive: true, mode: 0o700 })
  for (const name of present) renameSync(join(dataDir, name), join(target, name))
  if (journals.length) renameSync(batchDir, join(target, 'batches'))
}

/** Snapshot records, then the log's puts and deletions in order; a torn last line is ignored. */
function readLegacyRecords(dataDir: string): unknown[] {
  const byId = new Map<string, unknown>()
  const snapshotFile = join(dataDir, 'handovers.json')
  if (existsSync(snapshotFile)) {
    const parsed = parseJson(readFileSync(snapshotFile, 'utf8'), snapshotFile) as { version?: unknown; records?: unknown }
    if (parsed.version !== 1 || !Array.isArray(parsed.records)) throw corrupt(snapshotFile)
    for (const record of parsed.records as { id?: unknown }[]) if (typeof record.id === 'string') byId.set(record.id, record)
  }
  const logFile = join(dataDir, 'handovers.log')
  if (existsSync(logFile)) {
    const text = readFileSync(logFile, 'utf8')
    const complete = text.slice(0, text.lastIndexOf('\n') + 1)
    for (const line of complete.split('\n')) {
      if (!line) continue
      const entry = parseJson(line, logFile) as { put?: { id?: unknown }; del?: unknown }
      if (typeof entry.del === 'string') byId.delete(entry.del)
      else if (entry.put && typeof entry.put.id === 'string') byId.set(entry.put.id, entry.put)
    }
  }
  return [...byId.values()]
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw corrupt(file)
  }
}

function corrupt(file: string): VkError {
  return new VkError(
    'storage.write',
    `${file} (the history of VK Depot 0.1) does not parse, so it cannot be moved into the ledger. Restore the data folder from a backup, or move that file away to start a new history.`,
    { file },
  )
}
