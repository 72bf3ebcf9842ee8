/**
 * The audit export: one CSV row per key and per refused or failed request, with no secret in it.
 * Times come twice: ISO-8601 UTC for machines, and local time with its zone for people (the
 * same text as `vkey` and the pack, shared/time.ts). No token, no CarData, no signature:
 * when, who, which profile, which vehicle, how long, the outcome and the PSA error uuid
 * that Stellantis support asks for.
 *
 * Written by hand rather than with a CSV library: it is one fixed table, and the one
 * subtle part — neutralising spreadsheet formulas in cells — is VK Depot policy anyway.
 */
import { formatLocal } from '../../shared/time'
import type { HandoverRecord, LedgerEvent } from './handover-record'
import { keyNotes, type KeyNoteKind } from './key-notes'
import { writeFileAtomic } from './secure-files'

export const AUDIT_COLUMNS = [
  'time',
  'time_local',
  'handover_id',
  'technician',
  'profile',
  'vin',
  'label',
  'duration_seconds',
  'outcome',
  'expires',
  'expires_local',
  'note',
  'error_code',
  'psa_error_uuid',
] as const

/** Quotes a cell and defuses formula injection (=, +, -, @, tab, CR at the start). */
export function csvCell(value: string | number | undefined): string {
  let text = value === undefined ? '' : String(value)
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text
}

/**
 * One row per key PSA issued (its handover ID, its state now: issued, handed over,
 * superseded — still valid at PSA until its expiry —, expired or unreadable) and one row
 * per request that got no key (refused, failed, malformed, cancelled), oldest first.
 */
export function auditRows(records: HandoverRecord[], events: LedgerEvent[], timeZone?: string): string[][] {
  const local = (iso: string | undefined) => (iso ? formatLocal(iso, timeZone) : '')
  const keys = records
    .filter((r) => r.issuedAt)
    .map((r) => ({
      at: r.issuedAt!,
      row: [
        r.issuedAt!,
        local(r.issuedAt),
        r.id,
        r.technician ?? '',
        r.profile ?? '',
        r.vin ?? '',
        r.label ?? '',
        r.durationSeconds === undefined ? '' : String(r.durationSeconds),
        r.status,
        r.expires ?? '',
        local(r.expires),
        keyNote(r),
        '',
        '',
      ],
    }))
  const failures = events.map((e) => {
    const label = records.find((r) => r.id === e.handoverId)?.label ?? ''
    return {
      at: e.at,
      row: [
        e.at,
        local(e.at),
        e.handoverId,
        e.technician ?? '',
        e.profile ?? '',
        e.vin ?? '',
        label,
        e.durationSeconds === undefined ? '' : String(e.durationSeconds),
        e.kind,
        '',
        '',
        e.error.message,
        e.error.code,
        e.error.psaUuid ?? '',
      ],
    }
  })
  return [...keys, ...failures].sort((a, b) => a.at.localeCompare(b.at)).map((entry) => entry.row)
}

/** The CSV's note on a key: superseded, longer than asked, its batch (times as ISO UTC, like the other machine columns). */
const AUDIT_NOTES: ReadonlySet<KeyNoteKind> = new Set(['superseded', 'longer-than-asked', 'batch'])

function keyNote(r: HandoverRecord): string {
  return keyNotes(r, { time: (iso) => iso })
    .filter((note) => AUDIT_NOTES.has(note.kind))
    .map((note) => note.text)
    .join('; ')
}

export function auditCsv(records: HandoverRecord[], events: LedgerEvent[] = [], timeZone?: string): string {
  const lines = [AUDIT_COLUMNS.join(','), ...auditRows(records, events, timeZone).map((row) => row.map(csvCell).join(','))]
  return `${lines.join('\r\n')}\r\n`
}

/** Writes the CSV (0600, atomically) and returns the number of data rows. */
export async function exportAuditCsv(path: string, records: HandoverRecord[], events: LedgerEvent[] = []): Promise<number> {
  const rows = auditRows(records, events).length
  await writeFileAtomic(path, auditCsv(records, events))
  return rows
}
