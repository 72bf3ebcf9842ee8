/**
 * The app's reading of imported CarData (shared/cardata-inner.ts): UIN, age and warnings for
 * each vehicle whose CarData is {timestamp, uin}. The age limit comes from
 * VKEY_CARDATA_MAX_AGE_DAYS (default 30), as in the CLI.
 */
import { basename } from 'node:path'
import type { ImportedVehicle } from '../../shared/cardata'
import { DEFAULT_CARDATA_MAX_AGE_DAYS, inspectCarData, MAX_AGE_ENV, maxAgeDaysFrom } from '../../shared/cardata-inner'
import type { CarDataNoteView } from '../../shared/ipc/contract'

/** The configured limit; an unusable value falls back to the default (the CLI reports it as an error). */
export function configuredMaxAgeDays(env: NodeJS.ProcessEnv = process.env): number {
  try {
    return maxAgeDaysFrom(env[MAX_AGE_ENV])
  } catch {
    return DEFAULT_CARDATA_MAX_AGE_DAYS
  }
}

export function carDataNotesOf(vehicles: ImportedVehicle[], now: Date, maxAgeDays: number): CarDataNoteView[] {
  const notes: CarDataNoteView[] = []
  for (const vehicle of vehicles) {
    const seen = inspectCarData(vehicle.carData, { now, maxAgeDays, ...(vehicle.uin !== undefined ? { fileUin: vehicle.uin } : {}) })
    if (!seen.inner) continue
    notes.push({
      source: basename(vehicle.source),
      ...(vehicle.vin !== undefined ? { vin: vehicle.vin } : {}),
      uin: seen.inner.uin,
      timestamp: seen.inner.timestamp,
      ageDays: seen.ageDays ?? 0,
      warnings: seen.warnings,
    })
  }
  return notes
}
