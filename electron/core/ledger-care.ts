/**
 * `vkey ledger check` and `vkey ledger new`: whether the folder's ledger reads whole (read
 * only: a damaged file is not written to), and a new, empty ledger started knowingly where the
 * one the folder had is damaged, empty or missing — never over a ledger that reads, never while
 * another VK Depot process has the folder open, one at a time. What is left of the old ledger
 * is kept aside in the data folder, in a folder of its own, as it was.
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { VkError } from '../../shared/errors'
import { ledgerSince } from './data-folder'
import { LEDGER_FILE, openLedgerDb, storageError } from './ledger-db'
import { emptyLedgerError, fileStamp, lostLedgerError, newestRescue } from './ledger-presence'
import { withOwnerLock } from './owner-lock'
import { refuseWhileUsed } from './vault-recovery'

/**
 * `none`: the folder has never had a ledger (the first key request starts one); `missing`: it
 * had one (since `since`, when its marker says) and it is gone; `damaged`: there, but not whole
 * (or 0 bytes). `message` says it in words, with the next step, for every state but `whole`.
 */
export type LedgerHealth =
  | { state: 'whole'; records: number; liveKeys: number }
  | { state: 'none'; message: string }
  | { state: 'missing'; since?: string; message: string }
  | { state: 'damaged'; message: string }

/** Reads the whole ledger (SQLite's quick_check over every page), opened read-only. */
export function checkLedger(dataDir: string): LedgerHealth {
  const file = join(dataDir, LEDGER_FILE)
  if (!existsSync(file)) {
    const since = ledgerSince(dataDir)
    const lost = lostLedgerError(file, since)
    if (!lost) return { state: 'none', message: `There is no ledger yet in ${dataDir}: the first key request starts it.` }
    return { state: 'missing', ...(since ? { since } : {}), message: lost.message }
  }
  // An empty file is never a whole ledger, whatever the marker says.
  const empty = emptyLedgerError(file)
  if (empty) return { state: 'damaged', message: empty.message }
  let db: Database.Database | undefined
  try {
    db = new Database(file, { readonly: true, fileMustExist: true })
    const check = db.pragma('quick_check', { simple: true })
    if (check !== 'ok') return { state: 'damaged', message: damagedMessage(file, checkFindings(String(check))) }
    const count = (sql: string): number => db!.prepare<[], { n: number }>(sql).get()?.n ?? 0
    return { state: 'whole', records: count('SELECT COUNT(*) AS n FROM handovers'), liveKeys: count('SELECT COUNT(*) AS n FROM handovers WHERE live = 1') }
  } catch (error) {
    const known = storageError(error, dataDir)
    if (known instanceof VkError && known.code === 'storage.ledger-lost') return { state: 'damaged', message: known.message }
    throw known
  } finally {
    db?.close()
  }
}

/** SQLite's quick_check report (one problem a line, under a heading) as a phrase: how many, and the first. */
function checkFindings(report: string): string {
  const problems = report.split('\n').filter((line) => line.trim() && !line.startsWith('***'))
  return `SQLite's check of every page found ${problems.length} problem${problems.length === 1 ? '' : 's'} (the first: ${problems[0] ?? report})`
}

function damagedMessage(file: string, found: string): string {
  return `The ledger ${file} is damaged: ${found}. Restore the data folder from a backup; without one, \`vkey ledger new\` keeps it aside as it is and starts a new, empty ledger.`
}

export type NewLedger =
  { started: false; health: Extract<LedgerHealth, { state: 'whole' }> } | { started: true; keptAside?: { folder: string; files: string[] }; lostSince?: string }

/**
 * A new, empty ledger in place of a damaged, empty or missing one; a ledger that reads whole is
 * left as it is. Refused while another VK Depot process has the folder open (it may be writing
 * the old file, or about to write keys into one that is gone), asked again just before the
 * files move, since the check of a large ledger takes a while.
 */
export async function startNewLedger(dataDir: string, now: Date): Promise<NewLedger> {
  return withOwnerLock(
    join(dataDir, 'ledger-new.lock'),
    async () => {
      await refuseWhileUsed(dataDir, 'vkey ledger new')
      const health = checkLedger(dataDir)
      if (health.state === 'whole') return { started: false, health }
      refuseOverRescue(dataDir)
      const lostSince = ledgerSince(dataDir)
      await refuseWhileUsed(dataDir, 'vkey ledger new')
      const keptAside = keepAside(dataDir, now)
      openLedgerDb(dataDir, { startNew: true }).close()
      return { started: true, ...(keptAside ? { keptAside } : {}), ...(lostSince ? { lostSince } : {}) }
    },
    { what: `Starting a new ledger in ${dataDir}`, waitMs: 5000 },
  )
}

/**
 * A ledger a process saved when the folder's was deleted under it holds every key: it is the
 * way back, not a new ledger. Refused until it is renamed into place, or moved out of the
 * folder by someone who decided against it.
 */
function refuseOverRescue(dataDir: string): void {
  const rescued = newestRescue(dataDir)
  if (!rescued) return
  throw new VkError(
    'storage.ledger-lost',
    `A VK Depot process saved the ledger's whole content in ${rescued} when the ledger was deleted under it: nothing was changed. Rename that file to ${LEDGER_FILE} (nothing is lost that way). To start a new, empty ledger anyway, move it (and any other ledger-rescued-*.db) out of ${dataDir} first.`,
    { file: rescued },
  )
}

/**
 * Moves ledger.db and its -wal and -shm files, those there are, into `ledger-damaged-<UTC
 * time>/` beside them, under the same names (SQLite reads them together there). The log goes
 * first, so a new ledger.db never meets an old log (SQLite would replay it into the new file);
 * a file that cannot be moved (another program has it open) puts back what had moved.
 */
function keepAside(dataDir: string, now: Date): { folder: string; files: string[] } | undefined {
  const present = ['-wal', '-shm', ''].map((suffix) => LEDGER_FILE + suffix).filter((name) => existsSync(join(dataDir, name)))
  if (!present.length) return undefined
  const folder = join(dataDir, `ledger-damaged-${fileStamp(now)}`)
  mkdirSync(folder, { mode: 0o700 })
  const moved: string[] = []
  try {
    for (const name of present) {
      renameSync(join(dataDir, name), join(folder, name))
      moved.push(name)
    }
  } catch (error) {
    for (const name of moved.reverse()) renameSync(join(folder, name), join(dataDir, name))
    throw new VkError(
      'storage.write',
      `Could not move ${join(dataDir, LEDGER_FILE)} aside (${(error as NodeJS.ErrnoException).code ?? String(error)}): another program may have it open (an antivirus, a backup, or VK Depot). Nothing was changed. Close it, then run \`vkey ledger new\` again.`,
      { file: join(dataDir, LEDGER_FILE) },
      { cause: error },
    )
  }
  return { folder, files: present.toReversed() }
}
