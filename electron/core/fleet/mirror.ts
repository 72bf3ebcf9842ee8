/**
 * The laptop's side of the fleet: fleet.db (SQLite through better-sqlite3, WAL, 0600) in the
 * data folder. It holds the fleet settings (never the password: that is sealed in the vault),
 * this laptop's entries waiting to be pushed, everyone's entries as last pulled, and the two
 * cursors (local change sequence ingested, fleet sequence pulled). The fleet views read it, so
 * they work offline with what the last sync brought.
 */
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import * as z from 'zod'
import { VkError } from '../../../shared/errors'
import type { FleetTls } from './connection'
import { SUPERSEDES_LINK, type EntryStatus, type FleetEntry } from './types'

export const FLEET_DB = 'fleet.db'

const settingsSchema = z.object({
  host: z.string(),
  port: z.number().int(),
  database: z.string(),
  user: z.string(),
  laptop: z.string(),
  tls: z.enum(['verify', 'none']),
  caPem: z.string().optional(),
  joinedAt: z.string(),
})
export type FleetSettings = z.infer<typeof settingsSchema> & { tls: FleetTls }

const lastErrorSchema = z.object({ at: z.string(), message: z.string() })

const COLUMNS = [
  'entry_id',
  'laptop',
  'local_id',
  'vehicle_key',
  'vin',
  'profile',
  'technician',
  'issued_at',
  'expires',
  'duration_seconds',
  'batch_id',
  'status',
  'superseded_by',
  'supersedes',
] as const
/** Columns whose change makes an entry worth pushing again. */
const FACTS = COLUMNS.filter((c) => c !== 'entry_id' && c !== 'laptop' && c !== 'local_id')

const ENTRIES_COLUMNS = `
  entry_id TEXT NOT NULL UNIQUE, laptop TEXT NOT NULL, local_id TEXT NOT NULL, vehicle_key TEXT NOT NULL, vin TEXT,
  profile TEXT NOT NULL, technician TEXT NOT NULL, issued_at TEXT NOT NULL, expires TEXT, duration_seconds INTEGER,
  batch_id TEXT, status TEXT NOT NULL, superseded_by TEXT, supersedes TEXT,
  pending INTEGER NOT NULL DEFAULT 0, version INTEGER NOT NULL DEFAULT 1, remote_seq INTEGER`

/*
 * The entries are a rowid table with a unique index on entry_id, and one small index for what
 * waits to be pushed. Pulled rows arrive in fleet-sequence order, so each row is appended and
 * only its short key goes into the middle of an index; the WITHOUT ROWID table of the first
 * version put each whole row at its key's place among 50 laptops' interleaved ids. With the
 * statement cache below, a steady sync of 500 entries takes ~25 % less CPU (docs/fleet.md,
 * "Sync performance"); a first sync of 100,000 is unchanged within the noise.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (${ENTRIES_COLUMNS});
CREATE INDEX IF NOT EXISTS entries_pending ON entries (pending) WHERE pending = 1;
CREATE INDEX IF NOT EXISTS entries_supersedes ON entries (supersedes) WHERE supersedes IS NOT NULL;
CREATE TABLE IF NOT EXISTS local_supersedes (local_id TEXT PRIMARY KEY, supersedes TEXT NOT NULL);
`

/** A fleet.db of the first version (entries WITHOUT ROWID) gets the rowid table, its rows, marks and cursors kept. */
function upgradeEntries(db: Database.Database): void {
  const table = db.prepare<[], { sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'entries'").get()
  if (!table || !/WITHOUT\s+ROWID/i.test(table.sql)) return
  db.transaction(() => {
    db.exec(`CREATE TABLE entries_rowid (${ENTRIES_COLUMNS});
      INSERT INTO entries_rowid SELECT * FROM entries ORDER BY remote_seq IS NULL, remote_seq;
      DROP TABLE entries;
      ALTER TABLE entries_rowid RENAME TO entries;
      CREATE INDEX entries_pending ON entries (pending) WHERE pending = 1;`)
  })()
}

/** The pulled columns, in the order the pull query selects them: the entry's, then the fleet sequence. */
export const PULLED_COLUMNS = [...COLUMNS, 'seq'] as const
export type PulledValue = string | number | null

type Row = Record<(typeof COLUMNS)[number], string | number | null> & { pending: number; version: number }

export interface PendingEntry {
  entry: FleetEntry
  version: number
}

export class FleetMirror {
  readonly file: string
  readonly db: Database.Database

  /** Prepared once per connection: a steady sync runs a dozen statements, and compiling them cost as much as writing 100 rows. */
  readonly #statements = new Map<string, Database.Statement>()

  private constructor(file: string, db: Database.Database) {
    this.file = file
    this.db = db
  }

  #sql(text: string): Database.Statement {
    let statement = this.#statements.get(text)
    if (!statement) {
      statement = this.db.prepare(text)
      this.#statements.set(text, statement)
    }
    return statement
  }

  static fileIn(dataDir: string): string {
    return path.join(dataDir, FLEET_DB)
  }

  static exists(dataDir: string): boolean {
    return existsSync(FleetMirror.fileIn(dataDir))
  }

  static open(dataDir: string): FleetMirror {
    const file = FleetMirror.fileIn(dataDir)
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    let db: Database.Database
    try {
      db = new Database(file)
      chmodSync(file, 0o600)
      db.pragma('journal_mode = WAL')
      // NORMAL in WAL: a power cut may lose the last commits, never consistency; everything here
      // is re-derived idempotently (re-ingested, re-pushed, re-pulled), so no fsync per batch.
      db.pragma('synchronous = NORMAL')
      db.pragma('busy_timeout = 5000')
      upgradeEntries(db)
      db.exec(SCHEMA)
    } catch (error) {
      throw new VkError(
        'config.fleet',
        `Cannot open ${file} (${(error as Error).message}). Check the data folder's permissions and free space.`,
        { file },
        { cause: error },
      )
    }
    return new FleetMirror(file, db)
  }

  /** Removes fleet.db and its WAL files (leaving the fleet). */
  static remove(dataDir: string): void {
    const file = FleetMirror.fileIn(dataDir)
    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true })
  }

  close(): void {
    this.db.close()
  }

  // ---- meta --------------------------------------------------------------------------

  get(key: string): string | undefined {
    return (this.#sql('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value
  }

  set(key: string, value: string): void {
    this.#sql('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value)
  }

  delete(key: string): void {
    this.#sql('DELETE FROM meta WHERE key = ?').run(key)
  }

  /** A sync or claim failed: kept, with its time, for `fleet status` until a sync goes through. */
  noteError(message: string, at = new Date()): void {
    this.set('last_error', JSON.stringify({ at: at.toISOString(), message }))
  }

  /** The last failure kept by noteError (or by an older VK Depot, as "ISO message"). */
  lastError(): { at: string; message: string } | null {
    const raw = this.get('last_error')
    if (raw === undefined) return null
    try {
      return lastErrorSchema.parse(JSON.parse(raw))
    } catch {
      const space = raw.indexOf(' ')
      return { at: raw.slice(0, Math.max(space, 0)), message: raw.slice(space + 1) }
    }
  }

  /** A sync went through: its time is kept and the last error forgotten (one commit). */
  synced(at: string): void {
    this.db.transaction(() => {
      this.set('last_sync', at)
      this.delete('last_error')
    })()
  }

  settings(): FleetSettings | undefined {
    const raw = this.get('settings')
    if (raw === undefined) return undefined
    const parsed = settingsSchema.safeParse(JSON.parse(raw))
    if (!parsed.success)
      throw new VkError('config.fleet', `${this.file} holds fleet settings this VK Depot cannot read. Leave the fleet (\`vkey fleet leave\`) and join again.`, {
        file: this.file,
      })
    return parsed.data
  }

  saveSettings(settings: FleetSettings): void {
    this.set('settings', JSON.stringify(settingsSchema.parse(settings)))
  }

  number(key: 'local_cursor' | 'remote_cursor'): number {
    return Number(this.get(key) ?? 0)
  }

  // ---- this laptop's entries -----------------------------------------------------------

  /** Remembers that a local entry superseded another laptop's (kept across pushes). */
  noteSupersedes(localId: string, supersedes: string): void {
    this.#sql('INSERT INTO local_supersedes (local_id, supersedes) VALUES (?, ?) ON CONFLICT (local_id) DO UPDATE SET supersedes = excluded.supersedes').run(
      localId,
      supersedes,
    )
  }

  /** Forgets a local entry's link (the server refused it) and marks the entry to be pushed again without it. */
  dropSupersedes(entry: { localId: string; entryId: string }): void {
    this.db.transaction(() => {
      this.#sql('DELETE FROM local_supersedes WHERE local_id = ?').run(entry.localId)
      this.#sql('UPDATE entries SET supersedes = NULL, pending = 1, version = version + 1 WHERE entry_id = ?').run(entry.entryId)
    })()
  }

  supersedesOf(localId: string): string | null {
    return (this.#sql('SELECT supersedes FROM local_supersedes WHERE local_id = ?').get(localId) as { supersedes: string } | undefined)?.supersedes ?? null
  }

  /**
   * Takes local entries in: an entry new or changed since its last push becomes pending.
   * The local cursor moves in the same transaction (a crash repeats the batch, harmlessly).
   */
  ingest(entries: FleetEntry[], cursor: number): number {
    const upsert = this.#sql(
      `INSERT INTO entries (${COLUMNS.join(', ')}, pending) VALUES (${COLUMNS.map((c) => `@${c}`).join(', ')}, 1)
       ON CONFLICT (entry_id) DO UPDATE SET ${FACTS.map((c) => `${c} = excluded.${c}`).join(', ')}, pending = 1, version = entries.version + 1
       WHERE ${FACTS.map((c) => `entries.${c} IS NOT excluded.${c}`).join(' OR ')}`,
    )
    let changed = 0
    this.db.transaction(() => {
      for (const entry of entries) changed += upsert.run(toRow(entry)).changes
      this.set('local_cursor', String(cursor))
    })()
    return changed
  }

  pendingCount(): number {
    return (this.#sql('SELECT count(*) AS n FROM entries WHERE pending = 1').get() as { n: number }).n
  }

  pending(limit: number): PendingEntry[] {
    const rows = this.#sql('SELECT * FROM entries WHERE pending = 1 LIMIT ?').all(limit) as Row[]
    return rows.map((row) => ({ entry: fromRow(row), version: row.version }))
  }

  pendingEntry(entryId: string): PendingEntry | undefined {
    const row = this.#sql('SELECT * FROM entries WHERE entry_id = ? AND pending = 1').get(entryId) as Row | undefined
    return row ? { entry: fromRow(row), version: row.version } : undefined
  }

  /** Marks pushed what has not changed since it was read for the push. */
  markPushed(pushed: PendingEntry[]): void {
    const mark = this.#sql('UPDATE entries SET pending = 0 WHERE entry_id = ? AND version = ?')
    this.db.transaction(() => {
      for (const p of pushed) mark.run(p.entry.entryId, p.version)
    })()
  }

  // ---- everyone's entries ---------------------------------------------------------------

  /**
   * Stores a batch pulled from the fleet and moves the fleet cursor, in one transaction. Rows
   * are value arrays in PULLED_COLUMNS order (entry columns, then the fleet sequence): a first
   * sync writes them as they come off the wire, with no object per row.
   */
  applyRemote(rows: ReadonlyArray<readonly PulledValue[]>, cursor: number): void {
    const upsert = this.#sql(
      `INSERT INTO entries (${COLUMNS.join(', ')}, remote_seq, pending) VALUES (${COLUMNS.map(() => '?').join(', ')}, ?, 0)
       ON CONFLICT (entry_id) DO UPDATE SET ${FACTS.map((c) => `${c} = excluded.${c}`).join(', ')}, remote_seq = excluded.remote_seq, version = entries.version + 1
       WHERE entries.pending = 0`,
    )
    this.db.transaction(() => {
      for (const row of rows) upsert.run(...row)
      this.set('remote_cursor', String(cursor))
    })()
  }

  /** Every entry the laptop knows for the fleet (own and pulled), for the views. */
  allEntries(): FleetEntry[] {
    return (this.#sql('SELECT * FROM entries').all() as Row[]).map(fromRow)
  }

  /**
   * The keys not expired and the ids another entry supersedes: what view.ts sorts into live
   * keys and the others PSA still honours (its rules are stated there).
   */
  validCandidates(nowIso: string): { entries: FleetEntry[]; supersededIds: Set<string> } {
    const entries = (this.#sql(`SELECT * FROM entries WHERE status NOT IN ('expired', 'failed') AND expires > ?`).all(nowIso) as Row[]).map(fromRow)
    return { entries, supersededIds: new Set(this.supersedingLinks().keys()) }
  }

  /** Entries another entry supersedes (SUPERSEDES_LINK), each with the latest entry that does. */
  supersedingLinks(): Map<string, string> {
    const rows = this.#sql(
      `SELECT e.entry_id AS superseded, s.entry_id AS by FROM entries s JOIN entries e ON ${SUPERSEDES_LINK} ORDER BY s.rowid`,
    ).all() as Array<{
      superseded: string
      by: string
    }>
    return new Map(rows.map((r) => [r.superseded, r.by]))
  }

  /** Other laptops' live keys for a vehicle as the last sync brought them (the server's live_entries rule), latest first. */
  otherLiveKeys(vehicleKey: string, me: string, nowIso: string): Array<{ entry_id: string; laptop: string; technician: string; expires: Date }> {
    const rows = this.#sql(
      `SELECT entry_id, laptop, technician, expires FROM entries e
       WHERE vehicle_key = ? AND laptop <> ? AND status IN ('issued', 'handed-over') AND expires > ? AND superseded_by IS NULL
         AND NOT EXISTS (SELECT 1 FROM entries s WHERE ${SUPERSEDES_LINK})
       ORDER BY expires DESC LIMIT 5`,
    ).all(vehicleKey, me, nowIso) as Array<{ entry_id: string; laptop: string; technician: string; expires: string }>
    return rows.map((r) => ({ ...r, expires: new Date(r.expires) }))
  }

  /** The pulled entry that supersedes `entryId`, if the last sync brought one. */
  supersederOf(entryId: string): string | undefined {
    const row = this.#sql(`SELECT s.entry_id FROM entries s JOIN entries e ON ${SUPERSEDES_LINK} WHERE e.entry_id = ? LIMIT 1`).get(entryId)
    return (row as { entry_id: string } | undefined)?.entry_id
  }

  entry(entryId: string): FleetEntry | undefined {
    const row = this.#sql('SELECT * FROM entries WHERE entry_id = ?').get(entryId) as Row | undefined
    return row ? fromRow(row) : undefined
  }
}

function toRow(entry: FleetEntry): Record<(typeof COLUMNS)[number], string | number | null> {
  return {
    entry_id: entry.entryId,
    laptop: entry.laptop,
    local_id: entry.localId,
    vehicle_key: entry.vehicleKey,
    vin: entry.vin,
    profile: entry.profile,
    technician: entry.technician,
    issued_at: entry.issuedAt,
    expires: entry.expires,
    duration_seconds: entry.durationSeconds,
    batch_id: entry.batchId,
    status: entry.status,
    superseded_by: entry.supersededBy,
    supersedes: entry.supersedes,
  }
}

export function fromRow(row: Row): FleetEntry {
  const text = (v: string | number | null): string | null => (v === null ? null : String(v))
  return {
    entryId: String(row.entry_id),
    laptop: String(row.laptop),
    localId: String(row.local_id),
    vehicleKey: String(row.vehicle_key),
    vin: text(row.vin),
    profile: String(row.profile),
    technician: String(row.technician),
    issuedAt: String(row.issued_at),
    expires: text(row.expires),
    durationSeconds: row.duration_seconds === null ? null : Number(row.duration_seconds),
    batchId: text(row.batch_id),
    status: String(row.status) as EntryStatus,
    supersededBy: text(row.superseded_by),
    supersedes: text(row.supersedes),
  }
}
