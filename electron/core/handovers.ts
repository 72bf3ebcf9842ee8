/**
 * The ledger of keys and its handover records, in `<data>/ledger.db` (see ledger-db.ts; the
 * record's shape and the rules read off one are in handover-record.ts).
 *
 * A record is a vehicle (VIN, label, CarData), a planned window and, once PSA has issued
 * one, a key. A record that received a key is a ledger entry: its key is never replaced
 * (a renewal is a new record, and the old one is marked superseded), and it is never
 * removed. CarData and tokens are sealed with the vault key inside the rows.
 *
 * The rules that keep the ledger equal to what PSA issued live in key-requests.ts; this
 * module stores and reads (a row it cannot read is a storage.damaged error naming it).
 */
import { VkError, type ErrorView } from '../../shared/errors'
import { formatLocal } from '../../shared/time'
import {
  CarDataSecret,
  carDataHash,
  hadKey,
  hasValidToken,
  isCutOff,
  keepCutOffMark,
  LedgerEvent,
  ledgerEventOf,
  newId,
  RecordSchema,
  storedError,
  StoredToken,
  vehicleOf,
  type HandoverRecord,
  type NewHandover,
  type RecordRow,
} from './handover-record'
import { type Db, openLedgerDb, readStored, rememberVault, runWrite, safeJson, WriteGroup, type Statement } from './ledger-db'
import { closeLedgerFile } from './ledger-presence'
import { migrateLegacyHistory } from './ledger-migration'
import { currentOwner, isOwnerAlive, parseOwner, type ProcessOwner } from './process-owner'
import type { Vault } from './vault'

const notFound = (id: string) => new VkError('not-found', `No handover with id ${id}. List them with \`vkey list\`.`, { field: 'id' })

/** Fields of a ledger entry that never change once PSA issued its key. */
const KEY_FIELDS = [
  'issuedAt',
  'durationSeconds',
  'requestedAt',
  'profile',
  'environment',
  'batchId',
  'plannedEnd',
  'plannedStart',
  'longerThanAsked',
  'supersedes',
] as const

interface ClaimRow {
  vehicle: string
  owner: string
  handover_id: string
}

export class HandoverStore {
  readonly db: Db
  /** Prepared once per store: a batch runs the same few statements for every vehicle. */
  private readonly statements = new Map<string, Statement<unknown[]>>()
  private readonly group: WriteGroup

  constructor(
    readonly dataDir: string,
    private readonly vault: Vault,
    private readonly now: () => Date = () => new Date(),
    options: { busyTimeoutMs?: number } = {},
  ) {
    this.db = openLedgerDb(dataDir, options)
    rememberVault(this.db, dataDir, vault.vaultId)
    this.group = new WriteGroup(this.db, dataDir)
    migrateLegacyHistory(this, dataDir, { parse: (value) => RecordSchema.parse(value), vehicleOf })
  }

  private sql<P extends unknown[] = unknown[], R = unknown>(source: string): Statement<P, R> {
    let statement = this.statements.get(source)
    if (!statement) {
      statement = this.db.prepare(source)
      this.statements.set(source, statement)
    }
    return statement as unknown as Statement<P, R>
  }

  close(): void {
    closeLedgerFile(this.db)
  }

  /** All records, newest first. */
  async list(): Promise<HandoverRecord[]> {
    return this.listSync()
  }

  listSync(where = '', ...params: unknown[]): HandoverRecord[] {
    const rows = this.sql<unknown[], RecordRow>(`SELECT id, record FROM handovers ${where} ORDER BY created_at DESC, rowid DESC`).all(...params)
    return rows.map((row) => this.recordOf(row))
  }

  /** The records with these ids (those that exist), newest first: one query, only those rows read. */
  findMany(ids: readonly string[]): HandoverRecord[] {
    return this.listSync('WHERE id IN (SELECT value FROM json_each(?))', JSON.stringify(ids))
  }

  /** For each CarData hash in the ledger, its newest record's id and VIN (without reading the records). */
  newestByCarDataHash(): Map<string, { id: string; vin?: string }> {
    const rows = this.sql<[], { id: string; hash: string | null; vin: string | null }>(
      "SELECT id, json_extract(record, '$.carDataHash') AS hash, json_extract(record, '$.vin') AS vin FROM handovers ORDER BY created_at, rowid",
    ).all()
    const byHash = new Map<string, { id: string; vin?: string }>()
    for (const row of rows) if (row.hash) byHash.set(row.hash, { id: row.id, ...(row.vin ? { vin: row.vin } : {}) })
    return byHash
  }

  /** True when a request waits in the offline queue. */
  hasQueued(): boolean {
    return Boolean(this.sql("SELECT 1 FROM handovers WHERE status = 'queued' LIMIT 1").get())
  }

  async get(id: string): Promise<HandoverRecord> {
    const record = this.find(id)
    if (!record) throw notFound(id)
    return record
  }

  find(id: string): HandoverRecord | undefined {
    const row = this.sql<[string], RecordRow>('SELECT id, record FROM handovers WHERE id = ?').get(id)
    return row ? this.recordOf(row) : undefined
  }

  /** A row of the handovers table as a record; one this VK Depot cannot read is a storage.damaged error naming it. */
  recordOf(row: RecordRow): HandoverRecord {
    return readStored(RecordSchema, row.record, this.dataDir, `handover ${row.id}`)
  }

  /** Builds a draft record (sealed CarData) without storing it. */
  draft(item: NewHandover, time = this.now().toISOString()): HandoverRecord {
    const id = newId()
    return {
      id,
      ...(item.vin ? { vin: item.vin } : {}),
      ...(item.uin ? { uin: item.uin } : {}),
      ...(item.label ? { label: item.label } : {}),
      source: item.source,
      status: 'draft',
      ...(item.profile ? { profile: item.profile } : {}),
      ...(item.technician ? { technician: item.technician } : {}),
      createdAt: time,
      updatedAt: time,
      carDataHash: carDataHash(item.carData, item.carDataSignature),
      sealedCarData: this.vault.seal(`handover:${id}:cardata`, JSON.stringify({ carData: item.carData, carDataSignature: item.carDataSignature })),
    }
  }

  async add(items: NewHandover[]): Promise<HandoverRecord[]> {
    const time = this.now().toISOString()
    const created = items.map((item) => this.draft(item, time))
    this.write(() => created.forEach((record) => this.put(record)))
    return created
  }

  /** A copy of `record`'s vehicle as a new draft (a renewal gets its own ledger entry), its CarData read from `source`. */
  copyVehicle(record: HandoverRecord, source = record.source): HandoverRecord {
    const { vin, uin, label, technician } = record
    return this.draft({
      ...(vin ? { vin } : {}),
      ...(uin ? { uin } : {}),
      ...(label ? { label } : {}),
      ...(technician ? { technician } : {}),
      source,
      ...this.carDataOf(record),
    })
  }

  /**
   * The record to ask for again when its CarData was read this time from `source` (a re-run
   * from another export of the same car): a record without a key takes the new file's name, one
   * that had a key keeps it and the request gets a new draft naming that file.
   */
  async askedFrom(id: string, source: string): Promise<{ id: string; copied: boolean }> {
    return this.write(() => {
      const record = this.find(id)
      if (!record || record.source === source) return { id, copied: false }
      if (!hadKey(record)) {
        this.updateSync(id, (r) => {
          r.source = source
        })
        return { id, copied: false }
      }
      const copy = this.copyVehicle(record, source)
      this.put(copy)
      return { id: copy.id, copied: true }
    })
  }

  /** Applies `change` to one record in a transaction and returns the stored result. */
  async update(id: string, change: (record: HandoverRecord) => void): Promise<HandoverRecord> {
    return this.write(() => this.updateSync(id, change))
  }

  /** The same inside a transaction the caller runs. Key fields of a ledger entry cannot change. */
  updateSync(id: string, change: (record: HandoverRecord) => void, options: { live?: boolean } = {}): HandoverRecord {
    const before = this.find(id)
    if (!before) throw notFound(id)
    const draft = structuredClone(before)
    change(draft)
    keepCutOffMark(before, draft)
    draft.updatedAt = this.now().toISOString()
    const after = RecordSchema.parse(draft)
    guardLedgerEntry(before, after)
    this.put(after, options)
    return after
  }

  /** Stores the key PSA just issued as the vehicle's live key (inside a transaction, after retireLive). */
  issue(id: string, change: (record: HandoverRecord) => void): HandoverRecord {
    const record = this.updateSync(id, change, { live: true })
    if (!record.issuedAt || !record.sealedToken) throw new VkError('internal', `Handover ${id} was marked live without a key.`)
    return record
  }

  /**
   * Takes the live mark off the vehicle's key (inside a transaction): superseded by `byId`
   * while it still works, expired otherwise. Returns the superseded record, if any.
   */
  retireLive(vehicle: string, byId: string): HandoverRecord | undefined {
    const row = this.sql<[string], RecordRow>('SELECT id, record FROM handovers WHERE vehicle = ? AND live = 1').get(vehicle)
    if (!row) return undefined
    const record = this.recordOf(row)
    const valid = hasValidToken(record, this.now())
    const next: HandoverRecord = {
      ...record,
      updatedAt: this.now().toISOString(),
      ...(valid ? { status: 'superseded' as const, supersededBy: byId } : { status: record.status === 'issued' ? ('expired' as const) : record.status }),
    }
    guardLedgerEntry(record, next)
    this.put(next, { live: false })
    return valid ? next : undefined
  }

  /**
   * Another laptop's key (fleet entry `fleetEntryId`) superseded this record's key: marked so,
   * once (an expired key stays expired). True when this marked it; false when the record never
   * had a key or was marked so already (a sync that pulls everything again counts nothing twice).
   */
  markSupersededElsewhere(id: string, fleetEntryId: string): boolean {
    return this.write(() => {
      const record = this.find(id)
      if (!record?.issuedAt) return false
      if (record.status === 'superseded' && record.supersededBy === fleetEntryId) return false
      this.put(
        { ...record, status: record.status === 'expired' ? 'expired' : 'superseded', supersededBy: fleetEntryId, updatedAt: this.now().toISOString() },
        { live: false },
      )
      return true
    })
  }

  /** Takes a queued record for sending (queued → draft); false if it is no longer queued. */
  async claimQueued(id: string): Promise<boolean> {
    return this.write(() => {
      const record = this.find(id)
      if (!record || record.status !== 'queued') return false
      this.put({ ...record, status: 'draft', updatedAt: this.now().toISOString() })
      return true
    })
  }

  /** Removes a record that never received a key; a ledger entry stays (refused with a reason). */
  async remove(id: string): Promise<boolean> {
    return this.write(() => {
      const record = this.find(id)
      if (!record) return false
      if (record.issuedAt)
        throw new VkError(
          'usage',
          `Handover ${record.vin ?? id} holds a key PSA issued: it stays in the ledger${record.expires ? ` (the key works until ${formatLocal(record.expires)})` : ''}.`,
          { field: 'id' },
        )
      this.sql('DELETE FROM handovers WHERE id = ?').run(id)
      return true
    })
  }

  carDataOf(record: HandoverRecord): CarDataSecret {
    if (!record.sealedCarData) {
      throw new VkError(
        'config.vault',
        `The CarData of ${record.vin ?? `handover ${record.id}`} was sealed with a vault key that was reset, so it cannot be sent again. Import the vehicle's CarData file again (\`vkey token --cardata FILE\` or \`vkey batch FILE\`).`,
        { field: 'id' },
      )
    }
    const text = this.vault.unseal(`handover:${record.id}:cardata`, record.sealedCarData).toString('utf8')
    return readStored(CarDataSecret, text, this.dataDir, `sealed CarData of handover ${record.id}`)
  }

  tokenOf(record: HandoverRecord): StoredToken | undefined {
    if (!record.sealedToken) return undefined
    const text = this.vault.unseal(`handover:${record.id}:token`, record.sealedToken).toString('utf8')
    return readStored(StoredToken, text, this.dataDir, `sealed key of handover ${record.id}`)
  }

  sealToken(id: string, token: StoredToken): string {
    return this.vault.seal(`handover:${id}:token`, JSON.stringify(token))
  }

  /** A key given to its driver: only an issued one can be (the app's button and `vkey handed-over`). */
  async markHandedOver(id: string): Promise<HandoverRecord> {
    return this.update(id, (r) => {
      if (r.status !== 'issued') throw new VkError('usage', `Only an issued token can be marked handed over (this one is ${r.status}).`, { field: 'status' })
      r.status = 'handed-over'
      r.handedOverAt = this.now().toISOString()
    })
  }

  /**
   * Erases the secret material of every key whose expiry has passed; the record stays,
   * marked expired, in the ledger. Returns the ids it changed.
   */
  async purgeExpired(): Promise<string[]> {
    const nowMs = this.now().getTime()
    const expired = this.listSync('WHERE expires IS NOT NULL AND (live = 1 OR record LIKE \'%"sealedToken"%\')').filter((r) => Date.parse(r.expires!) <= nowMs)
    if (!expired.length) return []
    this.write(() => {
      for (const record of expired) {
        const { sealedToken: _erased, ...rest } = record
        const status = record.status === 'issued' || record.status === 'superseded' ? 'expired' : record.status
        this.put({ ...rest, status, updatedAt: new Date(nowMs).toISOString() })
      }
    })
    this.db.pragma('wal_checkpoint(TRUNCATE)') // erased means erased on disk, not only in the newest page
    return expired.map((r) => r.id)
  }

  /**
   * After `vkey vault reset`: the old vault key is gone, so no sealed CarData or token can be
   * opened any more. Every record keeps its non-secret facts (VIN, label, plan, dates,
   * expiry) and loses its sealed data and its CarData hash (so a re-import of the same
   * CarData makes a new record rather than reusing one that cannot be sent). A record that
   * could still be sent or still held a key becomes `unreadable`: never a live key, so the
   * next batch or request issues a new one. Returns the ids it changed.
   */
  async markUnreadable(): Promise<string[]> {
    const nowMs = this.now().getTime()
    return this.write(() => {
      const changed: string[] = []
      for (const record of this.listSync()) {
        if (!record.sealedCarData && !record.sealedToken && !record.carDataHash) continue
        const { sealedToken: _token, carDataHash: _hash, ...rest } = record
        const ended = record.expires !== undefined && Date.parse(record.expires) <= nowMs
        const live = record.status === 'draft' || record.status === 'queued' || record.status === 'issued' || record.status === 'superseded'
        const status = ended && record.issuedAt ? 'expired' : live ? 'unreadable' : record.status
        const next: HandoverRecord = { ...rest, sealedCarData: '', status, updatedAt: new Date(nowMs).toISOString() }
        keepCutOffMark(record, next)
        this.put(next, { live: false })
        changed.push(record.id)
      }
      return changed
    })
  }

  /**
   * For `vkey vault rotate`: re-seals every sealed field of every record in one transaction
   * (`reseal(purpose, envelope)` opens with the old key, seals with the new one): all or
   * none. Returns how many fields were re-sealed.
   */
  async resealAll(reseal: (purpose: string, envelope: string) => string): Promise<number> {
    return this.write(() => {
      let count = 0
      for (const record of this.listSync()) {
        const next = {
          ...record,
          ...(record.sealedCarData ? { sealedCarData: reseal(`handover:${record.id}:cardata`, record.sealedCarData) } : {}),
          ...(record.sealedToken ? { sealedToken: reseal(`handover:${record.id}:token`, record.sealedToken) } : {}),
        }
        count += (record.sealedCarData ? 1 : 0) + (record.sealedToken ? 1 : 0)
        this.put(next, { live: this.isLiveRow(record.id) })
      }
      return count
    })
  }

  // ---- the ledger's own rows: live keys, claims, events, batches --------------------------

  /** The vehicle's live key (issued or handed over, not expired, not superseded), if any. */
  liveKeyOf(vehicle: string): HandoverRecord | undefined {
    const row = this.sql<[string], RecordRow>('SELECT id, record FROM handovers WHERE vehicle = ? AND live = 1').get(vehicle)
    const record = row ? this.recordOf(row) : undefined
    return record && hasValidToken(record, this.now()) ? record : undefined
  }

  /**
   * Requests cut off (isCutOff) after a flush took them from the offline queue: out of the
   * queue, so no flush sends them again by itself; their `queuedAt` stays until `vkey queue
   * flush` has said so once (forgetQueuedAt).
   */
  cutOffFromQueue(): HandoverRecord[] {
    return this.listSync("WHERE status = 'draft'").filter((r) => isCutOff(r) && r.queuedAt)
  }

  /** The requests are no longer counted as having come from the queue (cutOffFromQueue has been said). */
  forgetQueuedAt(ids: readonly string[]): void {
    this.write(() => {
      for (const id of ids) {
        if (this.find(id)?.queuedAt)
          this.updateSync(id, (r) => {
            delete r.queuedAt
          })
      }
    })
  }

  /** A request for the vehicle waiting in the offline queue, if any. */
  queuedFor(vehicle: string): HandoverRecord | undefined {
    return this.listSync("WHERE vehicle = ? AND status = 'queued'", vehicle)[0]
  }

  /** Who is requesting a key for the vehicle right now; a claim whose process is gone is settled (liveOwnerOrSettle). */
  claimOf(vehicle: string): { owner: ProcessOwner; handoverId: string } | undefined {
    const row = this.sql<[string], ClaimRow>('SELECT vehicle, owner, handover_id FROM claims WHERE vehicle = ?').get(vehicle)
    const owner = row && this.liveOwnerOrSettle(row)
    return owner ? { owner, handoverId: row.handover_id } : undefined
  }

  /** Settles the claims of every process that is gone (at open: `vkey list` shows what they left at once). */
  settleDeadClaims(): number {
    return this.sql<[], ClaimRow>('SELECT vehicle, owner, handover_id FROM claims')
      .all()
      .filter((row) => !this.liveOwnerOrSettle(row)).length
  }

  /**
   * The claim's owner while its process runs. A claim left by a process that ended without
   * settling it (killed, crashed, or the laptop lost power) was a request on its way to PSA, or
   * about to be: PSA may have issued a key that was never stored. Its record says so, as after
   * a cancel, and the audit gets the attempt; then the claim goes. One transaction (a savepoint
   * inside the caller's).
   */
  private liveOwnerOrSettle(row: ClaimRow): ProcessOwner | undefined {
    const owner = parseOwner(safeJson(row.owner))
    if (owner && isOwnerAlive(owner)) return owner
    this.db.transaction(() => {
      const record = this.find(row.handover_id)
      if (record && !record.issuedAt) {
        const now = this.now()
        const view: ErrorView = {
          code: 'cancelled',
          message: `Interrupted: the VK Depot process${owner ? ` (pid ${owner.pid})` : ''} ended while this request was on its way to PSA. If PSA had received it, a key may have been issued; it was not stored.`,
          details: {},
        }
        this.put({ ...record, status: 'draft', error: storedError(view), updatedAt: now.toISOString() })
        this.addEvent(ledgerEventOf(record, 'cancelled', view, now))
      }
      this.sql('DELETE FROM claims WHERE vehicle = ? AND owner = ?').run(row.vehicle, row.owner)
    })()
    return undefined
  }

  claim(vehicle: string, handoverId: string): void {
    this.sql('INSERT INTO claims (vehicle, handover_id, owner, claimed_at) VALUES (?, ?, ?, ?)').run(
      vehicle,
      handoverId,
      JSON.stringify(currentOwner()),
      this.now().toISOString(),
    )
  }

  releaseClaim(vehicle: string): void {
    this.sql('DELETE FROM claims WHERE vehicle = ? AND owner = ?').run(vehicle, JSON.stringify(currentOwner()))
  }

  /** Stores a record as it is (inside a transaction). */
  put(record: HandoverRecord, options: { live?: boolean } = {}): void {
    const live = options.live ?? (this.isLiveRow(record.id) && hasValidToken(record, this.now()))
    this.sql(
      `INSERT INTO handovers (id, vehicle, status, live, created_at, expires, seq, record) VALUES (@id, @vehicle, @status, @live, @createdAt, @expires, (SELECT COALESCE(MAX(seq), 0) + 1 FROM handovers), @record)
         ON CONFLICT (id) DO UPDATE SET vehicle = excluded.vehicle, status = excluded.status, live = excluded.live, expires = excluded.expires, seq = excluded.seq, record = excluded.record`,
    ).run({
      id: record.id,
      vehicle: vehicleOf(record),
      status: record.status,
      live: live ? 1 : 0,
      createdAt: record.createdAt,
      expires: record.expires ?? null,
      record: JSON.stringify(record),
    })
  }

  private isLiveRow(id: string): boolean {
    return Boolean(this.sql<[string], { live: number }>('SELECT live FROM handovers WHERE id = ?').get(id)?.live)
  }

  addEvent(event: LedgerEvent): void {
    this.sql('INSERT INTO events (at, kind, handover_id, event) VALUES (?, ?, ?, ?)').run(event.at, event.kind, event.handoverId, JSON.stringify(event))
  }

  events(): LedgerEvent[] {
    return this.sql<[], { seq: number; event: string }>('SELECT seq, event FROM events ORDER BY seq')
      .all()
      .map((row) => readStored(LedgerEvent, row.event, this.dataDir, `audit event ${row.seq}`))
  }

  /** Runs `work` as one write transaction. */
  write<T>(work: () => T, options: { durable?: boolean } = {}): T {
    return runWrite(this.db, this.dataDir, work, options)
  }

  /**
   * Runs `work` in the transaction shared by the writes asked for in this turn of the event
   * loop (ledger-db.ts WriteGroup): resolves once that transaction is committed — durably
   * unless `durable: false` — so what it stored may be reported.
   */
  writeSoon<T>(work: () => T, options: { durable?: boolean } = {}): Promise<T> {
    return this.group.run(work, options)
  }
}

/** Once PSA issued a key, the entry's key and facts stay as they were; only its state moves on. */
function guardLedgerEntry(before: HandoverRecord, after: HandoverRecord): void {
  if (!before.issuedAt) return
  const changed = KEY_FIELDS.filter((field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]))
  const tokenReplaced = after.sealedToken !== undefined && after.sealedToken !== before.sealedToken
  const expiryChanged = before.expires !== after.expires
  if (changed.length || tokenReplaced || expiryChanged || !after.issuedAt) {
    throw new VkError(
      'internal',
      `Handover ${before.id} holds a key PSA issued: its entry in the ledger cannot be changed (${[...changed, ...(tokenReplaced ? ['token'] : []), ...(expiryChanged ? ['expires'] : [])].join(', ') || 'issuedAt'}).`,
    )
  }
}
