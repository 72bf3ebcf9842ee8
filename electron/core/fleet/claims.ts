/**
 * One live key per car across the fleet: before asking PSA, a laptop claims the vehicle in
 * PostgreSQL. A transaction reads the vehicle's open claim (locking it) and either refuses
 * (another laptop holds a key that covers the window, or is asking PSA right now) or ends that
 * claim and opens its own; the unique index over open claims makes two laptops racing for one
 * car end with one claim, the other refused.
 */
import type pg from 'pg'
import type { GateNote } from '../../../shared/ipc/fleet-contract'
import { coversWindowEnd } from '../../../shared/duration'
import { escapeForTerminal } from '../../../shared/terminal-text'
import { formatLocal } from '../../../shared/time'
import { SCHEMA } from './migrations'
import { pushEntries } from './sync'
import type { ClaimResult, FleetEntry, Holder } from './types'

/** A request in flight longer than this is taken as abandoned (its laptop crashed or lost the network). */
export const STALE_REQUEST_MS = 10 * 60_000

export interface ClaimRequest {
  vehicleKey: string
  /** End of the window the key must cover (ISO). */
  windowEnd: string
  technician: string
  /** `--new`: ask for another key even when another laptop's covers the window; it is superseded fleet-wide. */
  force?: boolean
}

interface OpenClaim {
  claim_id: string
  laptop: string
  technician: string
  entry_id: string | null
  expires: Date | null
  claimed_at: Date
}

/** Another laptop's live key for the vehicle, from the fleet's entries (one issued offline and pushed later has no claim). */
interface LiveEntry {
  entry_id: string
  laptop: string
  technician: string
  expires: Date
}

type Decision =
  { kind: 'take'; endReason?: 'expired' | 'superseded' | 'renewed'; supersedes?: string | null; superseded?: Holder } | { kind: 'refuse'; holder: Holder }

function isStale(open: OpenClaim, now: Date): boolean {
  return open.expires === null ? now.getTime() - open.claimed_at.getTime() > STALE_REQUEST_MS : open.expires.getTime() <= now.getTime()
}

/**
 * What to do with the vehicle's open claim and the other laptops' live keys (pure: the rule, in
 * one place). Another laptop's request in flight holds the car; otherwise the other laptops' key
 * that ends last — its open claim's, or an entry it issued offline and pushed since — refuses a
 * request whose window it covers, unless forced (`--new`), and is superseded by the new key when
 * it does not cover it.
 */
export function decide(open: OpenClaim | undefined, otherLive: readonly LiveEntry[], me: string, request: ClaimRequest, now: Date): Decision {
  const other = open && open.laptop !== me && !isStale(open, now) ? open : undefined
  if (other && other.expires === null && !request.force)
    return { kind: 'refuse', holder: { technician: other.technician, laptop: other.laptop, expires: null, entryId: other.entry_id } }
  const keys = new Map<string | null, Holder>()
  if (other?.expires)
    keys.set(other.entry_id, { technician: other.technician, laptop: other.laptop, expires: other.expires.toISOString(), entryId: other.entry_id })
  for (const e of otherLive)
    if (e.expires.getTime() > now.getTime())
      keys.set(e.entry_id, { technician: e.technician, laptop: e.laptop, expires: e.expires.toISOString(), entryId: e.entry_id })
  const held = [...keys.values()].sort((x, y) => Date.parse(y.expires!) - Date.parse(x.expires!))[0]
  // Two other keys live already (a conflict): a new key could supersede only one of them, so only --new asks for it.
  const windowSeconds = Math.max(0, (Date.parse(request.windowEnd) - now.getTime()) / 1000)
  const covers = held && (keys.size > 1 || coversWindowEnd(held.expires!, request.windowEnd, windowSeconds))
  if (held && covers && !request.force) return { kind: 'refuse', holder: held }
  const endReason = !open ? undefined : open.laptop === me ? 'renewed' : other ? 'superseded' : 'expired'
  if (!held) return { kind: 'take', ...(endReason ? { endReason } : {}), ...(endReason === 'superseded' ? { supersedes: other!.entry_id } : {}) }
  // Forced, or the other key ends too early: it is superseded by the one we are about to get.
  return { kind: 'take', ...(endReason ? { endReason } : {}), supersedes: held.entryId, superseded: held }
}

/** Claims a vehicle for this laptop (the connected role's laptop; the server checks it). */
export async function claimVehicle(client: pg.ClientBase, me: string, request: ClaimRequest, attempt = 0): Promise<ClaimResult> {
  await client.query('BEGIN')
  try {
    const { rows } = await client.query<OpenClaim>(
      `SELECT claim_id, laptop, technician, entry_id, expires, claimed_at FROM ${SCHEMA}.claims WHERE vehicle_key = $1 AND ended_at IS NULL FOR UPDATE`,
      [request.vehicleKey],
    )
    const live = await client.query<LiveEntry>(
      `SELECT entry_id, laptop, technician, expires FROM ${SCHEMA}.live_entries WHERE vehicle_key = $1 AND laptop <> $2 ORDER BY expires DESC LIMIT 5`,
      [request.vehicleKey, me],
    )
    const decision = decide(rows[0], live.rows, me, request, new Date())
    if (decision.kind === 'refuse') {
      await client.query('ROLLBACK')
      return { ok: false, heldBy: decision.holder }
    }
    if (rows[0] && decision.endReason) {
      await client.query(`UPDATE ${SCHEMA}.claims SET ended_at = now(), ended_by = $2, end_reason = $3 WHERE claim_id = $1`, [
        rows[0].claim_id,
        me,
        decision.endReason,
      ])
    }
    const inserted = await client.query<{ claim_id: string }>(
      `INSERT INTO ${SCHEMA}.claims (vehicle_key, laptop, technician, window_end) VALUES ($1, $2, $3, $4) RETURNING claim_id`,
      [request.vehicleKey, me, request.technician, request.windowEnd],
    )
    await client.query('COMMIT')
    return {
      ok: true,
      claimId: inserted.rows[0]!.claim_id,
      supersedes: decision.supersedes ?? null,
      ...(decision.superseded ? { superseded: decision.superseded } : {}),
    }
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined)
    // Another laptop opened a claim for this car between our read and our insert: read again.
    if ((error as { code?: string }).code === '23505' && attempt < 2) return claimVehicle(client, me, request, attempt + 1)
    throw error
  }
}

/** PSA issued the key: the claim now names its entry and expiry, and the entry is pushed, in one transaction. */
export async function recordIssued(client: pg.ClientBase, claimId: string, entry: FleetEntry, alsoChanged: readonly FleetEntry[] = []): Promise<void> {
  await client.query('BEGIN')
  try {
    await pushEntries(client, [...alsoChanged, entry])
    await client.query(`UPDATE ${SCHEMA}.claims SET entry_id = $2, expires = $3 WHERE claim_id = $1`, [claimId, entry.entryId, entry.expires])
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw error
  }
}

/** No key came of the claim (PSA refused, the network failed, the user cancelled). */
export async function releaseClaim(client: pg.ClientBase, claimId: string, me: string, reason: 'failed' | 'released' = 'failed'): Promise<void> {
  await client.query(`UPDATE ${SCHEMA}.claims SET ended_at = now(), ended_by = $2, end_reason = $3 WHERE claim_id = $1 AND ended_at IS NULL`, [
    claimId,
    me,
    reason,
  ])
}

/** The gate's note on a new key, as the command line says it (the app words it in its own languages). */
export function gateNoteText(vehicle: string, note: GateNote, timeZone?: string): string {
  if (note.kind === 'fleet-unreachable')
    return "The fleet server could not be reached: this key was checked against this laptop's ledger only. It is shared at the next sync (`vkey fleet sync`)."
  if (note.kind === 'reuse-unchecked')
    return 'The fleet server could not be asked whether another laptop has superseded this key since the last sync (`vkey fleet status` says why).'
  const who = `${escapeForTerminal(note.technician)} on ${escapeForTerminal(note.laptop)}`
  return (
    `${vehicle} also has a key issued by ${who}, valid until ${formatLocal(note.expires, timeZone)}: it is now marked superseded fleet-wide by this one, ` +
    'and still works until then. Keep it out of circulation.'
  )
}

/**
 * "VF3… has a key until Tue 2026-12-01 18:00:00 CET (UTC+01:00), issued by A. Martin on
 * DEPOT-2. …" — the one clock people read (shared/time.ts). Names typed on other laptops are
 * escaped: the message reaches terminals and the app.
 */
export function heldMessage(vehicle: string, holder: Holder, timeZone?: string): string {
  const who = `${escapeForTerminal(holder.technician)} on ${escapeForTerminal(holder.laptop)}`
  if (!holder.expires) return `${vehicle} is being requested from PSA right now by ${who}. Try again in a minute.`
  return (
    `${vehicle} has a key until ${formatLocal(holder.expires, timeZone)}, issued by ${who}. ` +
    'Hand over that key, or ask for another one anyway: `vkey token --cardata FILE --new`, or Request in the app (the other key is then marked superseded fleet-wide; it still works until it expires).'
  )
}
