/**
 * The fleet views, from fleet.db (so they work offline with the last sync): the live keys by
 * car with laptop and technician, conflicts first; and the fleet audit, one row per entry.
 *
 * The rule, stated once for the app (the database's vkey_fleet.live_entries view states the
 * same for administrators): a key is live while issued or handed over, not expired, not marked
 * superseded and superseded by no other entry. Two live keys for one vehicle are a conflict. A
 * superseded key still opens the car until it expires (PSA cannot revoke it): it is listed too.
 */
import { formatLocal } from '../../../shared/time'
import { csvCell } from '../audit'
import { writeFileAtomic } from '../secure-files'
import type { FleetMirror } from './mirror'
import type { FleetEntry } from './types'

export interface FleetVehicle {
  vehicleKey: string
  vin: string | null
  conflict: boolean
  /** Live keys for the vehicle, earliest issued first. */
  keys: FleetEntry[]
  /**
   * Keys that are not live but still open the car until they expire (PSA cannot revoke them):
   * superseded by a newer one, or unreadable on their laptop after a vault reset. Earliest first.
   */
  stillValid: FleetEntry[]
}

/**
 * A key PSA still honours: one it issued (issued, handed over, superseded, or unreadable on its
 * laptop after a vault reset: a phone may hold it) that has not expired.
 */
export function stillValidAtPsa(entry: FleetEntry, now: Date): boolean {
  return entry.status !== 'expired' && entry.status !== 'failed' && entry.expires !== null && Date.parse(entry.expires) > now.getTime()
}

export function isLive(entry: FleetEntry, supersededIds: ReadonlySet<string>, now: Date): boolean {
  return (
    (entry.status === 'issued' || entry.status === 'handed-over') &&
    stillValidAtPsa(entry, now) &&
    entry.supersededBy === null &&
    !supersededIds.has(entry.entryId)
  )
}

/** The keys in circulation grouped by vehicle (live, and superseded ones still valid): conflicts first, then by vehicle. */
export function liveByVehicle(mirror: FleetMirror, now = new Date()): FleetVehicle[] {
  const { entries, supersededIds } = mirror.validCandidates(now.toISOString())
  const byVehicle = new Map<string, FleetVehicle>()
  for (const entry of entries) {
    if (!stillValidAtPsa(entry, now)) continue
    const vehicle = byVehicle.get(entry.vehicleKey) ?? { vehicleKey: entry.vehicleKey, vin: entry.vin, conflict: false, keys: [], stillValid: [] }
    if (isLive(entry, supersededIds, now)) vehicle.keys.push(entry)
    else vehicle.stillValid.push(entry)
    byVehicle.set(entry.vehicleKey, vehicle)
  }
  const earliest = (a: FleetEntry, b: FleetEntry) => a.issuedAt.localeCompare(b.issuedAt)
  return [...byVehicle.values()]
    .map((v) => ({
      ...v,
      vin: v.vin ?? v.keys[0]?.vin ?? null,
      conflict: v.keys.length > 1,
      keys: v.keys.sort(earliest),
      stillValid: v.stillValid.sort(earliest),
    }))
    .sort((a, b) => Number(b.conflict) - Number(a.conflict) || a.vehicleKey.localeCompare(b.vehicleKey))
}

export const FLEET_AUDIT_COLUMNS = [
  'conflict',
  'vehicle',
  'vin',
  'laptop',
  'technician',
  'profile',
  'issued_at',
  'expires',
  'duration_seconds',
  'status',
  'live',
  'superseded_by',
  'supersedes',
  'entry_id',
  'batch',
  'valid_at_psa',
  'issued_at_local',
  'expires_local',
] as const

/** One row per fleet entry (no secret exists to leave out: the fleet has none); conflicts first. */
export function fleetAuditRows(mirror: FleetMirror, now = new Date(), timeZone?: string): string[][] {
  const all = mirror.allEntries()
  const supersededBy = mirror.supersedingLinks()
  const supersededIds = new Set(supersededBy.keys())
  const liveCount = new Map<string, number>()
  for (const e of all) if (isLive(e, supersededIds, now)) liveCount.set(e.vehicleKey, (liveCount.get(e.vehicleKey) ?? 0) + 1)
  const conflict = (e: FleetEntry) => (liveCount.get(e.vehicleKey) ?? 0) > 1
  return all
    .sort((a, b) => Number(conflict(b)) - Number(conflict(a)) || a.vehicleKey.localeCompare(b.vehicleKey) || a.issuedAt.localeCompare(b.issuedAt))
    .map((e) => {
      const live = isLive(e, supersededIds, now)
      return [
        conflict(e) ? 'CONFLICT' : '',
        e.vehicleKey,
        e.vin ?? '',
        e.laptop,
        e.technician,
        e.profile,
        e.issuedAt,
        e.expires ?? '',
        e.durationSeconds === null ? '' : String(e.durationSeconds),
        supersededIds.has(e.entryId) && e.status !== 'superseded' ? 'superseded' : e.status,
        live ? 'yes' : 'no',
        e.supersededBy ?? supersededBy.get(e.entryId) ?? '',
        e.supersedes ?? '',
        e.entryId,
        e.batchId ?? '',
        stillValidAtPsa(e, now) ? 'yes' : 'no',
        formatLocal(e.issuedAt, timeZone),
        e.expires ? formatLocal(e.expires, timeZone) : '',
      ]
    })
}

export async function exportFleetAuditCsv(file: string, mirror: FleetMirror, now = new Date(), timeZone?: string): Promise<number> {
  const rows = fleetAuditRows(mirror, now, timeZone)
  const text = [FLEET_AUDIT_COLUMNS as readonly string[], ...rows].map((row) => row.map((cell) => csvCell(cell)).join(',')).join('\r\n')
  await writeFileAtomic(file, `${text}\r\n`)
  return rows.length
}
