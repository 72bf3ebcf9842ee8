/**
 * The audit export: one CSV row per handover with no secret in it (no token, no
 * CarData, no signature): when, who, which profile, which vehicle, how long, the outcome,
 * the handover ID and the PSA error uuid that Stellantis support asks for. Times come
 * twice: ISO-8601 UTC for machines, and local time with its zone for people (the same
 * text as `vkey` and the pack, shared/time.ts).
 *
 * Written by hand rather than with a CSV library: it is one fixed table, and the one
 * subtle part — neutralising spreadsheet formulas in cells — is VK Depot policy anyway.
 */
import { formatLocal } from '../../shared/time'
import type { HandoverRecord } from './handovers'
import { writeFileAtomic } from './secure-files'

export const AUDIT_COLUMNS = ['time', 'time_local', 'handover_id', 'technician', 'profile', 'vin', 'label', 'duration_seconds', 'outcome', 'expires', 'expires_local', 'error_code', 'psa_error_uuid'] as const

/** Quotes a cell and defuses formula injection (=, +, -, @, tab, CR at the start). */
export function csvCell(value: string | number | undefined): string {
  let text = value === undefined ? '' : String(value)
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text
}

export function auditRows(records: HandoverRecord[], timeZone?: string): string[][] {
  return [...records]
    .sort((a, b) => (a.requestedAt ?? a.createdAt).localeCompare(b.requestedAt ?? b.createdAt))
    .map((r) => {
      const psa = (r.error?.details as { psa?: { uuid?: string } } | undefined)?.psa
      const time = r.requestedAt ?? r.createdAt
      return [
        time,
        formatLocal(time, timeZone),
        r.id,
        r.technician ?? '',
        r.profile ?? '',
        r.vin ?? '',
        r.label ?? '',
        r.durationSeconds === undefined ? '' : String(r.durationSeconds),
        r.status,
        r.expires ?? '',
        r.expires ? formatLocal(r.expires, timeZone) : '',
        r.error?.code ?? '',
        psa?.uuid ?? '',
      ]
    })
}

export function auditCsv(records: HandoverRecord[], timeZone?: string): string {
  const lines = [AUDIT_COLUMNS.join(','), ...auditRows(records, timeZone).map((row) => row.map(csvCell).join(','))]
  return `${lines.join('\r\n')}\r\n`
}

/** Writes the CSV (0600, atomically) and returns the number of data rows. */
export async function exportAuditCsv(path: string, records: HandoverRecord[]): Promise<number> {
  await writeFileAtomic(path, auditCsv(records))
  return records.length
}
