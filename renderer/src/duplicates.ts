/** The same VIN more than once: flagged when it is imported again, and on every row that has it. */
import type { HandoverSummary } from '../../shared/ipc/contract'

/** A VIN imported again: where it came from now, and where the list already had it. */
export interface DuplicateImport {
  vin: string
  source: string
  other: string
}

/** The vehicles just added whose VIN the list (or an earlier vehicle of the same import) already had. */
export function findDuplicates(before: readonly HandoverSummary[], added: readonly HandoverSummary[]): DuplicateImport[] {
  const known = new Map<string, string>()
  for (const vehicle of before) if (vehicle.vin && !known.has(vehicle.vin)) known.set(vehicle.vin, vehicle.source)
  const found: DuplicateImport[] = []
  for (const vehicle of added) {
    if (!vehicle.vin) continue
    const other = known.get(vehicle.vin)
    if (other !== undefined) found.push({ vin: vehicle.vin, source: vehicle.source, other })
    else known.set(vehicle.vin, vehicle.source)
  }
  return found
}

/** VINs that appear on more than one row, with the sources they came from. */
export function duplicateVins(vehicles: readonly HandoverSummary[]): Map<string, string[]> {
  const sources = new Map<string, string[]>()
  for (const vehicle of vehicles) {
    if (!vehicle.vin) continue
    sources.set(vehicle.vin, [...(sources.get(vehicle.vin) ?? []), vehicle.source])
  }
  for (const [vin, list] of sources) if (list.length < 2) sources.delete(vin)
  return sources
}
