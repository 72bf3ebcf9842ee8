/** How a command line names a handover: its ID, a unique prefix of it, or a VIN. */
import { VkError } from '../../shared/errors'
import type { Depot } from '../core/depot'
import { hasValidToken, type HandoverRecord } from '../core/handover-record'

/** Finds a handover by id, a unique prefix of it, or a VIN (the car's live key, when it has one). */
export async function findRecord(depot: Depot, idOrPrefix: string, listedBy = 'vkey list'): Promise<HandoverRecord> {
  const records = await (await depot.handovers()).list()
  const exact = records.find((r) => r.id === idOrPrefix)
  if (exact) return exact
  const matches = records.filter((r) => r.id.startsWith(idOrPrefix) || (idOrPrefix.length === 17 && r.vin === idOrPrefix.toUpperCase()))
  if (matches.length === 1) return matches[0]!
  // A VIN names the car: its live key, whatever drafts or older keys it also has.
  const live = matches.filter((r) => r.vin === idOrPrefix.toUpperCase() && hasValidToken(r, depot.now()))
  if (live.length === 1) return live[0]!
  if (matches.length > 1)
    throw new VkError('usage', `"${idOrPrefix}" matches ${matches.length} handovers: give more of the id (see \`${listedBy}\`).`, { field: 'ID' })
  throw new VkError('not-found', `No handover "${idOrPrefix}". List them with \`${listedBy}\`.`, { field: 'ID' })
}
