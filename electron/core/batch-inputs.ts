/**
 * What a batch's CarData files ask for, checked before anything is stored or sent. CarData
 * belongs to one car (the phone signs it): the same CarData seen again is the same car, and is
 * asked for once; the same CarData under another VIN is a copy or an edit gone wrong, and that
 * file is refused rather than merged into the other car's key (whose VIN its QR file would
 * carry). Nothing is dropped without a word: repeats are named, conflicts are issues.
 */
import type { ImportedVehicle, ImportIssue } from '../../shared/cardata'

/** A vehicle already in the ledger, by the hash of its CarData. */
export interface KnownVehicle {
  id: string
  vin?: string | undefined
}

export interface BatchInputs {
  /** Ledger records to ask for again (a re-run): their CarData was seen before, read this time from `source`. */
  known: Array<{ id: string; source: string }>
  /** Vehicles new to the ledger, once each. */
  fresh: ImportedVehicle[]
  /** Files holding a vehicle another input already holds: one request for both. */
  repeated: Array<{ source: string; sameAs: string; vin?: string }>
  /** Files whose CarData is another car's (another VIN): refused, nothing sent for them. */
  issues: ImportIssue[]
}

const REEXPORT = 'CarData belongs to one car: export this vehicle again from the phone app. Nothing was sent for it.'

export function batchInputs(
  vehicles: readonly ImportedVehicle[],
  hashOf: (v: ImportedVehicle) => string,
  ledger: ReadonlyMap<string, KnownVehicle>,
): BatchInputs {
  const result: BatchInputs = { known: [], fresh: [], repeated: [], issues: [] }
  const first = new Map<string, ImportedVehicle>()
  for (const vehicle of vehicles) {
    const hash = hashOf(vehicle)
    const earlier = first.get(hash)
    const recorded = ledger.get(hash)
    const where = { source: vehicle.source, ...(vehicle.index ? { index: vehicle.index } : {}), field: 'vin' }
    if (earlier) {
      if (differ(vehicle.vin, earlier.vin)) {
        const message = `${vehicle.source}: VIN ${vehicle.vin}, but ${earlier.source} holds the same CarData with VIN ${earlier.vin}. ${REEXPORT}`
        result.issues.push({ ...where, code: 'input.vin', message })
      } else {
        const vin = vehicle.vin ?? earlier.vin
        result.repeated.push({ source: vehicle.source, sameAs: earlier.source, ...(vin ? { vin } : {}) })
      }
      continue
    }
    if (recorded && differ(vehicle.vin, recorded.vin)) {
      const message = `${vehicle.source}: VIN ${vehicle.vin}, but its CarData is already recorded for ${recorded.vin} (handover ${recorded.id}). ${REEXPORT}`
      result.issues.push({ ...where, code: 'input.vin', message })
      continue
    }
    first.set(hash, vehicle)
    if (recorded) result.known.push({ id: recorded.id, source: vehicle.source })
    else result.fresh.push(vehicle)
  }
  return result
}

/** Two VINs that are both known and not the same. */
function differ(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a !== b
}
