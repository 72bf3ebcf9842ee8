/**
 * `vkey ledger check` and `vkey ledger new`: whether the folder's ledger reads whole, and a new,
 * empty ledger started knowingly where the one the folder had is damaged, empty or missing —
 * never over a ledger that reads. A damaged ledger's files are kept aside in the data folder,
 * renamed together (SQLite can still open them: they list the keys issued until it broke).
 */
import { existsSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { VkError } from '../../shared/errors'
import { ledgerSince } from './data-folder'
import { LEDGER_FILE, openLedgerDb, storageError } from './ledger-db'

export type LedgerHealth = { state: 'whole'; records: number; liveKeys: number } | { state: 'missing'; since?: string } | { state: 'damaged'; message: string }

/** Reads the whole ledger (SQLite's quick_check over every page) without changing what it records. */
export function checkLedger(dataDir: string): LedgerHealth {
  if (!existsSync(join(dataDir, LEDGER_FILE))) {
    const since = ledgerSince(dataDir)
    return since === undefined ? { state: 'missing' } : { state: 'missing', since }
  }
  let db
  try {
    db = openLedgerDb(dataDir)
  } catch (error) {
    if (error instanceof VkError && error.code === 'storage.damaged') return { state: 'damaged', message: error.message }
    throw error
  }
  try {
    const check = db.pragma('quick_check', { simple: true })
    if (check !== 'ok') return { state: 'damaged', message: `SQLite's check of ${join(dataDir, LEDGER_FILE)} found: ${String(check)}` }
    const count = (sql: string): number => db.prepare<[], { n: number }>(sql).get()?.n ?? 0
    return { state: 'whole', records: count('SELECT COUNT(*) AS n FROM handovers'), liveKeys: count('SELECT COUNT(*) AS n FROM handovers WHERE live = 1') }
  } catch (error) {
    const known = storageError(error, dataDir)
    if (known instanceof VkError && known.code === 'storage.damaged') return { state: 'damaged', message: known.message }
    throw known
  } finally {
    db.close()
  }
}

export type NewLedger = { started: false; health: Extract<LedgerHealth, { state: 'whole' }> } | { started: true; keptAs?: string; lostSince?: string }

/** A new, empty ledger in place of a damaged, empty or missing one; a ledger that reads whole is left as it is. */
export function startNewLedger(dataDir: string, now: Date): NewLedger {
  const health = checkLedger(dataDir)
  if (health.state === 'whole') return { started: false, health }
  const lostSince = health.state === 'missing' ? health.since : ledgerSince(dataDir)
  const keptAs = keepAside(dataDir, now)
  openLedgerDb(dataDir, { startNew: true }).close()
  return { started: true, ...(keptAs ? { keptAs } : {}), ...(lostSince ? { lostSince } : {}) }
}

/**
 * Moves ledger.db and its -wal and -shm files, those there are, to `ledger-damaged-<UTC
 * time>.db` (and -wal, -shm) beside them; the log first, so a new ledger.db never meets an old
 * log (SQLite would replay it into the new file). Undefined when there was nothing to move.
 */
function keepAside(dataDir: string, now: Date): string | undefined {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
  const kept = join(dataDir, `ledger-damaged-${stamp}.db`)
  let moved = false
  for (const suffix of ['-wal', '-shm', '']) {
    const from = join(dataDir, LEDGER_FILE + suffix)
    if (!existsSync(from)) continue
    renameSync(from, kept + suffix)
    moved = true
  }
  return moved ? kept : undefined
}
