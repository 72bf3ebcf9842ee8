/**
 * The SQLite ledger (handovers.ts) as the fleet reads it: every row that received a key, or
 * failed, is an entry; the change sequence is the row's `seq`, which every write raises.
 * Tokens, signatures and CarData never leave: LedgerEntry has no field for them.
 */
import { type HandoverStore } from '../handovers'
import { carDataHash, type HandoverRecord, type RecordRow } from '../handover-record'
import type { EntryStatus, LedgerEntry, LocalLedger } from './types'

const SHARED: Partial<Record<HandoverRecord['status'], EntryStatus>> = {
  issued: 'issued',
  'handed-over': 'handed-over',
  expired: 'expired',
  failed: 'failed',
  superseded: 'superseded',
  unreadable: 'unreadable',
}

/** The vehicle as the fleet names it: the VIN, else 'cd:' + the CarData hash. */
export function fleetVehicleKey(record: Pick<HandoverRecord, 'vin' | 'carDataHash' | 'id'>): string {
  return record.vin ?? `cd:${record.carDataHash ?? carDataHash(record.id, '')}`
}

/** A handover record as a ledger entry (undefined for drafts and queued requests: no key, nothing to share). */
export function ledgerEntryOf(record: HandoverRecord, technician: string): LedgerEntry | undefined {
  const status = SHARED[record.status]
  if (!status || (status !== 'failed' && !record.expires)) return undefined
  return {
    id: record.id,
    vehicleKey: fleetVehicleKey(record),
    ...(record.vin ? { vin: record.vin } : {}),
    profile: record.profile ?? '',
    technician: record.technician ?? technician,
    issuedAt: record.issuedAt ?? record.requestedAt ?? record.createdAt,
    ...(record.expires ? { expires: record.expires } : {}),
    ...(record.durationSeconds !== undefined ? { durationSeconds: record.durationSeconds } : {}),
    ...(record.batchId ? { batchId: record.batchId } : {}),
    status,
  }
}

export function handoverLedger(store: HandoverStore, technician: string): LocalLedger {
  return {
    kind: 'sqlite-ledger-v1',
    entriesChangedSince(afterSeq, limit) {
      const rows = store.db
        .prepare<[number, number], RecordRow & { seq: number }>('SELECT seq, id, record FROM handovers WHERE seq > ? ORDER BY seq LIMIT ?')
        .all(afterSeq, limit)
      return rows
        .map((row) => ({ seq: row.seq, entry: ledgerEntryOf(store.recordOf(row), technician) }))
        .filter((c): c is { seq: number; entry: LedgerEntry } => c.entry !== undefined)
    },
    markSupersededBy: (localId, fleetEntryId) => store.markSupersededElsewhere(localId, fleetEntryId),
  }
}
