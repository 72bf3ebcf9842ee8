/**
 * The audit export: one CSV row per handover with no secret in it (no token, no
 * CarData, no signature): when, who, which profile, which vehicle, how long, the outcome
 * and the PSA error uuid that Stellantis support asks for.
 *
 * Written by hand rather than with a CSV library: it is one fixed table, and the one
 * subtle part — neutralising spreadsheet formulas in cells — is VK Depot policy anyway.
 */
import type { HandoverRecord } from './handovers'
import { writeFileAtomic } from './secure-files'

export const AUDIT_COLUMNS = ['time', 'technician', 'profile', 'vin', 'label', 'duration_seconds', 'outcome', 'expires', 'error_code', 'psa_error_uuid'] as const

/** Quotes a cell and defuses formula injection (=, +, -, @, tab, CR at the start). */
export function csvCell(value: string | number | undefined): string {
  let text = value === undefined ? '' : String(value)
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text
}

export function auditRows(records: HandoverRecord[]): string[][] {
  return [...records]
    .sort((a, b) => (a.requestedAt ?? a.createdAt).localeCompare(b.requestedAt ?? b.createdAt))
    .map((r) => {
      const psa = (r.error?.details as { psa?: { uuid?: string } } | undefined)?.psa
      return [
        r.requestedAt ?? r.createdAt,
        r.technician ?? '',
        r.profile ?? '',
        r.vin ?? '',
        r.label ?? '',
        r.durationSeconds === undefined ? '' : String(r.durationSeconds),
        r.status,
        r.expires ?? '',
        r.error?.code ?? '',
        psa?.uuid ?? '',
      ]
    })
}

export function auditCsv(records: HandoverRecord[]): string {
  const lines = [AUDIT_COLUMNS.join(','), ...auditRows(records).map((row) => row.map(csvCell).join(','))]
  return `${lines.join('\r\n')}\r\n`
}

/** Writes the CSV (0600, atomically) and returns the number of data rows. */
export async function exportAuditCsv(path: string, records: HandoverRecord[]): Promise<number> {
  await writeFileAtomic(path, auditCsv(records))
  return records.length
}
