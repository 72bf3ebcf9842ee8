/**
 * `vkey ledger check` and `vkey ledger new`: whether the folder's ledger reads whole, and a new,
 * empty ledger started knowingly where the one the folder had is damaged, empty or missing —
 * never over a ledger that reads, and never while another VK Depot process has the folder
 * open. What is left of the old ledger is kept aside in the data folder, its files renamed
 * together, as they were.
 */
import { existsSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { VkError } from '../../shared/errors'
import { ledgerSince } from './data-folder'
import { LEDGER_FILE, openLedgerDb, storageError } from './ledger-db'
import { refuseWhileUsed } from './vault-recovery'

/**
 * `none`: the folder has never had a ledger (the first key request starts one); `missing`:
 * it had one (since `since`) and it is gone; `damaged`: there, but not whole (or 0 bytes).
 * `message` says it in words, for every state but `whole`.
 */
export type LedgerHealth =
  | { state: 'whole'; records: number; liveKeys: number }
  | { state: 'none'; message: string }
  | { state: 'missing'; since: string; message: string }
  | { state: 'damaged'; message: string }

/** Reads the whole ledger (SQLite's quick_check over every page) without changing what it records. */
export function checkLedger(dataDir: string): LedgerHealth {
  const file = join(dataDir, LEDGER_FILE)
  if (!existsSync(file)) {
    const since = ledgerSince(dataDir)
    if (since === undefined) return { state: 'none', message: `There is no ledger yet in ${dataDir}: the first key request starts it.` }
    try {
      openLedgerDb(dataDir).close() // refused (refuseLostLedger): its message says what is left and what to do
    } catch (error) {
      if (error instanceof VkError) return { state: 'missing', since, message: error.message }
      throw error
    }
  }
  let db
  try {
    db = openLedgerDb(dataDir)
  } catch (error) {
    if (error instanceof VkError && error.code === 'storage.ledger-lost') return { state: 'damaged', message: error.message }
    throw error
  }
  try {
    const check = db.pragma('quick_check', { simple: true })
    if (check !== 'ok') return { state: 'damaged', message: `The ledger ${file} is damaged: SQLite's check of every page found "${String(check)}".` }
    const count = (sql: string): number => db.prepare<[], { n: number }>(sql).get()?.n ?? 0
    return { state: 'whole', records: count('SELECT COUNT(*) AS n FROM handovers'), liveKeys: count('SELECT COUNT(*) AS n FROM handovers WHERE live = 1') }
  } catch (error) {
    const known = storageError(error, dataDir)
    if (known instanceof VkError && known.code === 'storage.ledger-lost') return { state: 'damaged', message: known.message }
    throw known
  } finally {
    db.close()
  }
}

export type NewLedger = { started: false; health: Extract<LedgerHealth, { state: 'whole' }> } | { started: true; keptAside: string[]; lostSince?: string }

/**
 * A new, empty ledger in place of a damaged, empty or missing one; a ledger that reads whole is
 * left as it is. Refused while another VK Depot process has the folder open: it may be writing
 * the old file, or about to write keys into one that is gone.
 */
export async function startNewLedger(dataDir: string, now: Date): Promise<NewLedger> {
  await refuseWhileUsed(dataDir, 'vkey ledger new')
  const health = checkLedger(dataDir)
  if (health.state === 'whole') return { started: false, health }
  const lostSince = ledgerSince(dataDir)
  const keptAside = keepAside(dataDir, now)
  openLedgerDb(dataDir, { startNew: true }).close()
  return { started: true, keptAside, ...(lostSince ? { lostSince } : {}) }
}

/**
 * Moves ledger.db and its -wal and -shm files, those there are, to `ledger-damaged-<UTC
 * time>.db` (and -wal, -shm) beside them; the log first, so a new ledger.db never meets an old
 * log (SQLite would replay it into the new file). Returns the files it moved, as now named.
 */
function keepAside(dataDir: string, now: Date): string[] {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
  const kept = join(dataDir, `ledger-damaged-${stamp}.db`)
  const moved: string[] = []
  for (const suffix of ['-wal', '-shm', '']) {
    const from = join(dataDir, LEDGER_FILE + suffix)
    if (!existsSync(from)) continue
    renameSync(from, kept + suffix)
    moved.push(kept + suffix)
  }
  return moved.reverse()
}
