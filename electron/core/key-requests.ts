/**
 * Getting a key for a vehicle, the one way every path takes (the app, `vkey token`,
 * `vkey batch`, the offline queue): the rules of the ledger in order.
 *
 * 1. Inputs are checked before anything is written or sent (the window, the profile).
 * 2. In one transaction: a live key that covers the window is reused (nothing sent); else
 *    the vehicle is claimed by this process — another process requesting it makes us wait
 *    for its outcome, then decide again. The claim is on disk (fsync) before the request
 *    goes out: a process killed, crashed or cut by a power failure with the request on its
 *    way leaves it, and its record is then marked "a key may have been issued"
 *    (HandoverStore.settleDeadClaim). Grouped with the turn's answers, it costs no
 *    measurable time in a batch (figure 3: 1.52 × the floor with it, 1.53 × without).
 * 3. A gate outside this laptop may refuse (fleet mode: another laptop holds the car, see
 *    KeyGate); then the local claim goes and nothing is sent.
 * 4. The request goes out; the answer's expiry is checked.
 * 5. In one transaction: the key is stored as its own entry, the vehicle's previous live key
 *    is marked superseded, the claim released. Then the gate is told, and the key reported.
 * Steps 2 and 5 are savepoints of the transaction shared by the writes of one turn of the
 * event loop (HandoverStore.writeSoon): a batch's answers that arrive together are committed
 * with one fsync, each still before it is reported.
 * A store that cannot be written stops all further sending from this depot.
 */
import { coversWindowEnd, planWindow, type DurationPlan } from '../../shared/duration'
import { isNetworkUnreachable, toErrorView, VkError, type ErrorView, type RateLimitInfo } from '../../shared/errors'
import type { GateNote } from '../../shared/ipc/fleet-contract'
import { checkAnswerExpiry } from './key-expiry'
import { type HandoverStore } from './handovers'
import { hadKey, ledgerEventOf, storedError, vehicleOf, type HandoverRecord, type LedgerEvent, type NewHandover, type StoredToken } from './handover-record'
import type { ProcessOwner } from './process-owner'
import type { PsaClients } from './psa-clients'
import type { TokenResult } from './psa-client'

export type KeyOutcome = 'issued' | 'renewed' | 'reused'

export interface KeyResult {
  /** The record holding the key to hand over. */
  record: HandoverRecord
  outcome: KeyOutcome
  /** The end of the window asked (a reused key may end up to coverToleranceMs before it). */
  windowEnd: string
  /** The live key this one replaced (renewed), still valid at PSA until it expires. */
  replaced?: HandoverRecord
  /** What the gate has to say of the new key (fleet: another laptop's live key it supersedes, or no fleet reached). */
  gateNote?: GateNote
}

export interface RequestOptions {
  signal?: AbortSignal
  profile?: string
  batchId?: string
  /** Ask PSA for a new key even when the live one covers the window (`--new`, the app's confirm). */
  forceNew?: boolean
  /** Where to write the QR code if the request ends in the offline queue and is sent later. */
  deliverQr?: string
  onRateLimit?: (info: RateLimitInfo) => void
  /** PSA has answered (or the request failed): a batch's worker sends its next request while this one is recorded. */
  onAnswered?: () => void
  /** How long to wait for another process's request for the same vehicle (default 90 s). */
  claimWaitMs?: number
}

/**
 * A check outside this laptop that a request passes before it goes out, the vehicle already
 * claimed here: fleet mode's claim in PostgreSQL (fleet/gate.ts). It refuses by throwing
 * (nothing is sent, nothing recorded but the refusal). Before this laptop's own covering key
 * is reused, it is asked whether another laptop superseded that key.
 */
export interface KeyGate {
  beforeSend(request: { record: HandoverRecord; windowEnd: string; forceNew: boolean }): Promise<GatePass>
  /**
   * Before this laptop's live key is reused: `by`, the id of another laptop's entry that
   * superseded it (fleet: `--new` there), if any; `note` when that could not be asked.
   */
  supersederOf(record: HandoverRecord): Promise<{ by?: string; note?: GateNote }>
}

/** Told once the outcome is in the ledger. Neither throws: the ledger is the truth, the gate catches up (fleet: at the next sync). */
export interface GatePass {
  /** Said with the key once it is issued (fleet: another laptop's key it supersedes, or no fleet reached). */
  note?: GateNote
  /** `retired`: this laptop's previous key for the vehicle, superseded by this one in the same commit. */
  issued(record: HandoverRecord, retired?: HandoverRecord): Promise<void>
  noKey(): Promise<void>
}

/** What a request needs of the depot (depot.ts): its clock, ledger, PSA clients and fleet gate, and the stop once it cannot record. */
export interface KeyDepot {
  readonly now: () => Date
  handovers(): Promise<HandoverStore>
  readonly clients: Pick<PsaClients, 'forProfile'>
  keyGate(): Promise<KeyGate | undefined>
  assertCanRecord(): void
  recordingFailed(error: unknown, what: string): VkError
}

/** A live key covers the window asked when it ends at or after its end, within shared/duration.ts coverToleranceMs. */
export function coversWindow(key: Pick<HandoverRecord, 'expires'>, plannedEnd: string, windowSeconds: number): boolean {
  return Boolean(key.expires && coversWindowEnd(key.expires, plannedEnd, windowSeconds))
}

type Begun =
  { kind: 'reuse'; record: HandoverRecord } | { kind: 'busy'; owner: ProcessOwner } | { kind: 'claimed'; target: HandoverRecord; previous?: HandoverRecord }

/**
 * A live key is handed over again only for the profile it was issued with, in the environment
 * it was issued in: a simulator or pre-production key never answers a production request.
 */
function sameIssuer(live: HandoverRecord, profile: { name: string; environment: string }): boolean {
  return live.profile === profile.name && (live.environment === undefined || live.environment === profile.environment)
}

/** Step 2, inside one transaction. `base` is a stored record, or a draft not stored yet. */
function begin(
  store: HandoverStore,
  base: HandoverRecord,
  window: { plannedEnd: string; seconds: number },
  options: { forceNew: boolean; profile: { name: string; environment: string } },
): Begun {
  const vehicle = vehicleOf(base)
  const live = store.liveKeyOf(vehicle)
  if (live && !options.forceNew && sameIssuer(live, options.profile) && coversWindow(live, window.plannedEnd, window.seconds))
    return { kind: 'reuse', record: live }
  const claim = store.claimOf(vehicle)
  if (claim) return { kind: 'busy', owner: claim.owner }
  const current = store.find(base.id)
  let target: HandoverRecord
  if (!current) {
    target = base
    store.put(target)
  } else if (hadKey(current)) {
    target = store.copyVehicle(current)
    store.put(target)
  } else {
    target = current
  }
  store.claim(vehicle, target.id)
  return { kind: 'claimed', target, ...(live ? { previous: live } : {}) }
}

/** Obtains a key for a stored record (`id`) or for a vehicle not stored yet. */
export async function obtainKey(
  depot: KeyDepot,
  request: { id: string } | { vehicle: NewHandover },
  plan: DurationPlan,
  options: RequestOptions = {},
): Promise<KeyResult> {
  depot.assertCanRecord()
  const window = planWindow(plan, depot.now())
  const store = await depot.handovers()
  const base = 'id' in request ? await store.get(request.id) : store.draft(request.vehicle)
  const { client, profile } = await depot.clients.forProfile(options.profile ?? base.profile)
  let begun: Begun
  let reuseNote: GateNote | undefined
  for (;;) {
    begun = await store.writeSoon(() => begin(store, base, window, { forceNew: options.forceNew ?? false, profile }))
    if (begun.kind === 'busy') await waitForRelease(store, base, begun.owner, options)
    else if (begun.kind !== 'reuse') break
    else {
      // A live key about to be reused that another laptop superseded (its --new, not synced here yet) is marked so,
      // and the request decides again: it goes through the gate like any other.
      const check = await (await depot.keyGate())?.supersederOf(begun.record)
      if (check?.by && store.markSupersededElsewhere(begun.record.id, check.by)) continue
      reuseNote = check?.note
      break
    }
  }
  if (begun.kind === 'reuse') return { record: begun.record, outcome: 'reused', windowEnd: window.plannedEnd, ...(reuseNote ? { gateNote: reuseNote } : {}) }
  const { target, previous } = begun
  // A refusal's audit row says what was asked: the profile and the duration (the record is stamped only once sent).
  const asked = { ...target, profile: profile.name, durationSeconds: window.seconds }
  const pass = await passGate(depot, store, asked, window.plannedEnd, options.forceNew ?? false)
  const vehicle = vehicleOf(target)
  const requestedAt = depot.now().toISOString()
  const stamp = (r: HandoverRecord): void => {
    r.plan = plan
    r.profile = profile.name
    r.environment = profile.environment
    r.durationSeconds = window.seconds
    r.requestedAt = requestedAt
    if (window.plannedStart) r.plannedStart = window.plannedStart
    else delete r.plannedStart
    r.plannedEnd = window.plannedEnd
    if (options.batchId) r.batchId = options.batchId
    if (options.deliverQr) r.deliverQr = options.deliverQr
    else delete r.deliverQr // a QR path belongs to the request that asked for it, not to the next one
    if (options.forceNew) r.forceNew = true
    else delete r.forceNew
  }
  let result: TokenResult
  let expiry: ReturnType<typeof checkAnswerExpiry>
  try {
    if (options.signal?.aborted) throw new VkError('cancelled', 'Cancelled before the request was sent.', { unanswered: false })
    depot.assertCanRecord() // again, after the claim: a claim that met a full disk used the room kept for keys
    const carData = store.carDataOf(target)
    result = await client.requestToken({ ...carData, durationSeconds: window.seconds }, options.signal ? { signal: options.signal } : {})
    options.onRateLimit?.(result.rateLimit)
    expiry = checkAnswerExpiry(result, window.seconds)
  } catch (error) {
    const view = toErrorView(error)
    if (view.details.rateLimit) options.onRateLimit?.(view.details.rateLimit)
    options.onAnswered?.()
    await recordFailure(depot, store, target.id, vehicle, view, stamp)
    await pass?.noKey()
    throw error
  }
  options.onAnswered?.()
  const token: StoredToken = {
    accessToken: result.accessToken,
    tokenType: result.tokenType,
    expiresIn: expiry.expiresIn,
    tokenSignature: result.tokenSignature,
  }
  let record: HandoverRecord
  let retired: HandoverRecord | undefined
  try {
    // Committed (with the other answers of this turn of the event loop) before it is reported.
    record = await store.writeSoon(() => {
      retired = store.retireLive(vehicle, target.id)
      store.releaseClaim(vehicle)
      return store.issue(target.id, (r) => {
        stamp(r)
        r.status = 'issued'
        r.sealedToken = store.sealToken(target.id, token)
        r.expires = expiry.expires
        r.issuedAt = result.receivedAt
        if (expiry.longerThanAsked) r.longerThanAsked = true
        if (retired) r.supersedes = retired.id
        delete r.error
        delete r.deliverQr
        delete r.forceNew
        delete r.queuedAt
      })
    })
  } catch (error) {
    throw depot.recordingFailed(error, `PSA issued a key for ${target.vin ?? 'a vehicle with no VIN'} (handover ${target.id}) that could not be recorded`)
  }
  await pass?.issued(record, retired)
  return {
    record,
    outcome: previous ? 'renewed' : 'issued',
    windowEnd: window.plannedEnd,
    ...(previous ? { replaced: previous } : {}),
    ...(pass?.note ? { gateNote: pass.note } : {}),
  }
}

/** Step 3: the gate outside this laptop, if the depot has one. A refusal frees the local claim and goes to the audit. */
async function passGate(depot: KeyDepot, store: HandoverStore, target: HandoverRecord, windowEnd: string, forceNew: boolean): Promise<GatePass | undefined> {
  try {
    const gate = await depot.keyGate()
    return await gate?.beforeSend({ record: target, windowEnd, forceNew })
  } catch (error) {
    const view = toErrorView(error)
    try {
      store.write(() => {
        store.releaseClaim(vehicleOf(target))
        if (view.code === 'fleet.held') store.addEvent(ledgerEventOf(target, 'refused', view, depot.now()))
      })
    } catch (failure) {
      throw depot.recordingFailed(failure, `the refusal of the request for handover ${target.id} could not be recorded`)
    }
    throw error
  }
}

/** What the record and the audit say of a cancelled request (psa-transport-errors' `cancelled`). */
function cancelNote(view: ErrorView): string {
  return view.details.unanswered === false
    ? 'Cancelled before PSA could issue a key: none exists for this request.'
    : 'Cancelled. If PSA had already received the request, a key may have been issued; it was not stored.'
}

/** Step 5 for a request that got no key: the record says why, the audit gets a row, the claim goes. */
async function recordFailure(
  depot: KeyDepot,
  store: HandoverStore,
  id: string,
  vehicle: string,
  view: ErrorView,
  stamp: (r: HandoverRecord) => void,
): Promise<void> {
  const kind: LedgerEvent['kind'] =
    view.code === 'cancelled'
      ? 'cancelled'
      : isNetworkUnreachable(view)
        ? 'queued'
        : view.code === 'server.malformed'
          ? 'malformed'
          : view.code.startsWith('psa.')
            ? 'refused'
            : 'failed'
  // A cancel may come after PSA received the request: the record and the audit say so, they do not pretend nothing happened.
  // Only a cancel known to have left no key at PSA (nothing sent, or PSA's last answer issued none) says so.
  const said = kind === 'cancelled' ? { ...view, message: cancelNote(view) } : view
  try {
    await store.writeSoon(() => {
      const record = store.updateSync(id, (r) => {
        stamp(r)
        if (kind === 'cancelled') {
          r.status = 'draft'
          r.error = storedError(said)
        } else {
          r.status = kind === 'queued' ? 'queued' : 'failed'
          r.error = storedError(view)
          if (kind === 'queued') r.queuedAt ??= r.requestedAt
          else {
            delete r.deliverQr
            delete r.forceNew
            delete r.queuedAt
          }
        }
      })
      if (kind !== 'queued') store.addEvent(ledgerEventOf(record, kind, said, depot.now()))
      store.releaseClaim(vehicle)
    })
  } catch (error) {
    throw depot.recordingFailed(error, `the outcome of the request for handover ${id} could not be recorded`)
  }
}

/** Waits (bounded) until another process's claim on the vehicle is released. */
async function waitForRelease(store: HandoverStore, base: HandoverRecord, owner: ProcessOwner, options: RequestOptions): Promise<void> {
  const vehicle = vehicleOf(base)
  const deadline = Date.now() + (options.claimWaitMs ?? 90_000)
  for (let pause = 25; ; pause = Math.min(pause * 2, 200)) {
    if (options.signal?.aborted)
      throw new VkError('cancelled', 'Cancelled while another VK Depot process was requesting a key for this vehicle.', { unanswered: false })
    if (Date.now() > deadline) {
      throw new VkError(
        'storage.vehicle-busy',
        `${base.vin ?? 'This vehicle'} is being requested by another VK Depot process (pid ${owner.pid}). Run the command again once it has finished.`,
        { field: 'vehicle' },
      )
    }
    await new Promise((resolve) => setTimeout(resolve, pause))
    if (!(await store.writeSoon(() => store.claimOf(vehicle), { durable: false }))) return
  }
}
