/**
 * Handover records: a vehicle (VIN, label, CarData), a planned window, a token and a
 * status. Kept in `<data>/handovers.json` + `handovers.log` (a snapshot and its change
 * log, see record-journal.ts; 0600); CarData and tokens are sealed with the vault key, so
 * neither file holds a token or CarData in clear.
 */
import { createHash, randomBytes } from 'node:crypto'
import { z } from 'zod'
import { VkError, type ErrorView } from '../../shared/errors'
import { RecordJournal } from './record-journal'
import type { Vault } from './vault'

/** `unreadable`: its sealed CarData and token were sealed with a vault key that was reset (see markUnreadable). */
export type HandoverStatus = 'draft' | 'queued' | 'issued' | 'handed-over' | 'expired' | 'failed' | 'unreadable'

/** How long the token must live, as the user asked; turned into seconds when the request goes out. */
export type DurationPlan =
  | { kind: 'seconds'; seconds: number }
  | { kind: 'until'; until: string }
  | { kind: 'plan'; start: string; seconds: number }

const ErrorViewStored = z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).default({}) })

const RecordSchema = z.object({
  id: z.string(),
  vin: z.string().optional(),
  uin: z.string().optional(),
  label: z.string().optional(),
  source: z.string(),
  status: z.enum(['draft', 'queued', 'issued', 'handed-over', 'expired', 'failed', 'unreadable']),
  profile: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  plan: z
    .union([
      z.object({ kind: z.literal('seconds'), seconds: z.number() }),
      z.object({ kind: z.literal('until'), until: z.string() }),
      z.object({ kind: z.literal('plan'), start: z.string(), seconds: z.number() }),
    ])
    .optional(),
  plannedStart: z.string().optional(),
  plannedEnd: z.string().optional(),
  durationSeconds: z.number().optional(),
  requestedAt: z.string().optional(),
  issuedAt: z.string().optional(),
  handedOverAt: z.string().optional(),
  expires: z.string().optional(),
  batchId: z.string().optional(),
  /** SHA-256 of the CarData and signature: finds the same vehicle again when a batch resumes. */
  carDataHash: z.string().optional(),
  /** Sealed `{carData, carDataSignature}`. */
  sealedCarData: z.string(),
  /** Sealed `{accessToken, tokenType, expiresIn, tokenSignature}`; erased once expired. */
  sealedToken: z.string().optional(),
  error: ErrorViewStored.optional(),
  /** Who did it, for the audit export. */
  technician: z.string().optional(),
})

export type HandoverRecord = z.infer<typeof RecordSchema>


export interface CarDataSecret {
  carData: string
  carDataSignature: string
}

export interface StoredToken {
  accessToken: string
  tokenType: string
  expiresIn: number
  tokenSignature: string
}

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


/** Identifies a vehicle export without keeping the CarData itself in clear. */
export function carDataHash(carData: string, carDataSignature: string): string {
  return createHash('sha256').update(carData).update('|').update(carDataSignature).digest('base64url')
}

/** True while the record holds a token that has not expired. */
export function hasValidToken(record: Pick<HandoverRecord, 'sealedToken' | 'expires'>, now: Date): boolean {
  return Boolean(record.sealedToken && record.expires && Date.parse(record.expires) > now.getTime())
}

/**
 * Whether the token covers the planned window (undefined when there is no token or no
 * plan). Two seconds of slack: PSA's expiry has whole seconds, our planned end milliseconds.
 */
export function coversPlan(record: Pick<HandoverRecord, 'expires' | 'plannedEnd'>): boolean | undefined {
  if (!record.expires || !record.plannedEnd) return undefined
  return Date.parse(record.expires) + 2000 >= Date.parse(record.plannedEnd)
}

export function newId(): string {
  return randomBytes(9).toString('base64url')
}

export class HandoverStore {
  private readonly journal: RecordJournal<HandoverRecord>

  constructor(
    readonly dataDir: string,
    private readonly vault: Vault,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.journal = new RecordJournal({ dir: dataDir, name: 'handovers', parseRecord: (value) => RecordSchema.parse(value) })
  }

  /** All records, newest first. */
  async list(): Promise<HandoverRecord[]> {
    const records = structuredClone(await this.read())
    return records.sort((a, b) => b.createdAt.localeCompare(a.createdAt))
  }

  async get(id: string): Promise<HandoverRecord> {
    const record = (await this.read()).find((r) => r.id === id)
    if (!record) throw new VkError('not-found', `No handover with id ${id}. List them with \`vkey list\`.`, { field: 'id' })
    return structuredClone(record)
  }

  async add(items: NewHandover[]): Promise<HandoverRecord[]> {
    const time = this.now().toISOString()
    const created: HandoverRecord[] = items.map((item) => {
      const id = newId()
      return {
        id,
        ...(item.vin ? { vin: item.vin } : {}),
        ...(item.uin ? { uin: item.uin } : {}),
        ...(item.label ? { label: item.label } : {}),
        source: item.source,
        status: 'draft' as const,
        ...(item.profile ? { profile: item.profile } : {}),
        ...(item.technician ? { technician: item.technician } : {}),
        createdAt: time,
        updatedAt: time,
        carDataHash: carDataHash(item.carData, item.carDataSignature),
        sealedCarData: this.vault.seal(`handover:${id}:cardata`, JSON.stringify({ carData: item.carData, carDataSignature: item.carDataSignature })),
      }
    })
    await this.mutate((records) => {
      records.push(...created)
    })
    return created
  }

  /** Applies `change` to one record under the lock and returns the stored result. */
  async update(id: string, change: (record: HandoverRecord) => void): Promise<HandoverRecord> {
    let result: HandoverRecord | undefined
    await this.mutate((records) => {
      const index = records.findIndex((r) => r.id === id)
      if (index < 0) throw new VkError('not-found', `No handover with id ${id}. List them with \`vkey list\`.`, { field: 'id' })
      // The change works on a copy: if it throws, or leaves the record invalid, nothing changed.
      const draft = structuredClone(records[index]!)
      change(draft)
      draft.updatedAt = this.now().toISOString()
      records[index] = RecordSchema.parse(draft)
      result = records[index]
    })
    return structuredClone(result as HandoverRecord)
  }

  /** Takes a queued record for sending (queued → draft) under the lock; false if it is no longer queued. */
  async claimQueued(id: string): Promise<boolean> {
    let claimed = false
    await this.mutate((records) => {
      const index = records.findIndex((r) => r.id === id)
      const record = records[index]
      if (!record || record.status !== 'queued') return false
      records[index] = { ...record, status: 'draft', updatedAt: this.now().toISOString() }
      claimed = true
      return true
    })
    return claimed
  }

  async remove(id: string): Promise<boolean> {
    let removed = false
    await this.mutate((records) => {
      const index = records.findIndex((r) => r.id === id)
      if (index < 0) return false
      records.splice(index, 1)
      removed = true
      return true
    }, { compact: true }) // the removed record's sealed token and CarData leave the log too
    return removed
  }

  carDataOf(record: HandoverRecord): CarDataSecret {
    if (!record.sealedCarData) {
      throw new VkError('config.vault', `The CarData of ${record.vin ?? `handover ${record.id}`} was sealed with a vault key that was reset, so it cannot be sent again. Import the vehicle's CarData file again (\`vkey token --cardata FILE\` or \`vkey batch FILE\`).`, { field: 'id' })
    }
    return JSON.parse(this.vault.unseal(`handover:${record.id}:cardata`, record.sealedCarData).toString('utf8')) as CarDataSecret
  }

  tokenOf(record: HandoverRecord): StoredToken | undefined {
    if (!record.sealedToken) return undefined
    return JSON.parse(this.vault.unseal(`handover:${record.id}:token`, record.sealedToken).toString('utf8')) as StoredToken
  }

  sealToken(id: string, token: StoredToken): string {
    return this.vault.seal(`handover:${id}:token`, JSON.stringify(token))
  }

  /**
   * Erases the secret material of every token whose expiry has passed; the record
   * stays, marked expired, for the history. Returns the ids it changed.
   */
  async purgeExpired(): Promise<string[]> {
    const changed: string[] = []
    const nowMs = this.now().getTime()
    await this.mutate((records) => {
      records.forEach((record, index) => {
        if (!record.expires || Date.parse(record.expires) > nowMs) return
        if (record.status === 'issued' || record.sealedToken) {
          // A new object, never an edit in place: the cached JSON of the old one stays right.
          const { sealedToken: _erased, ...rest } = record
          records[index] = { ...rest, status: record.status === 'issued' ? 'expired' : record.status, updatedAt: new Date(nowMs).toISOString() }
          changed.push(record.id)
        }
      })
      return changed.length > 0
    }, { compact: true }) // erased means erased on disk, not just superseded in the log
    return changed
  }

  /**
   * After `vkey vault reset`: the old vault key is gone, so no sealed CarData or token can be
   * opened any more. Every record keeps its non-secret facts (VIN, label, plan, dates,
   * expiry) and loses its sealed data and its CarData hash (so a re-import of the same
   * CarData makes a new record rather than reusing one that cannot be sent). A record that
   * could still be sent or still held a token becomes `unreadable`: never a live key, so the
   * next batch or request issues a new one. Handed-over, expired and failed records keep
   * their status. Returns the ids it changed.
   */
  async markUnreadable(): Promise<string[]> {
    const changed: string[] = []
    await this.mutate((records) => {
      changed.length = 0
      records.forEach((record, index) => {
        if (!record.sealedCarData && !record.sealedToken && !record.carDataHash) return
        const { sealedToken: _token, carDataHash: _hash, ...rest } = record
        const ended = record.status === 'issued' && record.expires !== undefined && Date.parse(record.expires) <= this.now().getTime()
        const live = record.status === 'draft' || record.status === 'queued' || record.status === 'issued'
        const status = ended ? 'expired' : live ? 'unreadable' : record.status
        records[index] = { ...rest, sealedCarData: '', status, updatedAt: this.now().toISOString() }
        changed.push(record.id)
      })
      return changed.length > 0
    }, { compact: true })
    return changed
  }

  /**
   * For `vkey vault rotate`: re-seals every sealed field of every record in one write
   * (`reseal(purpose, envelope)` opens with the old key, seals with the new one). Either all
   * records are re-sealed or none. Returns how many fields were re-sealed.
   */
  async resealAll(reseal: (purpose: string, envelope: string) => string): Promise<number> {
    let count = 0
    await this.mutate((records) => {
      // All re-sealed before any is replaced: a record that cannot be opened changes nothing.
      const resealed = records.map((record) => ({
        ...record,
        ...(record.sealedCarData ? { sealedCarData: reseal(`handover:${record.id}:cardata`, record.sealedCarData) } : {}),
        ...(record.sealedToken ? { sealedToken: reseal(`handover:${record.id}:token`, record.sealedToken) } : {}),
      }))
      count = records.reduce((sum, record) => sum + (record.sealedCarData ? 1 : 0) + (record.sealedToken ? 1 : 0), 0)
      records.splice(0, records.length, ...resealed)
      return count > 0
    }, { compact: true })
    return count
  }

  private read(): Promise<HandoverRecord[]> {
    return this.journal.read()
  }

  private mutate(apply: (records: HandoverRecord[]) => boolean | void, options: { compact?: boolean } = {}): Promise<void> {
    return this.journal.mutate(apply, options)
  }
}

/** Summary of a stored error for a record. */
export function storedError(error: ErrorView): HandoverRecord['error'] {
  return { code: error.code, message: error.message, details: { ...error.details } }
}
