/**
 * INTERIM: the LocalLedger view of today's handover records (handovers.ts), so `vkey fleet`
 * and `vkey list --fleet` work before the SQLite ledger of issue 8 lands. That ledger
 * implements LocalLedger itself (a real change sequence, and markSupersededBy); then this file
 * goes. Here the change sequence is the record's updatedAt in milliseconds, and an entry another
 * laptop superseded cannot be marked (today's records have no "superseded" status).
 */
import { carDataHash, type HandoverRecord } from '../handovers'
import type { EntryStatus, LedgerEntry, LocalLedger } from './types'

const SHARED: Partial<Record<HandoverRecord['status'], EntryStatus>> = { issued: 'issued', 'handed-over': 'handed-over', expired: 'expired', failed: 'failed' }

/** A handover record as a ledger entry (undefined for drafts and queued requests: no key, nothing to share). */
export function ledgerEntryOf(record: HandoverRecord, technician: string): LedgerEntry | undefined {
  const status = SHARED[record.status]
  if (!status || (status !== 'failed' && !record.expires)) return undefined
  return {
    id: record.id,
    vehicleKey: record.vin ?? `cd:${record.carDataHash ?? carDataHash(record.id, '')}`,
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

export function handoverLedger(records: HandoverRecord[], technician: string): LocalLedger {
  const changes = records
    .map((record) => ({ seq: Date.parse(record.updatedAt), entry: ledgerEntryOf(record, technician) }))
    .filter((c): c is { seq: number; entry: LedgerEntry } => c.entry !== undefined && Number.isFinite(c.seq))
    .sort((a, b) => a.seq - b.seq)
  return {
    kind: 'handovers-json-updatedAt',
    entriesChangedSince(afterSeq, limit) {
      const after = changes.filter((c) => c.seq > afterSeq)
      // Never cut between two changes of the same millisecond: the cursor would skip one.
      let end = Math.min(limit, after.length)
      while (end < after.length && after[end]!.seq === after[end - 1]!.seq) end++
      return after.slice(0, end)
    },
    markSupersededBy: () => false,
  }
}
