/**
 * The ledger's database: one SQLite file, `<data>/ledger.db` (WAL, 0600), through
 * better-sqlite3. It holds the handover records (one row per record; a row that received a
 * key from PSA is a ledger entry and is never overwritten), the claims on vehicles being
 * requested, the failures and refusals for the audit, and the batch journals.
 *
 * Several VK Depot processes (the app, `vkey` runs) share the file. SQLite's own locking
 * serialises writers; a writer that holds the lock too long (a laptop suspended inside a
 * write) makes the others wait `busyTimeoutMs` and then stop with a clear message naming
 * the live processes that share the file. Nothing ever breaks into another process's lock.
 */
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type * as z from 'zod'
import { VkError } from '../../shared/errors'
import { ledgerSince } from './data-folder'
import { displacedError, emptyLedgerError, lostLedgerError, noteLedgerIfPossible, rememberFile, removeIfEmpty } from './ledger-presence'
import { currentOwner, isOwnerAlive, parseOwner, type ProcessOwner } from './process-owner'
import { releaseReserve } from './ledger-reserve'
import { isDiskFull } from './secure-files'

export const LEDGER_FILE = 'ledger.db'
const SCHEMA_VERSION = 1

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS handovers (
  id TEXT PRIMARY KEY,
  vehicle TEXT NOT NULL,
  status TEXT NOT NULL,
  live INTEGER NOT NULL DEFAULT 0 CHECK (live IN (0, 1)),
  created_at TEXT NOT NULL,
  expires TEXT,
  seq INTEGER NOT NULL,
  record TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS one_live_key_per_vehicle ON handovers (vehicle) WHERE live = 1;
CREATE INDEX IF NOT EXISTS handovers_by_vehicle ON handovers (vehicle, status);
CREATE INDEX IF NOT EXISTS handovers_by_seq ON handovers (seq);
CREATE TABLE IF NOT EXISTS claims (
  vehicle TEXT PRIMARY KEY,
  handover_id TEXT NOT NULL,
  owner TEXT NOT NULL,
  claimed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  kind TEXT NOT NULL,
  handover_id TEXT NOT NULL,
  event TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, journal TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS processes (pid INTEGER NOT NULL, owner TEXT NOT NULL PRIMARY KEY, since TEXT NOT NULL);
`

export interface LedgerDbOptions {
  /** How long a writer waits for another process's write to end before saying "busy" (default 10 s). */
  busyTimeoutMs?: number
  /** Start a new ledger where the folder had one that is lost (`vkey ledger new`: ledger-care.ts). */
  startNew?: boolean
}

export type Db = Database.Database
export type Statement<P extends unknown[] | object = unknown[], R = unknown> = Database.Statement<P, R>

/** Opens (creating, 0600) the ledger database of a data folder and brings its schema up to date. */
export function openLedgerDb(dataDir: string, options: LedgerDbOptions = {}): Db {
  const file = join(dataDir, LEDGER_FILE)
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const fresh = !existsSync(file)
  const since = ledgerSince(dataDir)
  // A 0-byte file is refused only where the folder has had a ledger: one another process is
  // creating right now is 0 bytes for a moment too (two processes often start together on a new folder).
  const refused = fresh ? (options.startNew ? undefined : lostLedgerError(file, since)) : since === undefined ? undefined : emptyLedgerError(file)
  if (refused) throw refused
  let db: Db
  try {
    db = new Database(file, { timeout: options.busyTimeoutMs ?? 10_000 })
    const stat = statSync(file)
    rememberFile(db, file, stat)
    // 0600, also for a file put there by hand (a rescued or restored copy).
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) chmodSync(file, 0o600)
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = FULL')
    db.pragma('foreign_keys = ON')
    // Erased tokens (expiry, removal) are overwritten on disk, not left in free pages.
    db.pragma('secure_delete = ON')
    runWrite(db, dataDir, () => {
      db.exec(SCHEMA)
      const version = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").get()
      if (version && Number(version.value) > SCHEMA_VERSION) {
        throw new VkError('storage.version', `${file} was written by a newer VK Depot (schema ${version.value}). Update VK Depot on this computer.`, { file })
      }
      if (version?.value !== String(SCHEMA_VERSION))
        db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION))
    })
    writeIfPossible(db, dataDir, () => registerProcess(db))
    if (fresh || options.startNew || since === undefined) noteLedgerIfPossible(dataDir)
  } catch (error) {
    // A ledger this open created and could not write (a full disk) is not left as a 0-byte file.
    if (fresh) removeIfEmpty(file)
    throw storageError(error, dataDir)
  }
  for (const suffix of ['-wal', '-shm']) {
    if (process.platform !== 'win32' && existsSync(file + suffix)) chmodSync(file + suffix, 0o600)
  }
  return db
}

/**
 * The ledger keeps the id of the vault whose key seals its records (a second copy of what
 * vault.json names): `vkey vault repair` finds the key by it when vault.json is lost. Written
 * only when it changed (a new vault, a rotation); skipped on a disk that cannot take it now.
 */
export function rememberVault(db: Db, dataDir: string, vaultId: string): void {
  if (db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'vault_id'").get()?.value === vaultId) return
  writeIfPossible(db, dataDir, () => db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('vault_id', ?)").run(vaultId))
}

/** The vault id the ledger remembers (rememberVault), read without opening the ledger for writing; undefined when there is none. */
export function rememberedVaultId(dataDir: string): string | undefined {
  const file = join(dataDir, LEDGER_FILE)
  if (!existsSync(file)) return undefined
  let db: Db | undefined
  try {
    db = new Database(file, { readonly: true, fileMustExist: true })
    return db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'vault_id'").get()?.value
  } catch {
    return undefined
  } finally {
    db?.close()
  }
}

/**
 * A write that reading the ledger does not need (this process's note, the vault id's copy): on a
 * disk that cannot take it now (full), it is skipped, so the keys already issued can still be read.
 */
function writeIfPossible(db: Db, dataDir: string, work: () => unknown): void {
  try {
    runWrite(db, dataDir, work)
  } catch (error) {
    if (!cannotWriteNow(error)) throw error
  }
}

/** The ledger could not take a write now (a full disk, permissions): a write reading does not need may be skipped. */
export function cannotWriteNow(error: unknown): boolean {
  return error instanceof VkError && error.code === 'storage.write'
}

/** Notes this process as a user of the file (to name it when another one finds the file busy); forgets the dead. */
function registerProcess(db: Db): void {
  const me = currentOwner()
  for (const row of db.prepare<[], { owner: string }>('SELECT owner FROM processes').all()) {
    const owner = parseOwner(safeJson(row.owner))
    if (!owner || !isOwnerAlive(owner)) db.prepare('DELETE FROM processes WHERE owner = ?').run(row.owner)
  }
  db.prepare('INSERT OR REPLACE INTO processes (pid, owner, since) VALUES (?, ?, ?)').run(me.pid, JSON.stringify(me), new Date().toISOString())
}

/** Other live processes that opened this ledger (for the "busy" message). */
export function otherUsers(db: Db): ProcessOwner[] {
  const me = currentOwner()
  try {
    return db
      .prepare<[], { owner: string }>('SELECT owner FROM processes')
      .all()
      .map((row) => parseOwner(safeJson(row.owner)))
      .filter((owner): owner is ProcessOwner => Boolean(owner && owner.pid !== me.pid && isOwnerAlive(owner)))
  } catch {
    return []
  }
}

/**
 * Runs `work` in one write transaction (BEGIN IMMEDIATE: the write lock is taken first, so
 * a claim and its checks see one state). Store failures become clear VkErrors naming the
 * folder and the cause; `durable: false` skips the fsync for writes a power cut may lose
 * harmlessly (a dead claim settled again).
 */
export function runWrite<T>(db: Db, dataDir: string, work: () => T, options: { durable?: boolean } = {}): T {
  // Inside a transaction (a write of a group) the outer one decides when and how it commits.
  const outermost = !db.inTransaction
  const relaxed = !(options.durable ?? true) && outermost
  try {
    if (relaxed) db.pragma('synchronous = NORMAL')
    try {
      const result = db.transaction(work).immediate()
      const displaced = outermost ? displacedError(db) : undefined
      if (displaced) throw displaced
      return result
    } finally {
      if (relaxed) db.pragma('synchronous = FULL')
    }
  } catch (error) {
    throw storageError(error, dataDir, db)
  }
}

interface GroupedWrite {
  work: () => unknown
  resolve(value: unknown): void
  reject(error: unknown): void
}

/**
 * Group commit. The writes asked for during one turn of the event loop (the answers of
 * several requests that arrived together, the claims of the workers they freed) run as one
 * transaction, each in a savepoint of its own so one that fails leaves the others, and are
 * committed together: one fsync instead of one each. Each promise settles only after that
 * commit, so a key is on disk before anyone is told of it.
 *
 * Writes that need no fsync (`durable: false`: a waiting request's look at a claim) are
 * committed first, and the durable ones in the next turn, so they do not wait for the fsync
 * (better-sqlite3 is synchronous). A durable write waits one turn at most. Claims are durable:
 * a turn's claims share the fsync of the answers that freed their workers.
 */
export class WriteGroup {
  private relaxed: GroupedWrite[] = []
  private durable: GroupedWrite[] = []
  private scheduled = false
  /** The durable writes were held back one turn already: they go next, whatever else comes. */
  private deferred = false

  constructor(
    private readonly db: Db,
    private readonly dataDir: string,
  ) {}

  run<T>(work: () => T, options: { durable?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      ;((options.durable ?? true) ? this.durable : this.relaxed).push({ work, resolve: resolve as (value: unknown) => void, reject })
      this.schedule()
    })
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => this.flush())
  }

  private flush(): void {
    this.scheduled = false
    if (this.relaxed.length && !this.deferred) {
      this.commit(this.relaxed.splice(0), false)
      if (this.durable.length) {
        this.deferred = true
        this.schedule()
      }
      return
    }
    this.deferred = false
    const durable = this.durable.length > 0
    this.commit([...this.durable.splice(0), ...this.relaxed.splice(0)], durable)
  }

  /**
   * Commits the group. Writes that found the disk full run once more after the room kept for
   * them is given back (ledger-reserve.ts): a key PSA issued is recorded, not lost.
   */
  private commit(group: GroupedWrite[], durable: boolean, released = false): void {
    const outcomes: { ok: boolean; value: unknown }[] = []
    try {
      runWrite(
        this.db,
        this.dataDir,
        () => {
          for (const item of group) {
            // An error that ended the whole transaction (a full disk) fails the rest of the group.
            if (!this.db.inTransaction) throw outcomes.find((o) => !o.ok)?.value ?? new Error('the transaction ended early')
            try {
              outcomes.push({ ok: true, value: this.db.transaction(item.work)() })
            } catch (error) {
              outcomes.push({ ok: false, value: storageError(error, this.dataDir, this.db) })
            }
          }
        },
        { durable },
      )
    } catch (error) {
      if (!released && isDiskFull(error) && releaseReserve(this.dataDir)) return this.commit(group, durable, true)
      for (const item of group) item.reject(error)
      return
    }
    const full = released ? [] : group.filter((_, i) => !outcomes[i]!.ok && isDiskFull(outcomes[i]!.value))
    if (full.length && releaseReserve(this.dataDir)) {
      group.forEach((item, i) => outcomes[i]!.ok && item.resolve(outcomes[i]!.value))
      return this.commit(full, durable, true)
    }
    group.forEach((item, i) => (outcomes[i]!.ok ? item.resolve(outcomes[i]!.value) : item.reject(outcomes[i]!.value)))
  }
}

/** Turns SQLite's errors into what a technician can act on; VkErrors pass through. */
export function storageError(error: unknown, dataDir: string, db?: Db): unknown {
  if (error instanceof VkError) return error
  const code = (error as { code?: unknown }).code
  const file = join(dataDir, LEDGER_FILE)
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    const others = db ? otherUsers(db) : []
    const who = others.length ? `another VK Depot process, pid ${others.map((o) => o.pid).join(', ')}, holds it` : 'another VK Depot process holds it'
    return new VkError('storage.busy', `The store is busy: ${who} (${file}). Wait for it to finish (a suspended laptop: wake it) and run the command again.`, {
      file,
    })
  }
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
    return new VkError(
      'storage.ledger-lost',
      `The ledger ${file} is damaged (SQLite cannot read it: ${code === 'SQLITE_NOTADB' ? 'not a database' : 'corrupt'}). Nothing was sent. Quit VK Depot and restore the data folder from a backup. Without one, \`vkey ledger new\` keeps ${LEDGER_FILE} and its -wal and -shm files aside as they are (whoever supports the depot may recover from them some of the keys issued so far, which stay valid at PSA until they expire) and starts a new, empty ledger.`,
      { file },
      { cause: error },
    )
  }
  // Even reading needs room for SQLite's shared-memory index (32 KB): without it, nothing opens.
  const shm = typeof code === 'string' && code.startsWith('SQLITE_IOERR_SHM')
  const errno = (error as NodeJS.ErrnoException).code
  const [cause, step] = isDiskFull(error)
    ? ['the disk is full', 'Free space']
    : shm
      ? [`SQLite cannot make its shared-memory file ${LEDGER_FILE}-shm (the disk is full, or nearly: it needs 32 KB even to read)`, 'Free space']
      : code === 'SQLITE_READONLY' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_PERM' || errno === 'EACCES'
        ? [
            'it cannot be written (permissions or a read-only disk)',
            `Make the folder and ${LEDGER_FILE} writable by this user (even reading writes SQLite's index files beside it)`,
          ]
        : [`the write failed (${typeof code === 'string' ? code : 'unknown cause'})`, 'Free space or fix the folder']
  return new VkError(
    'storage.write',
    `Cannot ${shm ? 'open' : 'write'} the ledger in ${dataDir}: ${cause}. ${step}, then run the command again.`,
    { file },
    { cause: error },
  )
}

/** JSON text from a row, or undefined when it is not JSON. */
export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

/**
 * A JSON value of a row as `schema` reads it, or the field where it differs ('' when the
 * text is not what this VK Depot writes at all). Never the value itself: it may be a secret.
 */
export function parseStored<S extends z.ZodType>(schema: S, text: string): { value: z.output<S> } | { problem: string } {
  const parsed = schema.safeParse(safeJson(text))
  if (parsed.success) return { value: parsed.data }
  return { problem: parsed.error.issues[0]?.path.join('.') ?? '' }
}

/** A row `what` names (e.g. "handover Xy12") that this VK Depot cannot read: what happened and what to do. */
function damagedRow(dataDir: string, what: string, problem: string): VkError {
  const file = join(dataDir, LEDGER_FILE)
  return new VkError(
    'storage.damaged',
    `The ${what} in ${file} cannot be read${problem ? ` (its field "${problem}")` : ''}: a newer VK Depot wrote it, or the file was damaged. ` +
      'Update VK Depot on this computer (`vkey version` says which one this is), or restore the data folder from a backup.',
    { file, ...(problem ? { field: problem } : {}) },
  )
}

/** `parseStored`, or the error that names the row and the next step. */
export function readStored<S extends z.ZodType>(schema: S, text: string, dataDir: string, what: string): z.output<S> {
  const parsed = parseStored(schema, text)
  if ('problem' in parsed) throw damagedRow(dataDir, what, parsed.problem)
  return parsed.value
}
