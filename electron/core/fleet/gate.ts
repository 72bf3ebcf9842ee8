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
import { formatLocal } from '../../../shared/time'
import type { GateNote } from '../../../shared/ipc/fleet-contract'
import type { HandoverRecord } from '../handover-record'
import type { GatePass, KeyGate } from '../key-requests'
import type { Vault } from '../vault'
import { decide, heldMessage, type ClaimRequest } from './claims'
import { Fleet, type GateDecision } from './fleet'
import { fleetVehicleKey, ledgerEntryOf } from './handover-ledger'
import { FleetMirror } from './mirror'
import type { Holder } from './types'

/** After the server could not be reached, requests go without a claim this long (a dead network would add its timeout to each). */
export const OFFLINE_BACKOFF_MS = 15_000

function supersedesNote(holder: Holder): GateNote {
  return { kind: 'supersedes-other', technician: holder.technician, laptop: holder.laptop, expires: holder.expires ?? '' }
}

/**
 * Out of reach, the fleet as the last sync brought it still counts: another laptop's live key
 * that covers the window refuses the request (the claim's own rule, decide()), unless --new.
 * Otherwise the request goes on this laptop's ledger alone, and says so with its key.
 */
function offlinePass(fleet: Fleet, record: HandoverRecord, claim: ClaimRequest): GatePass {
  const decision = decide(undefined, fleet.mirror.otherLiveKeys(claim.vehicleKey, fleet.laptop, new Date().toISOString()), fleet.laptop, claim, new Date())
  if (decision.kind === 'refuse') throw heldError(record, decision.holder, fleet.mirror.get('last_sync'))
  return OFFLINE_PASS
}

/** The fleet could not be asked: the request went on this laptop's ledger alone, and says so with its key. */
const OFFLINE_PASS: GatePass = {
  note: { kind: 'fleet-unreachable' },
  issued: async () => undefined,
  noKey: async () => undefined,
}

/** The refusal a technician reads: "VF3… has a key until <local time>, issued by <technician> on <laptop>. …" */
export function heldError(record: Pick<HandoverRecord, 'vin'>, holder: Holder, asOfSync?: string): VkError {
  const offline = asOfSync === undefined ? '' : ` (The fleet server could not be reached: as of the last sync, ${formatLocal(asOfSync)}.)`
  return new VkError('fleet.held', `${heldMessage(record.vin ?? 'This vehicle', holder)}${offline}`, {
    field: 'vehicle',
    holder: { technician: holder.technician, laptop: holder.laptop, ...(holder.expires ? { expires: holder.expires } : {}) },
  })
}

/**
 * fleet.db as it is now (inode and birth time) and the sealed password's last change (a join
 * again stores a new one: the gate's kept connections must log in with it), or undefined when
 * the folder is in no fleet.
 */
function fleetIdentity(dataDir: string, passwordFile?: string): string | undefined {
  const info = statSync(FleetMirror.fileIn(dataDir), { throwIfNoEntry: false })
  const password = passwordFile ? statSync(passwordFile, { throwIfNoEntry: false }) : undefined
  return info ? `${info.ino}:${info.birthtimeMs}:${password?.mtimeMs ?? 0}` : undefined
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
    const identity = fleetIdentity(this.dataDir, vault.fleetSecretFile())
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

  /**
   * Our live key superseded by another laptop: known from the last sync, or asked of the server.
   * When the server cannot be asked (out of reach, or refusing this laptop) the reuse goes on
   * with a note: no new key is made, and the key was this laptop's to hand over at the last sync.
   */
  async #supersederOf(fleet: Fleet, record: HandoverRecord): Promise<{ by?: string; note?: GateNote }> {
    const entryId = `${fleet.laptop}/${record.id}`
    const known = fleet.mirror.supersederOf(entryId)
    if (known) return { by: known }
    const unchecked = { note: { kind: 'reuse-unchecked' } as const }
    if (Date.now() < this.#offlineUntil) return unchecked
    try {
      const asked = await fleet.supersederOf(entryId)
      if (asked !== 'offline') return asked ? { by: asked } : {}
      this.#offlineUntil = Date.now() + OFFLINE_BACKOFF_MS
    } catch (error) {
      fleet.mirror.noteError((error as Error).message) // a changed password, a refused login: `vkey fleet status` says it
    }
    return unchecked
  }

  async #beforeSend(fleet: Fleet, request: Parameters<KeyGate['beforeSend']>[0]): Promise<GatePass> {
    const { record } = request
    const technician = record.technician ?? this.technician
    const claim: ClaimRequest = { vehicleKey: fleetVehicleKey(record), windowEnd: request.windowEnd, technician, force: request.forceNew }
    if (Date.now() < this.#offlineUntil) return offlinePass(fleet, record, claim)
    const decision: GateDecision = await fleet.beforeRequest(claim)
    if (decision.kind === 'refused') throw heldError(record, decision.heldBy)
    if (decision.kind === 'offline') {
      this.#offlineUntil = Date.now() + OFFLINE_BACKOFF_MS
      return offlinePass(fleet, record, claim) // the entry waits in fleet.db for the next sync
    }
    return {
      ...(decision.superseded ? { note: supersedesNote(decision.superseded) } : {}),
      issued: async (issued, retired) => {
        const entry = ledgerEntryOf(issued, technician)
        if (!entry) return fleet.afterFailed(decision)
        const retiredEntry = retired && ledgerEntryOf(retired, technician)
        try {
          await fleet.afterIssued(decision, entry, retiredEntry ? [retiredEntry] : [])
        } catch (error) {
          // Recorded here already; the entry is pushed at the next sync, which will say what failed.
          fleet.mirror.noteError((error as Error).message)
        }
      },
      noKey: () => fleet.afterFailed(decision),
    }
  }
}
