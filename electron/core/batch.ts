/**
 * Batch preparation: many vehicles, bounded concurrency, rate limits honoured, progress
 * per vehicle and overall, cancellable, and resumable after a crash without issuing a
 * second token to a vehicle that already has one.
 *
 * A batch is journalled in `<data>/batches/<id>.json` (ids + plan) before its first
 * request; the handover records themselves carry each vehicle's state. Resuming is
 * running the journal again: issued records are skipped, the rest are requested.
 */
import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { toErrorView, type ErrorCode, type RateLimitInfo } from '../../shared/errors'
import type { BatchProgress } from '../../shared/ipc/contract'
import type { Depot } from './depot'
import { hasValidToken, type DurationPlan, type HandoverRecord } from './handovers'
import { currentOwner, isOwnerAlive, parseOwner, type ProcessOwner } from './process-owner'
import { ensurePrivateFolder, writeFileAtomic } from './secure-files'

export const DEFAULT_CONCURRENCY = 4
/** Failures worth another pass at the end of a batch: the request was not processed. */
const RETRIABLE: ErrorCode[] = ['server.unavailable', 'psa.rate-limited']
const EXTRA_PASSES = 2

type ItemState = BatchProgress['items'][number]['state']

interface Journal {
  id: string
  ids: string[]
  plan: DurationPlan
  concurrency: number
  createdAt: string
  finishedAt?: string
  /** The user cancelled it (the app's Cancel, Ctrl-C on vkey batch): never resumed. */
  cancelledAt?: string
  /** A later run over the same vehicles took it over. */
  supersededBy?: string
  /** The process running it (older journals: the PID alone). */
  pid?: number
  /** The process running it, with its start time: a journal whose process is still alive (even paused) is not resumed by another. */
  owner?: ProcessOwner
}

export interface BatchOutcome {
  batchId: string
  issued: string[]
  skipped: string[]
  failed: { id: string; vin?: string; code: ErrorCode; message: string }[]
  queued: string[]
  cancelled: boolean
}

export interface BatchOptions {
  concurrency?: number
  signal?: AbortSignal
  batchId?: string
  /** Wait between extra passes over retriable failures (tests shorten it). */
  retryPauseMs?: number
  /** Resuming after a crash or a quit: vehicles handed over, expired or already issued by this batch are left alone. */
  resumed?: boolean
}

/** A batch left by a crash or a quit is resumed only within this time; older ones are left for the user. */
const RESUME_WITHIN_MS = 12 * 3600_000

/** Closes for everyone when the server says the burst budget is spent or answers 429. */
class RateGate {
  private openAt = 0

  hold(info: RateLimitInfo | undefined): void {
    if (!info) return
    let waitMs = 0
    if (info.retryAfterSeconds !== undefined) waitMs = info.retryAfterSeconds * 1000
    else if (info.burstRemaining === 0) waitMs = 1000
    if (waitMs > 0) this.openAt = Math.max(this.openAt, Date.now() + waitMs)
  }

  async pass(signal: AbortSignal): Promise<void> {
    while (Date.now() < this.openAt && !signal.aborted) {
      await sleep(Math.min(250, this.openAt - Date.now()))
    }
  }
}

/** Whether another live process runs this journal (this process never counts: it may resume its own). */
function runByAnotherProcess(journal: Pick<Journal, 'pid' | 'owner'>): boolean {
  const me = currentOwner()
  const owner = parseOwner(journal.owner) ?? (journal.pid ? { pid: journal.pid, start: '', host: me.host } : undefined)
  if (!owner || (owner.pid === me.pid && owner.host === me.host && (owner.start === '' || owner.start === me.start))) return false
  return isOwnerAlive(owner)
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))
}

function batchesDir(depot: Depot): string {
  return join(depot.dataDir, 'batches')
}

export class BatchRunner {
  private readonly running = new Map<string, { controller: AbortController; done: Promise<BatchOutcome> }>()
  /** Set while the app quits: batches stopped then are interrupted, not cancelled, and resume at the next start. */
  private interrupting = false
  /** Batches the user cancelled (as opposed to stopped by a quit). */
  private readonly cancelledByUser = new Set<string>()

  constructor(
    private readonly depot: Depot,
    private readonly onProgress: (progress: BatchProgress) => void = () => undefined,
  ) {}

  /** Starts a batch in the background and returns its id (the app). */
  async start(ids: string[], plan: DurationPlan, options: BatchOptions = {}): Promise<string> {
    const journal = await this.journal(ids, plan, options)
    const controller = new AbortController()
    const done = this.execute(journal, { ...options, signal: controller.signal })
    this.running.set(journal.id, { controller, done })
    done.finally(() => this.running.delete(journal.id)).catch(() => undefined)
    return journal.id
  }

  /** Runs a batch to the end (the CLI). */
  async run(ids: string[], plan: DurationPlan, options: BatchOptions = {}): Promise<BatchOutcome> {
    const journal = await this.journal(ids, plan, options)
    await this.supersede(journal)
    return this.execute(journal, options)
  }

  cancel(batchId: string): boolean {
    const entry = this.running.get(batchId)
    if (entry) this.cancelledByUser.add(batchId)
    entry?.controller.abort()
    return Boolean(entry)
  }

  cancelAll(): void {
    this.interrupting = true
    for (const entry of this.running.values()) entry.controller.abort()
  }

  async idle(): Promise<void> {
    await Promise.allSettled([...this.running.values()].map((entry) => entry.done))
  }

  /** Batches a crash or a restart left unfinished. */
  async unfinished(): Promise<Journal[]> {
    let names: string[]
    try {
      names = await readdir(batchesDir(this.depot))
    } catch {
      return []
    }
    const journals: Journal[] = []
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      try {
        const journal = JSON.parse(await readFile(join(batchesDir(this.depot), name), 'utf8')) as Journal
        const recent = this.depot.now().getTime() - Date.parse(journal.createdAt) < RESUME_WITHIN_MS
        if (!journal.finishedAt && !journal.cancelledAt && !journal.supersededBy && recent && !runByAnotherProcess(journal)) journals.push(journal)
      } catch {
        // a journal that does not parse was never completely written: nothing was sent for it
      }
    }
    return journals
  }

  /**
   * A new run over the same vehicles (`vkey batch` again after a crash) takes over the
   * unfinished journals it covers, so nothing else resumes them alongside it.
   */
  private async supersede(current: Journal): Promise<void> {
    const covered = new Set(current.ids)
    for (const journal of await this.unfinished()) {
      if (journal.id === current.id || !journal.ids.every((id) => covered.has(id))) continue
      await writeFileAtomic(join(batchesDir(this.depot), `${journal.id}.json`), JSON.stringify({ ...journal, supersededBy: current.id }))
    }
  }

  /** Resumes every unfinished batch in the background; returns their ids. */
  async resumeUnfinished(): Promise<string[]> {
    const ids: string[] = []
    for (const journal of await this.unfinished()) {
      ids.push(await this.start(journal.ids, journal.plan, { concurrency: journal.concurrency, batchId: journal.id, resumed: true }))
    }
    return ids
  }

  private async journal(ids: string[], plan: DurationPlan, options: BatchOptions): Promise<Journal> {
    const id = options.batchId ?? `b${randomBytes(6).toString('base64url')}`
    const journal: Journal = {
      id,
      ids: [...new Set(ids)],
      plan,
      concurrency: Math.max(1, Math.min(16, options.concurrency ?? DEFAULT_CONCURRENCY)),
      createdAt: this.depot.now().toISOString(),
      pid: process.pid,
      owner: currentOwner(),
    }
    await ensurePrivateFolder(batchesDir(this.depot))
    await writeFileAtomic(join(batchesDir(this.depot), `${id}.json`), JSON.stringify(journal))
    return journal
  }

  private async execute(journal: Journal, options: BatchOptions): Promise<BatchOutcome> {
    const signal = options.signal ?? new AbortController().signal
    const store = await this.depot.handovers()
    const records = new Map<string, HandoverRecord>()
    for (const record of await store.list()) records.set(record.id, record)
    const states = new Map<string, { state: ItemState; message?: string }>()
    const outcome: BatchOutcome = { batchId: journal.id, issued: [], skipped: [], failed: [], queued: [], cancelled: false }
    const now = this.depot.now()
    let todo: string[] = []
    for (const id of journal.ids) {
      const record = records.get(id)
      if (!record) {
        states.set(id, { state: 'failed', message: 'removed from the history' })
        outcome.failed.push({ id, code: 'not-found', message: `Handover ${id} no longer exists.` })
      } else if (hasValidToken(record, now)) {
        states.set(id, { state: 'skipped', message: 'already has a valid token' })
        outcome.skipped.push(id)
      } else if (options.resumed && (record.status === 'handed-over' || record.status === 'expired' || (record.batchId === journal.id && record.issuedAt))) {
        // A resumed batch never issues a new key for a car that already had one from it.
        states.set(id, { state: 'skipped', message: `not renewed by a resumed batch (${record.status})` })
        outcome.skipped.push(id)
      } else {
        states.set(id, { state: 'waiting' })
        todo.push(id)
      }
    }

    let lastEmit = 0
    const emit = (force = false, final = false) => {
      const now = Date.now()
      if (!force && now - lastEmit < 100) return
      lastEmit = now
      const items = journal.ids.map((id) => {
        const entry = states.get(id) ?? { state: 'waiting' as const }
        const vin = records.get(id)?.vin
        return { id, ...(vin ? { vin } : {}), state: entry.state, ...(entry.message ? { message: entry.message } : {}) }
      })
      const count = (state: ItemState) => items.filter((i) => i.state === state).length
      this.onProgress({
        batchId: journal.id,
        total: items.length,
        done: count('issued') + count('skipped'),
        failed: count('failed'),
        queued: count('queued'),
        running: !final,
        items,
      })
    }
    emit(true)

    const gate = new RateGate()
    const failures = new Map<string, { code: ErrorCode; message: string }>()
    for (let pass = 0; pass <= EXTRA_PASSES && todo.length && !signal.aborted; pass += 1) {
      if (pass > 0) await sleep(options.retryPauseMs ?? 1000)
      const queue = [...todo]
      const retry: string[] = []
      const storing: Promise<void>[] = []
      const unstored = new Set<Promise<void>>()
      const worker = async () => {
        for (let id = queue.shift(); id !== undefined && !signal.aborted; id = queue.shift()) {
          await gate.pass(signal)
          if (signal.aborted) break
          states.set(id, { state: 'running' })
          emit()
          // The worker moves on as soon as PSA has answered; storing the answer (sealed,
          // atomic write) finishes in the background, so the network stays busy.
          let answered: () => void = () => undefined
          const networkDone = new Promise<void>((resolve) => (answered = resolve))
          const stored = this.depot
            .requestToken(id, journal.plan, { signal, batchId: journal.id, onRateLimit: (info) => gate.hold(info), onAnswered: () => answered() })
            .then(
              (record) => {
                records.set(id, record)
                states.set(id, { state: 'issued' })
                failures.delete(id)
              },
              (error: unknown) => {
                const view = toErrorView(error)
                if (view.code === 'cancelled') {
                  states.set(id, { state: 'cancelled' })
                } else if (view.code === 'network.unreachable') {
                  states.set(id, { state: 'queued', message: view.message })
                } else {
                  failures.set(id, { code: view.code, message: view.message })
                  if (RETRIABLE.includes(view.code) && pass < EXTRA_PASSES) {
                    states.set(id, { state: 'waiting', message: view.message })
                    retry.push(id)
                  } else {
                    states.set(id, { state: 'failed', message: view.message })
                  }
                }
              },
            )
            .finally(() => {
              answered()
              emit()
            })
          storing.push(stored)
          unstored.add(stored)
          void stored.finally(() => unstored.delete(stored))
          await networkDone
          // At most twice `concurrency` answers wait to be stored (an fsync'd append each):
          // if the process dies, no more than three times the concurrency of tokens (in
          // flight + unstored) are lost with it, and the network is never held up by the disk.
          while (unstored.size >= 2 * journal.concurrency) await Promise.race(unstored)
        }
      }
      await Promise.all(Array.from({ length: Math.min(journal.concurrency, queue.length) }, worker))
      await Promise.all(storing.splice(0))
      todo = retry
    }

    for (const id of journal.ids) {
      const state = states.get(id)?.state
      if (state === 'issued') outcome.issued.push(id)
      else if (state === 'queued') outcome.queued.push(id)
      else if (state === 'failed' && failures.has(id)) {
        const failure = failures.get(id)!
        const vin = records.get(id)?.vin
        outcome.failed.push({ id, ...(vin ? { vin } : {}), ...failure })
      } else if (state === 'waiting' || state === 'running' || state === 'cancelled') {
        states.set(id, { state: 'cancelled' })
      }
    }
    outcome.cancelled = signal.aborted
    if (!signal.aborted) {
      await writeFileAtomic(join(batchesDir(this.depot), `${journal.id}.json`), JSON.stringify({ ...journal, finishedAt: this.depot.now().toISOString() }))
    } else if (this.cancelledByUser.has(journal.id) || !this.interrupting) {
      await writeFileAtomic(join(batchesDir(this.depot), `${journal.id}.json`), JSON.stringify({ ...journal, cancelledAt: this.depot.now().toISOString() }))
    }
    emit(true, true)
    return outcome
  }
}
