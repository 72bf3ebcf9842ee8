/**
 * Whether the ledger file in the data folder is the folder's ledger: not lost (missing where the
 * folder had one), not emptied (0 bytes), and, while a process has it open, not deleted or
 * replaced under it. Each case is refused with the way back, never taken for a new, empty
 * ledger that would forget every key it recorded and ask PSA again for cars that hold one.
 */
import { chmodSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import type Database from 'better-sqlite3'
import { VkError } from '../../shared/errors'
import { formatLocal } from '../../shared/time'
import { noteLedgerStarted } from './data-folder'

type Db = Database.Database

const NEW_LEDGER = '`vkey ledger new` starts a new, empty ledger: the keys issued before stay valid at PSA until they end, and it does not count them.'

/**
 * A ledger missing where the folder had one: its marker says since when (`since`, the marker's
 * ledgerSince), or its write-ahead log is still here. Undefined for a folder that never had one.
 */
export function lostLedgerError(file: string, since: string | undefined): VkError | undefined {
  const log = existsSync(`${file}-wal`)
  if (since === undefined && !log) return undefined
  const name = basename(file)
  const rescued = newestRescue(dirname(file))
  const had = since === undefined ? 'this data folder had one (its write-ahead log is still here)' : `this data folder has kept one since ${formatLocal(since)}`
  const restore = log
    ? `${name}-wal may hold the latest keys: copy it somewhere safe first, then restore ${name}, ${name}-wal and ${name}-shm together from one backup of the data folder.`
    : `Restore ${name} with its -wal and -shm files from one backup of the data folder.`
  const wayBack = rescued
    ? `A VK Depot process that had it open saved its whole content in ${rescued}: rename that file to ${name}. Without it: ${restore.replace(/^R/, 'r')}`
    : restore
  return new VkError(
    'storage.ledger-lost',
    `The ledger ${file} is missing: ${had}, and the keys it recorded are not here (a clean-up tool, a restore or a copy that left it out). Nothing was sent. ` +
      `Quit VK Depot (the app and any running vkey command). ${wayBack} If it is lost for good, ${NEW_LEDGER}`,
    { file },
  )
}

/** The newest ledger a process saved when its ledger was deleted under it (displacedError), if any; the names sort by time. */
export function newestRescue(dataDir: string): string | undefined {
  try {
    const names = readdirSync(dataDir).filter((n) => /^ledger-rescued-\d{8}T\d{6}Z-\d+\.db$/.test(n))
    return names.length ? join(dataDir, names.sort().at(-1)!) : undefined
  } catch {
    return undefined
  }
}

/**
 * A ledger file of 0 bytes with no write-ahead log beside it is what a truncation or a failed
 * copy leaves where a ledger was (a ledger that was used is checkpointed into its file when the
 * last process closes it). A new ledger's pages may all be in its -wal file until the first
 * checkpoint: with that file beside it, it is not empty.
 */
export function isEmptyLedger(file: string): boolean {
  return statSync(file).size === 0 && !existsSync(`${file}-wal`)
}

/** An empty ledger file (isEmptyLedger), with the way back; undefined for one that is not. */
export function emptyLedgerError(file: string): VkError | undefined {
  if (!isEmptyLedger(file)) return undefined
  return new VkError(
    'storage.ledger-lost',
    `The ledger ${file} is empty (0 bytes): the keys it recorded are lost from this file (a crash, a full disk or a copy that failed). Nothing was sent. ` +
      `Restore the data folder from a backup. Without one (or if this data folder never held a key: its first start was cut short), \`vkey ledger new\` keeps this file aside and starts a new, empty ledger.`,
    { file },
  )
}

/** A ledger whose creation failed (a full disk) is not left as a 0-byte file. */
export function removeIfEmpty(file: string): void {
  try {
    if (isEmptyLedger(file)) rmSync(file)
  } catch {
    // gone already, or not ours to remove: the next open says what it finds
  }
}

/** The marker learns that the folder holds a ledger (from now on a missing one is lost); skipped on a disk that cannot take it now. */
export function noteLedgerIfPossible(dataDir: string): void {
  try {
    noteLedgerStarted(dataDir, new Date().toISOString())
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'ENOSPC' && code !== 'EDQUOT' && code !== 'EROFS') throw error
  }
}

/** The file each open ledger was opened on (device and inode), and where its content was rescued, once it was. */
const opened = new WeakMap<Db, { file: string; dev: number; ino: number; rescuedTo?: string }>()

/** Remembers the file `db` was opened on, as `stat` found it just after the open. */
export function rememberFile(db: Db, file: string, { dev, ino }: { dev: number; ino: number }): void {
  opened.set(db, { file, dev, ino })
}

/**
 * After each commit, and before the file is closed: is the file this process writes still the
 * folder's ledger? Deleted, moved or replaced while open (a clean-up tool, a restore), what it
 * wrote went to a file the folder no longer holds — yet this process can still read it all. Its
 * whole content is saved beside the ledger (`ledger-rescued-<UTC time>-<pid>.db`, SQLite's
 * VACUUM INTO) before anything else, and the write is refused, so nothing is reported as
 * recorded and no further request is sent. Skipped where the file system has no inodes.
 */
export function displacedError(db: Db): VkError | undefined {
  const entry = opened.get(db)
  if (!entry || entry.ino === 0 || !db.open) return undefined
  let now: { dev: number; ino: number } | undefined
  try {
    now = statSync(entry.file)
  } catch {
    now = undefined
  }
  if (now && now.dev === entry.dev && now.ino === entry.ino) return undefined
  const rescue = entry.rescuedTo ? { path: entry.rescuedTo } : rescueContent(db, entry.file)
  if (!('problem' in rescue)) entry.rescuedTo = rescue.path
  const saved =
    'problem' in rescue
      ? `Its content could not be saved (${rescue.problem}): keep this process's data folder as it is and ask whoever supports the depot.`
      : `Its whole content, keys just issued included, is saved in ${rescue.path}. Quit every VK Depot process (the app, running vkey commands); then, if ${basename(entry.file)} is missing, rename that file to ${basename(entry.file)}.`
  return new VkError(
    'storage.ledger-displaced',
    `The ledger ${entry.file} was ${now ? 'replaced' : 'removed'} while this VK Depot process had it open, so what it wrote is not in the data folder's ledger. ${saved}`,
    { file: entry.file },
  )
}

/** A moment as the names of kept-aside and rescued ledgers carry it: 20261202T043646Z (UTC, sorts by time). */
export function fileStamp(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
}

function rescueContent(db: Db, file: string): { path: string } | { problem: string } {
  const path = join(dirname(file), `ledger-rescued-${fileStamp(new Date())}-${process.pid}.db`)
  try {
    if (db.inTransaction) return { problem: 'a transaction is still open' }
    db.exec(`VACUUM INTO '${path.replaceAll("'", "''")}'`)
    if (process.platform !== 'win32') chmodSync(path, 0o600)
    return { path }
  } catch (error) {
    return { problem: error instanceof Error ? error.message : String(error) }
  }
}

/** Closes an open ledger; a ledger deleted or replaced under this process is rescued first (displacedError). */
export function closeLedgerFile(db: Db): void {
  if (!db.open) return
  displacedError(db)
  db.close()
}
