/**
 * The sync engine: local ledger → fleet.db (ingest) → PostgreSQL (push), then PostgreSQL →
 * fleet.db (pull). Every step is batched (memory bounded by the batch size) and restartable:
 * a cursor or a "pushed" mark moves only in the same SQLite transaction as the batch it
 * covers, and the server's upsert is idempotent by entry id (an entry pushed again unchanged
 * writes nothing), so a sync cut short anywhere repeats at most one batch, without duplicates.
 * Pull is incremental by the fleet sequence, which the server assigns in commit order.
 */
import type pg from 'pg'
import { PULLED_COLUMNS, type FleetMirror, type PendingEntry, type PulledValue } from './mirror'
import { SCHEMA } from './migrations'
import { toFleetEntry, type FleetEntry, type LocalLedger } from './types'

export const DEFAULT_BATCH = 5000

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
  /** What the server refused of this laptop's entries and was dropped to share the rest (said by `vkey fleet sync`). */
  dropped: string[]
}

const ISO = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`

const PULLED_SELECT = PULLED_COLUMNS.map((c) => (c === 'issued_at' || c === 'expires' ? `${ISO(c)} AS ${c}` : c)).join(', ')

/** The pull query: one batch of other laptops' entries after a sequence number (columns in PULLED_COLUMNS order). */
export const PULL_SQL = `SELECT ${PULLED_SELECT} FROM ${SCHEMA}.entries WHERE seq > $1 AND laptop <> $2 ORDER BY seq LIMIT $3`
const SEQ = PULLED_COLUMNS.indexOf('seq')
const ENTRY_ID = PULLED_COLUMNS.indexOf('entry_id')
const SUPERSEDES = PULLED_COLUMNS.indexOf('supersedes')

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
    const result: SyncResult = { ingested: this.ingest(), written: 0, sent: 0, pulled: 0, supersededHere: [], dropped: [] }
    await this.#push(client, result, hooks)
    await this.#pull(client, result)
    if (result.supersededHere.length) {
      // Our entries another laptop superseded: push their new status back at once.
      result.ingested += this.ingest()
      await this.#push(client, result, hooks)
    }
    this.#mirror.synced(new Date().toISOString())
    return result
  }

  async #push(client: pg.ClientBase, result: SyncResult, hooks: SyncHooks): Promise<void> {
    for (;;) {
      const batch: PendingEntry[] = this.#mirror.pending(this.#batch)
      if (!batch.length) return
      const entries = batch.map((p) => p.entry)
      let written: number
      try {
        written = await pushEntries(client, entries)
      } catch (error) {
        const dropped = this.#dropRefusedLink(error, entries)
        if (dropped === undefined) throw error
        result.dropped.push(dropped)
        continue
      }
      hooks.afterServerCommit?.(entries)
      this.#mirror.markPushed(batch)
      result.sent += entries.length
      result.written += written
    }
  }

  /**
   * The server refused an entry's link to the key it supersedes (migration 3: not another
   * laptop's key for the same car). The link is dropped here, so the entry and the rest of the
   * batch go through at the next try. Returns what was dropped, in words, or undefined.
   */
  #dropRefusedLink(error: unknown, entries: FleetEntry[]): string | undefined {
    const { code, detail } = error as { code?: string; detail?: string }
    const refused = code === '23514' ? entries.find((e) => e.entryId === detail && e.supersedes) : undefined
    if (!refused) return undefined
    this.#mirror.dropSupersedes(refused)
    return `the server refused the link of entry ${refused.entryId} to ${refused.supersedes} (not another laptop's key for the same car): the entry was shared without it`
  }

  async #pull(client: pg.ClientBase, result: SyncResult): Promise<void> {
    const mine = `${this.#laptop}/`
    const fetch = (cursor: number) => client.query<PulledValue[]>({ text: PULL_SQL, values: [cursor, this.#laptop, this.#batch], rowMode: 'array' })
    let next = fetch(this.#mirror.number('remote_cursor'))
    try {
      for (;;) {
        const { rows } = await next
        if (!rows.length) return
        const last = Number(rows[rows.length - 1]![SEQ])
        const more = rows.length === this.#batch
        // The server prepares the next batch while this one is written to fleet.db (two batches in memory at most).
        if (more) next = fetch(last)
        // Marks first, cursor after: a crash in between repeats the (idempotent) marks.
        for (const row of rows) {
          const supersedes = row[SUPERSEDES]
          if (
            typeof supersedes === 'string' &&
            supersedes.startsWith(mine) &&
            this.#ledger.markSupersededBy(supersedes.slice(mine.length), String(row[ENTRY_ID]))
          ) {
            result.supersededHere.push(supersedes.slice(mine.length))
          }
        }
        this.#mirror.applyRemote(rows, last)
        result.pulled += rows.length
        if (!more) return
      }
    } catch (error) {
      next.catch(() => undefined) // a prefetch left behind must not become an unhandled rejection
      throw error
    }
  }
}

/** Pushes entries in one statement; returns how many the server actually wrote. */
export async function pushEntries(client: pg.ClientBase, entries: FleetEntry[]): Promise<number> {
  const json = JSON.stringify(
    entries.map((e) => ({
      entry_id: e.entryId,
      laptop: e.laptop,
      local_id: e.localId,
      vehicle_key: e.vehicleKey,
      vin: e.vin,
      profile: e.profile,
      technician: e.technician,
      issued_at: e.issuedAt,
      expires: e.expires,
      duration_seconds: e.durationSeconds,
      batch_id: e.batchId,
      status: e.status,
      superseded_by: e.supersededBy,
      supersedes: e.supersedes,
    })),
  )
  const { rowCount } = await client.query(PUSH_SQL, [json])
  return rowCount ?? 0
}
