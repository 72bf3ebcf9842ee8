/**
 * The fleet around one request to PSA, for the request path (Depot.requestToken's callers,
 * the batch runner, the offline queue): claim the vehicle fleet-wide first; ask PSA only when
 * the fleet lets it (or cannot be reached: offline first); record the key fleet-wide at once,
 * or release the claim when no key came.
 */
import type { Fleet } from './fleet'
import type { Holder, LedgerEntry } from './types'

export interface FleetRequest {
  /** VIN, else 'cd:' + CarData hash (the local ledger's vehicle key). */
  vehicleKey: string
  /** End of the window the key must cover (ISO). */
  windowEnd: string
  technician: string
  /** `--new` / the app's confirm: another key even if another laptop's covers the window. */
  force?: boolean
}

export type GatedOutcome<T> =
  | { kind: 'refused'; heldBy: Holder; message: string }
  | { kind: 'done'; value: T; fleet: 'recorded' | 'queued' | 'offline' | 'released' | 'not-joined' }

/**
 * Runs `request` (the call to PSA and the local ledger write) under a fleet claim. `request`
 * returns what it got and the ledger entry of the key PSA issued (none when no key came: a
 * refusal, a queued request). A refusal by the fleet means `request` never ran: zero requests to PSA.
 */
export async function withFleetClaim<T>(fleet: Fleet | undefined, claim: FleetRequest, request: () => Promise<{ value: T; entry: LedgerEntry | undefined }>): Promise<GatedOutcome<T>> {
  if (!fleet) {
    const { value } = await request()
    return { kind: 'done', value, fleet: 'not-joined' }
  }
  const gate = await fleet.beforeRequest(claim)
  if (gate.kind === 'refused') return gate
  if (gate.kind === 'offline') {
    const { value } = await request()
    return { kind: 'done', value, fleet: 'offline' } // the entry is pushed at the next sync
  }
  let outcome: { value: T; entry: LedgerEntry | undefined }
  try {
    outcome = await request()
  } catch (error) {
    await fleet.afterFailed(gate)
    throw error
  }
  if (!outcome.entry) {
    await fleet.afterFailed(gate)
    return { kind: 'done', value: outcome.value, fleet: 'released' }
  }
  return { kind: 'done', value: outcome.value, fleet: await fleet.afterIssued(gate, outcome.entry) }
}
