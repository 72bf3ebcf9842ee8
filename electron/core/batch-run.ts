/**
 * One batch's run as it goes (batch.ts runs it): each vehicle's state, the progress events
 * (throttled, with a heartbeat), and the outcome the batch reports.
 */
import { isNetworkUnreachable, type ErrorCode } from '../../shared/errors'
import type { BatchProgress } from '../../shared/ipc/contract'
import type { GateNote } from '../../shared/ipc/fleet-contract'
import { formatLocal } from '../../shared/time'
import { gateNoteText } from './fleet/claims'
import type { HandoverRecord } from './handover-record'
import type { KeyResult } from './key-requests'

type ItemState = BatchProgress['items'][number]['state']

export interface BatchOutcome {
  batchId: string
  /** Item ids (as given) whose vehicle got a first key. */
  issued: string[]
  /** … whose live key did not cover the window and was replaced (superseded). */
  renewed: string[]
  /** … whose live key already covered the window: nothing sent. */
  reused: string[]
  /** … left alone by a resumed batch (handed over, expired, or already issued by it). */
  skipped: string[]
  failed: { id: string; vin?: string; code: ErrorCode; message: string }[]
  /** The offline queue's requests this batch left (their ids are what `vkey queue cancel` takes). */
  queued: string[]
  cancelled: boolean
  /** For each item with a key to hand over: the record that holds it. */
  keys: Map<string, HandoverRecord>
  /** Set when the ledger could not be written: sending stopped; `inFlight` requests were unanswered then. */
  storageStopped?: { message: string; inFlight: number }
  /** The vehicles never sent because `halt` stopped the sending (their records are as before the batch). */
  notSent?: string[]
}

/** Progress goes out at most this often while states change… */
const EMIT_EVERY_MS = 100
/** …and at least this often while the batch runs (the app's progress bar; issue #10 asks ≤ 250 ms). */
const HEARTBEAT_MS = 200

/** One vehicle's state; `message` in English (the CLI), the fields for the app to say in its language. */
type ItemResult = { state: ItemState; message?: string; keyEnds?: string; longerThanAsked?: true; gateNote?: GateNote }

function itemFor(result: KeyResult): ItemResult {
  const { record, gateNote } = result
  if (result.outcome === 'reused')
    return { state: 'reused', message: `already had a key until ${formatLocal(record.expires!)} (${record.id})`, keyEnds: record.expires! }
  const notes = [
    record.longerThanAsked ? `PSA granted a key until ${formatLocal(record.expires!)}, longer than asked` : '',
    gateNote ? gateNoteText(record.vin ?? 'This vehicle', gateNote) : '',
  ].filter(Boolean)
  return {
    state: result.outcome,
    ...(notes.length ? { message: notes.join(' ') } : {}),
    ...(record.longerThanAsked ? { keyEnds: record.expires!, longerThanAsked: true as const } : {}),
    ...(gateNote ? { gateNote } : {}),
  }
}

/** One batch's per-vehicle states, its progress events and its outcome. */
export class BatchRun {
  private readonly states = new Map<string, ItemResult>()
  private readonly failures = new Map<string, { code: ErrorCode; message: string }>()
  private readonly keys = new Map<string, HandoverRecord>()
  private lastEmit = 0
  private trailing: NodeJS.Timeout | undefined
  private heartbeat: NodeJS.Timeout | undefined
  storageStopped: BatchOutcome['storageStopped']

  constructor(
    private readonly journal: { readonly id: string; readonly ids: readonly string[]; readonly reused?: Readonly<Record<string, string>> | undefined },
    private readonly records: Map<string, HandoverRecord>,
    private readonly onProgress: (progress: BatchProgress) => void,
  ) {}

  /** Initial states; returns the ids to request. A resumed batch never renews a car it already served. */
  classify(resumed: boolean): string[] {
    const todo: string[] = []
    for (const id of this.journal.ids) {
      const record = this.records.get(id)
      if (!record) {
        this.set(id, { state: 'failed', message: 'removed from the history' })
        this.failures.set(id, { code: 'not-found', message: `Handover ${id} no longer exists.` })
      } else if (resumed && (record.status === 'handed-over' || record.status === 'expired' || (record.batchId === this.journal.id && record.issuedAt))) {
        this.set(id, { state: 'skipped', message: `not renewed by a resumed batch (${record.status})` })
      } else if (resumed && this.journal.reused?.[id]) {
        this.set(id, { state: 'skipped', message: 'not renewed by a resumed batch (it reused a live key)' })
      } else {
        this.states.set(id, { state: 'waiting' })
        todo.push(id)
      }
    }
    this.emit(true)
    return todo
  }

  record(id: string): HandoverRecord | undefined {
    return this.records.get(id)
  }

  state(id: string): ItemState | undefined {
    return this.states.get(id)?.state
  }

  set(id: string, result: ItemResult): void {
    this.states.set(id, result)
    this.emit()
  }

  /** The live key a resumed batch left alone for `id` (its own, or the one its earlier run reused): reported with the others. */
  kept(id: string, record: HandoverRecord): void {
    this.keys.set(id, record)
  }

  done(id: string, result: KeyResult): void {
    this.keys.set(id, result.record)
    this.failures.delete(id)
    this.set(id, itemFor(result))
  }

  /** Records a failure; true when the item should be tried again in a later pass. */
  failed(id: string, view: { code: ErrorCode; message: string }, retriable: boolean): boolean {
    if (view.code === 'cancelled' || (view.code.startsWith('storage.') && view.code !== 'storage.vehicle-busy')) {
      this.set(id, { state: 'cancelled', message: view.message })
      if (view.code !== 'cancelled') this.failures.set(id, { code: view.code, message: view.message })
      return false
    }
    if (isNetworkUnreachable(view)) {
      this.set(id, { state: 'queued', message: view.message })
      return false
    }
    this.failures.set(id, { code: view.code, message: view.message })
    this.set(id, { state: retriable ? 'waiting' : 'failed', message: view.message })
    return retriable
  }

  /** `halted`: the sending was stopped (BatchOptions.halt); what failed and waited for another pass counts as failed. */
  outcome(aborted: boolean, halted = false): BatchOutcome {
    const outcome: BatchOutcome = {
      batchId: this.journal.id,
      issued: [],
      renewed: [],
      reused: [],
      skipped: [],
      failed: [],
      queued: [],
      cancelled: aborted && !this.storageStopped,
      keys: this.keys,
      ...(this.storageStopped ? { storageStopped: this.storageStopped } : {}),
      // The vehicles no request was sent for: still waiting when the sending stopped.
      ...(halted ? { notSent: this.journal.ids.filter((id) => this.states.get(id)?.state === 'waiting' && !this.failures.has(id)) } : {}),
    }
    for (const id of this.journal.ids) {
      const state = this.states.get(id)?.state
      if (state === 'issued' || state === 'renewed' || state === 'reused' || state === 'skipped' || state === 'queued') outcome[state].push(id)
      else if ((state === 'failed' || (halted && state === 'waiting')) && this.failures.has(id))
        outcome.failed.push({ id, ...(this.records.get(id)?.vin ? { vin: this.records.get(id)!.vin! } : {}), ...this.failures.get(id)! })
      else if (state === 'waiting' || state === 'running' || state === 'cancelled')
        this.states.set(id, { state: 'cancelled', ...(this.states.get(id)?.message ? { message: this.states.get(id)!.message! } : {}) })
    }
    return outcome
  }

  /** No more progress from this run's timers (the batch ended, or failed on the way). */
  stopEmitting(): void {
    clearTimeout(this.trailing)
    clearTimeout(this.heartbeat)
    this.trailing = this.heartbeat = undefined
  }

  /**
   * Sends the progress: at most every EMIT_EVERY_MS while states change (a change inside that
   * time goes out at its end), and at least every HEARTBEAT_MS while the batch runs, so a
   * screen showing it never looks stalled while PSA is slow. The timers never hold the
   * process open.
   */
  emit(force = false, final = false): void {
    const now = Date.now()
    if (!force && now - this.lastEmit < EMIT_EVERY_MS) {
      this.trailing ??= setTimeout(
        () => {
          this.trailing = undefined
          this.emit(true)
        },
        EMIT_EVERY_MS - (now - this.lastEmit),
      ).unref()
      return
    }
    this.lastEmit = now
    this.stopEmitting()
    if (!final) this.heartbeat = setTimeout(() => this.emit(true), HEARTBEAT_MS).unref()
    const items = this.journal.ids.map((id) => {
      const entry: ItemResult = this.states.get(id) ?? { state: 'waiting' }
      const vin = this.records.get(id)?.vin
      return { id, ...(vin ? { vin } : {}), ...entry }
    })
    const count = (...states: ItemState[]) => items.filter((i) => states.includes(i.state)).length
    this.onProgress({
      batchId: this.journal.id,
      total: items.length,
      done: count('issued', 'renewed', 'reused', 'skipped'),
      issued: count('issued'),
      renewed: count('renewed'),
      reused: count('reused'),
      failed: count('failed'),
      queued: count('queued'),
      running: !final,
      items,
    })
  }
}
