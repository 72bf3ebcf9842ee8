/**
 * What a laptop shares with its fleet: facts about keys, never keys. A FleetEntry has no
 * field for a token, a signature or CarData (tests/integration/fleet-sync.test.ts asserts it),
 * so nothing that could open a car can reach the fleet server.
 */
import { canonicalIso } from '../../../shared/time'

export const ENTRY_STATUSES = ['issued', 'handed-over', 'expired', 'superseded', 'unreadable', 'failed'] as const
export type EntryStatus = (typeof ENTRY_STATUSES)[number]

/** One row of the local ledger, as the SQLite ledger (issue 8) keeps it. */
export interface LedgerEntry {
  /** The handover id (unique on this laptop). */
  id: string
  /** The VIN, else 'cd:' + the CarData hash. */
  vehicleKey: string
  vin?: string
  profile: string
  technician: string
  /** ISO UTC. */
  issuedAt: string
  /** ISO UTC; absent for failed / unreadable entries. */
  expires?: string
  durationSeconds?: number
  batchId?: string
  status: EntryStatus
  /** The entry that superseded this one: a local handover id, or a fleet entry id (LAPTOP/ID). */
  supersededBy?: string
}

/** A ledger entry as the fleet knows it: the laptop's name added, ids made fleet-wide. */
export interface FleetEntry {
  /** LAPTOP/LOCAL-ID: unique in the fleet. */
  entryId: string
  laptop: string
  localId: string
  vehicleKey: string
  vin: string | null
  profile: string
  technician: string
  issuedAt: string
  expires: string | null
  durationSeconds: number | null
  batchId: string | null
  status: EntryStatus
  /** Fleet entry id of the entry that superseded this one. */
  supersededBy: string | null
  /** Fleet entry id of another laptop's entry this one superseded (`--new`). */
  supersedes: string | null
}

/** The exact set of FleetEntry fields (tests check that no secret-bearing field is ever added). */
export const FLEET_ENTRY_FIELDS = [
  'entryId',
  'laptop',
  'localId',
  'vehicleKey',
  'vin',
  'profile',
  'technician',
  'issuedAt',
  'expires',
  'durationSeconds',
  'batchId',
  'status',
  'supersededBy',
  'supersedes',
] as const satisfies readonly (keyof FleetEntry)[]

/**
 * What the fleet needs from the local ledger (the lead's SQLite ledger implements it).
 * Every insert or update of a ledger row gives the row a new, higher change sequence number.
 */
export interface LocalLedger {
  /**
   * Names the change-sequence space (e.g. 'sqlite-ledger-v1'): when it differs from the one
   * fleet.db last ingested from, ingest starts again from 0 (harmless: ingest is idempotent).
   */
  readonly kind: string
  /** Entries whose change sequence is > afterSeq, in ascending order, at most `limit`. */
  entriesChangedSince(afterSeq: number, limit: number): Array<{ seq: number; entry: LedgerEntry }>
  /**
   * Another laptop superseded one of ours fleet-wide (`--new` there): mark our entry
   * superseded by that fleet entry id (which bumps its change sequence, so the new status is
   * pushed back). Returns false when there is no such local entry, or when it is marked so already.
   */
  markSupersededBy(localId: string, fleetEntryId: string): boolean
}

/**
 * When fleet entry `s` supersedes entry `e` (SQL over two rows of the entries table, aliased `s`
 * and `e`; fleet.db and the server read it alike): `s` names `e`, another laptop's key. The
 * server checks when a link is written that it names a key for the same car (migration 3); a
 * car's key may be filed under its VIN later, so a link once accepted is followed by id.
 */
export const SUPERSEDES_LINK = 's.supersedes = e.entry_id AND s.laptop <> e.laptop'

/** The fleet id of a local entry. */
export function fleetEntryId(laptop: string, localId: string): string {
  return `${laptop}/${localId}`
}

/** A local ledger entry as this laptop shares it. Only the listed facts are copied. */
export function toFleetEntry(laptop: string, entry: LedgerEntry, supersedes: string | null = null): FleetEntry {
  const superseded = entry.supersededBy
  return {
    entryId: fleetEntryId(laptop, entry.id),
    laptop,
    localId: entry.id,
    vehicleKey: entry.vehicleKey,
    vin: entry.vin ?? null,
    profile: entry.profile,
    technician: entry.technician,
    issuedAt: canonicalIso(entry.issuedAt),
    expires: entry.expires === undefined ? null : canonicalIso(entry.expires),
    durationSeconds: entry.durationSeconds ?? null,
    batchId: entry.batchId ?? null,
    status: entry.status,
    supersededBy: superseded === undefined ? null : superseded.includes('/') ? superseded : fleetEntryId(laptop, superseded),
    supersedes,
  }
}

/** A laptop name: what the administrator registers and `--laptop` gives. */
export const LAPTOP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/** Who holds the live key (or the request in flight) for a vehicle on another laptop. */
export interface Holder {
  technician: string
  laptop: string
  /** ISO UTC; null while that laptop's request to PSA is in flight. */
  expires: string | null
  entryId: string | null
}

export type ClaimResult =
  | {
      ok: true
      claimId: string
      supersedes: string | null
      /** Another laptop's live key the new one supersedes, to tell the technician. */ superseded?: Holder
    }
  | { ok: false; heldBy: Holder }
