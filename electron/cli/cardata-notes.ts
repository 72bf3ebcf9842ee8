/**
 * What the CLI says about the CarData it imports (shared/cardata-inner.ts): the UIN inside,
 * when the car made it (local time with zone) and any warning. On stderr, so `--json`
 * output stays machine-readable. Warnings never stop the command: PSA decides.
 */
import type { ImportedVehicle } from '../../shared/cardata'
import { inspectCarData, MAX_AGE_ENV, maxAgeDaysFrom } from '../../shared/cardata-inner'
import { VkError } from '../../shared/errors'
import type { CliIo } from './io'

/** One line per vehicle whose CarData is understood, then its warnings. */
export function carDataNotes(vehicles: ImportedVehicle[], now: Date, maxAgeDays: number): string[] {
  const lines: string[] = []
  for (const vehicle of vehicles) {
    const seen = inspectCarData(vehicle.carData, { now, maxAgeDays, ...(vehicle.uin !== undefined ? { fileUin: vehicle.uin } : {}) })
    if (!seen.inner) continue
    const made = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'long' }).format(new Date(seen.inner.timestamp))
    const age = seen.ageDays === undefined ? '' : seen.ageDays <= 0 ? ', today' : `, ${seen.ageDays} day${seen.ageDays === 1 ? '' : 's'} ago`
    lines.push(`CarData for ${vehicle.vin ?? 'the vehicle'}: UIN ${seen.inner.uin}, made ${made}${age}.`)
    for (const warning of seen.warnings) lines.push(`  warning: ${warning.message}`)
  }
  return lines
}

export function writeCarDataNotes(io: CliIo, vehicles: ImportedVehicle[]): void {
  let days: number
  try {
    days = maxAgeDaysFrom(io.env[MAX_AGE_ENV])
  } catch (error) {
    throw new VkError('usage', (error as Error).message, { field: MAX_AGE_ENV })
  }
  for (const line of carDataNotes(vehicles, new Date(), days)) io.stderr.write(`${line}\n`)
}
