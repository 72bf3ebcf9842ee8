/**
 * The fleet's claim as the request path's gate (key-requests.ts KeyGate), so every path that
 * asks PSA for a key (the app, `vkey token`, `vkey batch`, the offline queue) claims the
 * vehicle in PostgreSQL first when the data folder has joined a fleet:
 *
 * - another laptop's live key covers the window (or its request is in flight): refused with
 *   who and until when (VkError 'fleet.held', exit 7), and nothing is sent to PSA;
 * - `--new` / the app's confirm: asked anyway; the other laptop's entry is superseded fleet-wide;
 * - the server out of reach: the laptop works from its local ledger (offline first) and the
 *   entry is pushed at the next sync.
 */
import { statSync } from 'node:fs'
import { VkError } from '../../../shared/errors'
import type { GateNote } from '../../../shared/ipc/fleet-contract'
import type { HandoverRecord } from '../handovers'
import type { GatePass, KeyGate } from '../key-requests'
import type { Vault } from '../vault'
import { heldMessage } from './claims'
import { Fleet, type GateDecision } from './fleet'
import { fleetVehicleKey, ledgerEntryOf } from './handover-ledger'
import { FleetMirror } from './mirror'
import type { Holder } from './types'

/** After the server could not be reached, requests go without a claim this long (a dead network would add its timeout to each). */
export const OFFLINE_BACKOFF_MS = 15_000

function supersedesNote(holder: Holder): GateNote {
  return { kind: 'supersedes-other', technician: holder.technician, laptop: holder.laptop, expires: holder.expires ?? '' }
}

/** The fleet could not be asked: the request went on this laptop's ledger alone, and says so with its key. */
const OFFLINE_PASS: GatePass = {
  note: { kind: 'fleet-unreachable' },
  issued: async () => undefined,
  noKey: async () => undefined,
}

/** The refusal a technician reads: "VF3… has a key until <local time>, issued by <technician> on <laptop>. …" */
export function heldError(record: Pick<HandoverRecord, 'vin'>, holder: Holder): VkError {
  return new VkError('fleet.held', heldMessage(record.vin ?? 'This vehicle', holder), {
    field: 'vehicle',
    holder: { technician: holder.technician, laptop: holder.laptop, ...(holder.expires ? { expires: holder.expires } : {}) },
  })
}

/** fleet.db as it is now (inode and birth time), or undefined when the folder is in no fleet. */
function fleetIdentity(dataDir: string): string | undefined {
  const info = statSync(FleetMirror.fileIn(dataDir), { throwIfNoEntry: false })
  return info ? `${info.ino}:${info.birthtimeMs}` : undefined
}

/**
 * One data folder's fleet gate: the fleet is opened on first use and again whenever the
 * folder joins or leaves (in this process or another), so a join in Settings or with
 * `vkey fleet join` takes effect at the next request.
 */
export class FleetGates {
  #open: { identity: string; fleet: Fleet } | undefined
  #offlineUntil = 0

  constructor(
    private readonly dataDir: string,
    private readonly vault: () => Promise<Vault>,
    private readonly technician: string,
  ) {}

  /** The gate for the next request, or undefined when the folder is in no fleet. */
  async current(): Promise<KeyGate | undefined> {
    if (fleetIdentity(this.dataDir) === undefined) {
      this.close()
      return undefined
    }
    const vault = await this.vault()
    // Nothing awaited from here: concurrent requests of a batch open the fleet once.
    const identity = fleetIdentity(this.dataDir)
    if (this.#open?.identity !== identity) {
      this.close()
      const fleet = identity === undefined ? undefined : Fleet.open(this.dataDir, vault)
      if (!fleet || identity === undefined) return undefined
      this.#open = { identity, fleet }
    }
    const fleet = this.#open!.fleet
    return { beforeSend: (request) => this.#beforeSend(fleet, request), supersederOf: (record) => this.#supersederOf(fleet, record) }
  }

  close(): void {
    this.#open?.fleet.close()
    this.#open = undefined
  }

  /** Our live key superseded by another laptop: known from the last sync, or asked of the server (unless it was just out of reach). */
  async #supersederOf(fleet: Fleet, record: HandoverRecord): Promise<string | undefined> {
    const entryId = `${fleet.laptop}/${record.id}`
    const known = fleet.mirror.supersederOf(entryId)
    if (known || Date.now() < this.#offlineUntil) return known
    const asked = await fleet.supersederOf(entryId)
    if (asked === 'offline') this.#offlineUntil = Date.now() + OFFLINE_BACKOFF_MS
    return asked === 'offline' ? undefined : asked
  }

  async #beforeSend(fleet: Fleet, request: Parameters<KeyGate['beforeSend']>[0]): Promise<GatePass> {
    if (Date.now() < this.#offlineUntil) return OFFLINE_PASS
    const { record } = request
    const technician = record.technician ?? this.technician
    const decision: GateDecision = await fleet.beforeRequest({
      vehicleKey: fleetVehicleKey(record),
      windowEnd: request.windowEnd,
      technician,
      force: request.forceNew,
    })
    if (decision.kind === 'refused') throw heldError(record, decision.heldBy)
    if (decision.kind === 'offline') {
      this.#offlineUntil = Date.now() + OFFLINE_BACKOFF_MS
      return OFFLINE_PASS // the entry waits in fleet.db for the next sync
    }
    return {
      ...(decision.superseded ? { note: supersedesNote(decision.superseded) } : {}),
      issued: async (issued) => {
        const entry = ledgerEntryOf(issued, technician)
        if (!entry) return fleet.afterFailed(decision)
        try {
          await fleet.afterIssued(decision, entry)
        } catch (error) {
          // Recorded here already; the entry is pushed at the next sync, which will say what failed.
          fleet.mirror.noteError((error as Error).message)
        }
      },
      noKey: () => fleet.afterFailed(decision),
    }
  }
}
