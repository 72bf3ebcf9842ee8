/**
 * A handover record as the ledger keeps it: its shape (checked with zod when read), the shapes
 * of the secrets sealed inside it (CarData, the token), the audit's row for an attempt, and
 * the rules read off a record (its vehicle, a key still valid, a request cut off or
 * unanswered, a key that covers its plan). No storage here: handovers.ts stores and reads.
 */
import { createHash, randomBytes } from 'node:crypto'
import * as z from 'zod'
import type { ImportResult } from '../../shared/cardata'
import { DurationPlan, EXPIRY_ROUNDING_MS } from '../../shared/duration'
import type { ErrorView } from '../../shared/errors'
import { HandoverStatus } from '../../shared/handover-status'
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
  /**
   * An earlier request for this record was cut off or got no answer (isCutOff) before a later
   * one settled it: PSA may hold a key from that attempt that was never stored, opening the car
   * until `until` (that attempt's window end) at the latest. Kept by keepCutOffMark.
   */
  earlierCutOff: z.object({ requestedAt: z.string().optional(), until: z.string().optional() }).optional(),
  /** Who did it, for the audit export. */
  technician: z.string().optional(),
})

export type HandoverRecord = z.infer<typeof RecordSchema>

/** A row of the handovers table as the store reads it. */
export interface RecordRow {
  id: string
  record: string
}

export const CarDataSecret = z.object({ carData: z.string(), carDataSignature: z.string() })
export type CarDataSecret = z.infer<typeof CarDataSecret>

export const StoredToken = z.object({ accessToken: z.string(), tokenType: z.string(), expiresIn: z.number(), tokenSignature: z.string() })
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
export const LedgerEvent = z.object({
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
 * PSA may have issued a key that was not stored. A cancel known to have left no key (nothing
 * was sent) is not one.
 */
export function isCutOff(record: Pick<HandoverRecord, 'status' | 'error'>): boolean {
  const cancelled = record.status === 'draft' && record.error?.code === 'cancelled' && record.error.details?.unanswered !== false
  return cancelled || isUnanswered(record)
}

/**
 * PSA may hold a key for this record that is not stored here: its last request was cut off,
 * or an earlier one was and a later request settled the record (earlierCutOff).
 */
export function mayHoldUnstoredKey(record: Pick<HandoverRecord, 'status' | 'error' | 'earlierCutOff'>): boolean {
  return isCutOff(record) || record.earlierCutOff !== undefined
}

/**
 * When an update settles a cut-off request (a later answer, a new error, a cancel, another
 * attempt cut off in turn, a vault reset), the record keeps the mark of the key PSA may have
 * issued for it: the latest window such an attempt asked.
 */
export function keepCutOffMark(before: HandoverRecord, after: HandoverRecord): void {
  if (!isCutOff(before)) return
  if (isCutOff(after) && after.requestedAt === before.requestedAt) return // the same attempt, still cut off
  const ends = [after.earlierCutOff?.until, before.plannedEnd].filter((end): end is string => end !== undefined)
  const until = ends.sort((a, b) => Date.parse(b) - Date.parse(a))[0]
  after.earlierCutOff = { ...(before.requestedAt ? { requestedAt: before.requestedAt } : {}), ...(until ? { until } : {}) }
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

/**
 * Whether a record is a ledger entry that had a key (or may have had one: unreadable): it keeps
 * its key as it was, and a new request for its vehicle gets an entry of its own.
 */
export function hadKey(record: Pick<HandoverRecord, 'issuedAt' | 'status'>): boolean {
  return Boolean(record.issuedAt) || record.status === 'expired' || record.status === 'superseded' || record.status === 'unreadable'
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

/** An error as a record keeps it (its details too: `unanswered`, PSA's reference). */
export function storedError(error: ErrorView): HandoverRecord['error'] {
  return { code: error.code, message: error.message, details: { ...error.details } }
}
