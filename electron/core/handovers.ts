/**
 * Handover records and the ledger of keys, in `<data>/ledger.db` (see ledger-db.ts).
 *
 * A record is a vehicle (VIN, label, CarData), a planned window and, once PSA has issued
 * one, a key. A record that received a key is a ledger entry: its key is never replaced
 * (a renewal is a new record, and the old one is marked superseded), and it is never
 * removed. CarData and tokens are sealed with the vault key inside the rows.
 *
 * The rules that keep the ledger equal to what PSA issued live in key-requests.ts; this
 * module stores and reads (a row it cannot read is a storage.damaged error naming it).
 */
import { createHash, randomBytes } from 'node:crypto'
import * as z from 'zod'
import type { ImportResult } from '../../shared/cardata'
import { DurationPlan, EXPIRY_ROUNDING_MS } from '../../shared/duration'
import { VkError, type ErrorView } from '../../shared/errors'
import { HandoverStatus } from '../../shared/handover-status'
import { formatLocal } from '../../shared/time'
import { type Db, openLedgerDb, readStored, rememberVault, runWrite, safeJson, WriteGroup, type Statement } from './ledger-db'
import { closeLedgerFile } from './ledger-presence'
import { migrateLegacyHistory } from './ledger-migration'
import { currentOwner, isOwnerAlive, parseOwner, type ProcessOwner } from './process-owner'
import type { Vault } from './vault'
import { environments } from '../../shared/profile'

const ErrorViewStored = z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).default({}) })

export const RecordSchema = z.object({
  id: z.string(),
  vin: z.string().optional(),
  uin: z.string().optional(),
  label: z.string().optional(),
  source: z.string(),
  status: HandoverStatus,
  profile: z.string().optional(),
  /** The environment of the profile the key was issued with (kept when that profile is removed or changed: a simulator key stays marked). */
  environment: z.enum(environments).optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  plan: DurationPlan.optional(),
  plannedStart: z.string().optional(),
  plannedEnd: z.string().optional(),
  /** Seconds asked of PSA. */
  durationSeconds: z.number().optional(),
  requestedAt: z.string().optional(),
  /** When the request first went into the offline queue (kept across the flushes that could not send it). */
  queuedAt: z.string().optional(),
  issuedAt: z.string().optional(),
  handedOverAt: z.string().optional(),
  /** When the key stops working: the stored, checked expiry (the earlier of PSA's two figures). */
  expires: z.string().optional(),
  /** PSA granted more than 5 minutes longer than asked: kept, and shown flagged everywhere. */
  longerThanAsked: z.boolean().optional(),
  batchId: z.string().optional(),
  /** SHA-256 of the CarData and signature: finds the same vehicle export again. */
  carDataHash: z.string().optional(),
  /** The record whose key replaced this one's (this key stays valid at PSA until it expires). */
  supersededBy: z.string().optional(),
  /** The record whose key this one replaced. */
  supersedes: z.string().optional(),
  /** Where to write the QR code once a queued request gets its key (`vkey token --qr` while offline). */
  deliverQr: z.string().optional(),
  /** A queued request made with `--new` (or the app's confirm): sent later as a new key even if a live one covers the window. */
  forceNew: z.literal(true).optional(),
  /** Sealed `{carData, carDataSignature}`. */
  sealedCarData: z.string(),
  /** Sealed `{accessToken, tokenType, expiresIn, tokenSignature}`; erased once expired. */
  sealedToken: z.string().optional(),
  error: ErrorViewStored.optional(),
  /** Who did it, for the audit export. */
  technician: z.string().optional(),
})

export type HandoverRecord = z.infer<typeof RecordSchema>

/** A row of the handovers table as the store reads it. */
export interface RecordRow {
  id: string
  record: string
}

const CarDataSecret = z.object({ carData: z.string(), carDataSignature: z.string() })
export type CarDataSecret = z.infer<typeof CarDataSecret>

const StoredToken = z.object({ accessToken: z.string(), tokenType: z.string(), expiresIn: z.number(), tokenSignature: z.string() })
export type StoredToken = z.infer<typeof StoredToken>

export interface NewHandover {
  vin?: string
  uin?: string
  label?: string
  source: string
  carData: string
  carDataSignature: string
  profile?: string
  technician?: string
}

type ImportedVehicle = ImportResult['vehicles'][number]

/** A vehicle the CarData import accepted, as a new handover (the app's import, `vkey token`). */
export function newHandoverOf(vehicle: ImportedVehicle, extra: Pick<NewHandover, 'profile' | 'technician'> = {}): NewHandover {
  return {
    ...(vehicle.vin ? { vin: vehicle.vin } : {}),
    ...(vehicle.uin ? { uin: vehicle.uin } : {}),
    ...(vehicle.label ? { label: vehicle.label } : {}),
    source: vehicle.source,
    carData: vehicle.carData,
    carDataSignature: vehicle.carDataSignature,
    ...(extra.profile ? { profile: extra.profile } : {}),
    ...(extra.technician ? { technician: extra.technician } : {}),
  }
}

/** A failure or refusal for the audit: one per request PSA did not answer with a key. */
const LedgerEvent = z.object({
  at: z.string(),
  kind: z.enum(['failed', 'refused', 'queued', 'cancelled', 'malformed']),
  handoverId: z.string(),
  vin: z.string().optional(),
  profile: z.string().optional(),
  technician: z.string().optional(),
  durationSeconds: z.number().optional(),
  error: z.object({ code: z.string(), message: z.string(), psaUuid: z.string().optional() }),
})
export type LedgerEvent = z.infer<typeof LedgerEvent>

/** Identifies a vehicle export without keeping the CarData itself in clear. */
export function carDataHash(carData: string, carDataSignature: string): string {
  return createHash('sha256').update(carData).update('|').update(carDataSignature).digest('base64url')
}

/** The vehicle a record is about: its VIN when known, else its CarData. */
export function vehicleOf(record: Pick<HandoverRecord, 'vin' | 'carDataHash' | 'id'>): string {
  if (record.vin) return `vin:${record.vin}`
  return `cd:${record.carDataHash ?? record.id}`
}

/**
 * A request an interruption cut off (Ctrl-C, or its process killed or powered off with the
 * request on its way to PSA), or one sent that got no answer (a deadline, a lost connection):
 * PSA may have issued a key that was not stored.
 */
export function isCutOff(record: Pick<HandoverRecord, 'status' | 'error'>): boolean {
  return (record.status === 'draft' && record.error?.code === 'cancelled') || isUnanswered(record)
}

/** The last request was sent and got no answer (VkErrorDetails.unanswered). */
export function isUnanswered(record: Pick<HandoverRecord, 'status' | 'error'>): boolean {
  return record.status === 'failed' && record.error?.details?.unanswered === true
}

/** True while the record holds a key that has not expired and was not replaced. */
export function hasValidToken(record: Pick<HandoverRecord, 'sealedToken' | 'expires' | 'status'>, now: Date): boolean {
  return Boolean(
    record.sealedToken && record.expires && Date.parse(record.expires) > now.getTime() && (record.status === 'issued' || record.status === 'handed-over'),
  )
}

/**
 * A key PSA issued that still opens the car: superseded ones included (PSA cannot revoke them),
 * and ones unreadable here after a vault reset (a phone may hold them).
 */
export function stillValidAtPsa(record: Pick<HandoverRecord, 'issuedAt' | 'expires'>, now: Date): boolean {
  return Boolean(record.issuedAt && record.expires && Date.parse(record.expires) > now.getTime())
}

/** Whether the token covers the planned window, to EXPIRY_ROUNDING_MS (undefined when there is no token or no plan). */
export function coversPlan(record: Pick<HandoverRecord, 'expires' | 'plannedEnd'>): boolean | undefined {
  if (!record.expires || !record.plannedEnd) return undefined
  return Date.parse(record.expires) + EXPIRY_ROUNDING_MS >= Date.parse(record.plannedEnd)
}

/** A handover ID: 12 base64url characters, never starting with '-' or '_' (it must read as an argument, not an option). */
export function newId(): string {
  return randomBytes(9).toString('base64url').replace(/^[-_]/, 'x')
}

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

  /** A copy of `record`'s vehicle as a new draft (a renewal gets its own ledger entry). */
  copyVehicle(record: HandoverRecord): HandoverRecord {
    const { vin, uin, label, source, technician } = record
    return this.draft({
      ...(vin ? { vin } : {}),
      ...(uin ? { uin } : {}),
      ...(label ? { label } : {}),
      ...(technician ? { technician } : {}),
      source,
      ...this.carDataOf(record),
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
        this.put({ ...rest, sealedCarData: '', status, updatedAt: new Date(nowMs).toISOString() }, { live: false })
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

/** Summary of a stored error for a record. */
/** The audit's row for an attempt that got no key (failed, refused, cancelled, interrupted): who, which car, what was asked, and why. */
export function ledgerEventOf(record: HandoverRecord, kind: LedgerEvent['kind'], view: ErrorView, now: Date): LedgerEvent {
  const uuid = view.details.psa?.uuid
  return {
    at: now.toISOString(),
    kind,
    handoverId: record.id,
    ...(record.vin ? { vin: record.vin } : {}),
    ...(record.profile ? { profile: record.profile } : {}),
    ...(record.technician ? { technician: record.technician } : {}),
    ...(record.durationSeconds ? { durationSeconds: record.durationSeconds } : {}),
    error: { code: view.code, message: view.message, ...(uuid ? { psaUuid: uuid } : {}) },
  }
}

export function storedError(error: ErrorView): HandoverRecord['error'] {
  return { code: error.code, message: error.message, details: { ...error.details } }
}
