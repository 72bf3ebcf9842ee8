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

export type HandoverStatus = 'draft' | 'queued' | 'issued' | 'handed-over' | 'expired' | 'failed'

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
  status: z.enum(['draft', 'queued', 'issued', 'handed-over', 'expired', 'failed']),
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
