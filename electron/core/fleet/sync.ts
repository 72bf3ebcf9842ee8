/**
 * The sync engine: local ledger → fleet.db (ingest) → PostgreSQL (push), then PostgreSQL →
 * fleet.db (pull). Every step is batched (memory bounded by the batch size) and restartable:
 * a cursor or a "pushed" mark moves only in the same SQLite transaction as the batch it
 * covers, and the server's upsert is idempotent by entry id (an entry pushed again unchanged
 * writes nothing), so a sync cut short anywhere repeats at most one batch, without duplicates.
 * Pull is incremental by the fleet sequence, which the server assigns in commit order.
 */
import type pg from 'pg'
import type { FleetMirror, PendingEntry } from './mirror'
import { SCHEMA } from './migrations'
import { toFleetEntry, type FleetEntry, type LocalLedger } from './types'

export const DEFAULT_BATCH = 2000

export interface SyncHooks {
  /** Called after the server committed a pushed batch, before it is marked pushed (tests cut the sync there). */
  afterServerCommit?: (batch: FleetEntry[]) => void
}

export interface SyncResult {
  /** Local entries new or changed, taken in. */
  ingested: number
  /** Entries the server actually wrote (an unchanged entry pushed again counts 0). */
  written: number
  /** Entries sent to the server (written or already there). */
  sent: number
  /** Other laptops' entries pulled. */
  pulled: number
  /** Our entries another laptop superseded (`--new` there), now marked so locally. */
  supersededHere: string[]
}

const ISO = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`

/** The pull query: one batch of other laptops' entries after a sequence number. */
export const PULL_SQL = `SELECT entry_id, laptop, local_id, vehicle_key, vin, profile, technician, ${ISO('issued_at')} AS issued_at,
  ${ISO('expires')} AS expires, duration_seconds, batch_id, status, superseded_by, supersedes, seq
  FROM ${SCHEMA}.entries WHERE seq > $1 AND laptop <> $2 ORDER BY seq LIMIT $3`

const FACT_COLUMNS = ['vehicle_key', 'vin', 'profile', 'technician', 'issued_at', 'expires', 'duration_seconds', 'batch_id', 'status', 'superseded_by']

/** Upsert by entry id; a row is rewritten only when one of its facts changed. */
const PUSH_SQL = `INSERT INTO ${SCHEMA}.entries (entry_id, laptop, local_id, ${FACT_COLUMNS.join(', ')}, supersedes)
  SELECT entry_id, laptop, local_id, ${FACT_COLUMNS.join(', ')}, supersedes FROM jsonb_to_recordset($1::jsonb) AS x(
    entry_id text, laptop text, local_id text, vehicle_key text, vin text, profile text, technician text, issued_at timestamptz,
    expires timestamptz, duration_seconds integer, batch_id text, status text, superseded_by text, supersedes text)
  ON CONFLICT (entry_id) DO UPDATE SET ${FACT_COLUMNS.map((c) => `${c} = excluded.${c}`).join(', ')},
    supersedes = COALESCE(excluded.supersedes, entries.supersedes)
  WHERE (${FACT_COLUMNS.map((c) => `entries.${c}`).join(', ')}, COALESCE(excluded.supersedes, entries.supersedes))
    IS DISTINCT FROM (${FACT_COLUMNS.map((c) => `excluded.${c}`).join(', ')}, entries.supersedes)
  RETURNING entry_id`

interface PulledRow {
  entry_id: string
  laptop: string
  local_id: string
  vehicle_key: string
  vin: string | null
  profile: string
  technician: string
  issued_at: string
  expires: string | null
  duration_seconds: number | null
  batch_id: string | null
  status: FleetEntry['status']
  superseded_by: string | null
  supersedes: string | null
  seq: string
}

export class FleetSync {
  readonly #mirror: FleetMirror
  readonly #ledger: LocalLedger
  readonly #laptop: string
  readonly #batch: number

  constructor(options: { mirror: FleetMirror; ledger: LocalLedger; laptop: string; batchSize?: number }) {
    this.#mirror = options.mirror
    this.#ledger = options.ledger
    this.#laptop = options.laptop
    this.#batch = options.batchSize ?? DEFAULT_BATCH
  }

  /** Takes the local ledger's changes into fleet.db (no network): what waits to be pushed. */
  ingest(): number {
    let total = 0
    if (this.#mirror.get('local_kind') !== this.#ledger.kind) {
      this.#mirror.set('local_cursor', '0')
      this.#mirror.set('local_kind', this.#ledger.kind)
    }
    for (;;) {
      const cursor = this.#mirror.number('local_cursor')
      const changes = this.#ledger.entriesChangedSince(cursor, this.#batch)
      if (!changes.length) return total
      const entries = changes.map(({ entry }) => toFleetEntry(this.#laptop, entry, this.#mirror.supersedesOf(entry.id)))
      total += this.#mirror.ingest(entries, changes[changes.length - 1]!.seq)
    }
  }

  /** One full sync over an open connection. */
  async sync(client: pg.ClientBase, hooks: SyncHooks = {}): Promise<SyncResult> {
    const result: SyncResult = { ingested: this.ingest(), written: 0, sent: 0, pulled: 0, supersededHere: [] }
    await this.#push(client, result, hooks)
    await this.#pull(client, result)
    if (result.supersededHere.length) {
      // Our entries another laptop superseded: push their new status back at once.
      result.ingested += this.ingest()
      await this.#push(client, result, hooks)
    }
    this.#mirror.set('last_sync', new Date().toISOString())
    this.#mirror.delete('last_error')
    return result
  }

  async #push(client: pg.ClientBase, result: SyncResult, hooks: SyncHooks): Promise<void> {
    for (;;) {
      const batch: PendingEntry[] = this.#mirror.pending(this.#batch)
      if (!batch.length) return
      const entries = batch.map((p) => p.entry)
      const written = await pushEntries(client, entries)
      hooks.afterServerCommit?.(entries)
      this.#mirror.markPushed(batch)
      result.sent += entries.length
      result.written += written
    }
  }

  async #pull(client: pg.ClientBase, result: SyncResult): Promise<void> {
    const mine = `${this.#laptop}/`
    for (;;) {
      const cursor = this.#mirror.number('remote_cursor')
      const { rows } = await client.query<PulledRow>(PULL_SQL, [cursor, this.#laptop, this.#batch])
      if (!rows.length) return
      const entries = rows.map(fromPulled)
      // Marks first, cursor after: a crash in between repeats the (idempotent) marks.
      for (const entry of entries) {
        if (entry.supersedes?.startsWith(mine) && this.#ledger.markSupersededBy(entry.supersedes.slice(mine.length), entry.entryId)) {
          result.supersededHere.push(entry.supersedes.slice(mine.length))
        }
      }
      this.#mirror.applyRemote(entries, entries[entries.length - 1]!.seq)
      result.pulled += entries.length
    }
  }
}

/** Pushes entries in one statement; returns how many the server actually wrote. */
export async function pushEntries(client: pg.ClientBase, entries: FleetEntry[]): Promise<number> {
  const json = JSON.stringify(entries.map((e) => ({
    entry_id: e.entryId, laptop: e.laptop, local_id: e.localId, vehicle_key: e.vehicleKey, vin: e.vin, profile: e.profile,
    technician: e.technician, issued_at: e.issuedAt, expires: e.expires, duration_seconds: e.durationSeconds, batch_id: e.batchId,
    status: e.status, superseded_by: e.supersededBy, supersedes: e.supersedes,
  })))
  const { rowCount } = await client.query(PUSH_SQL, [json])
  return rowCount ?? 0
}

function fromPulled(row: PulledRow): FleetEntry & { seq: number } {
  return {
    entryId: row.entry_id,
    laptop: row.laptop,
    localId: row.local_id,
    vehicleKey: row.vehicle_key,
    vin: row.vin,
    profile: row.profile,
    technician: row.technician,
    issuedAt: row.issued_at,
    expires: row.expires,
    durationSeconds: row.duration_seconds,
    batchId: row.batch_id,
    status: row.status,
    supersededBy: row.superseded_by,
    supersedes: row.supersedes,
    seq: Number(row.seq),
  }
}
