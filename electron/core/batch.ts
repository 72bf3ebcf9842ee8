/**
 * Batch preparation: many vehicles, bounded concurrency, rate limits honoured, progress
 * per vehicle and overall, cancellable, and resumable after a crash without issuing a
 * second token to a vehicle that already has one.
 *
 * A batch is journalled in the ledger's `batches` table (ids + plan) before its first
 * request; the handover records themselves carry each vehicle's state. Resuming is
 * running the journal again: vehicles whose live key covers the window are reused, the
 * rest are requested. Every vehicle goes through obtainKey (key-requests.ts), so a batch
 * keeps the ledger's rules: reuse, renew, supersede, one request per vehicle across
 * processes, and no further request once the ledger cannot be written.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import * as z from 'zod'
import { DurationPlan } from '../../shared/duration'
import { toErrorView, VkError, type ErrorCode, type RateLimitInfo } from '../../shared/errors'
import type { BatchProgress } from '../../shared/ipc/contract'
import type { Depot } from './depot'
import { type HandoverStore } from './handovers'
import { hasValidToken, vehicleOf, type HandoverRecord } from './handover-record'
import { BatchRun, type BatchOutcome } from './batch-run'
import { LEDGER_FILE, parseStored } from './ledger-db'
import { isOwnerAlive, currentOwner, ProcessOwner } from './process-owner'

export const DEFAULT_CONCURRENCY = 4
/** Failures worth another pass at the end of a batch: the request was not processed. */
const RETRIABLE: ErrorCode[] = ['server.unavailable', 'psa.rate-limited']
const EXTRA_PASSES = 2

const Journal = z.object({
  id: z.string(),
  ids: z.array(z.string()),
  plan: DurationPlan,
  concurrency: z.number().int().positive(),
  createdAt: z.string(),
  finishedAt: z.string().optional(),
  /** The user cancelled it (the app's Cancel, Ctrl-C on vkey batch): never resumed. */
  cancelledAt: z.string().optional(),
  /** A later run over the same vehicles took it over. */
  supersededBy: z.string().optional(),
  /** The process running it: a journal whose process is still alive is not resumed by another. A legacy pid-only one counts as gone. */
  owner: ProcessOwner.optional().catch(undefined),
  /** Vehicles it served with a key that was already live (draft id → that key's record): a resumed run leaves them alone too. */
  reused: z.record(z.string(), z.string()).optional(),
})
type Journal = z.infer<typeof Journal>

export interface BatchOptions {
  concurrency?: number
  signal?: AbortSignal
  batchId?: string
  /** Wait between extra passes over retriable failures (tests shorten it). */
  retryPauseMs?: number
  /** Resuming after a crash or a quit: vehicles handed over, expired, or already issued or served with a live key by this batch are left alone. */
  resumed?: boolean
  /** Called with each key to hand over as soon as it is recorded (issued, renewed or reused): QR files are written beside the requests. */
  onKey?: (record: HandoverRecord) => void
  /** Where a vehicle's QR file goes if its request ends in the offline queue: the flush writes it there when the key arrives. */
  deliverQrFor?: (record: HandoverRecord) => string
  /**
   * Stops the sending without cancelling: no request starts after it fires, the ones on their
   * way are answered and recorded (an --out folder that cannot take the QR files: no key is
   * asked for that cannot be delivered). The batch then ends as a cancelled one does.
   */
  halt?: AbortSignal
  /**
   * Asked before each request goes out, with how many are on their way: false stops the
   * sending as `halt` does (an --out folder whose disk cannot take their files and one more).
   */
  mayStart?: (inFlight: number) => boolean
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

  async pass(...signals: AbortSignal[]): Promise<void> {
    while (Date.now() < this.openAt && !signals.some((s) => s.aborted)) {
      await sleep(Math.min(250, this.openAt - Date.now()))
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))
}

/** The journals in the ledger, and the rows this VK Depot cannot read as one (their id and creation time). */
function readJournals(store: HandoverStore): { journals: Journal[]; unreadable: { id: string; createdAt: string }[] } {
  const journals: Journal[] = []
  const unreadable: { id: string; createdAt: string }[] = []
  for (const row of store.db.prepare<[], { id: string; created_at: string; journal: string }>('SELECT id, created_at, journal FROM batches').all()) {
    const parsed = parseStored(Journal, row.journal)
    if ('value' in parsed) journals.push(parsed.value)
    else unreadable.push({ id: row.id, createdAt: row.created_at })
  }
  return { journals, unreadable }
}

/** Unfinished batches whose journal cannot be read: not resumed, and the way to finish them. */
function unreadableJournals(dataDir: string, ids: string[]): VkError {
  const file = join(dataDir, LEDGER_FILE)
  return new VkError(
    'storage.damaged',
    `The journal of batch ${ids.join(', ')} in ${file} cannot be read (a newer VK Depot wrote it, or the file was damaged), so it was not resumed. ` +
      'Run that batch again (in the app, or `vkey batch FILE… --duration …`): vehicles that already got a key are not sent again.',
    { file },
  )
}

function saveJournal(store: HandoverStore, journal: Journal): void {
  store.write(() =>
    store.db.prepare('INSERT OR REPLACE INTO batches (id, created_at, journal) VALUES (?, ?, ?)').run(journal.id, journal.createdAt, JSON.stringify(journal)),
  )
}

/** A journal whose process is still running belongs to it; a legacy pid-only one counts as gone. */
function ownerRunning({ owner }: Journal): boolean {
  return Boolean(owner && owner.pid !== process.pid && isOwnerAlive(owner))
}

/** A key a resumed batch kept (issued or reused by its earlier run) goes to onKey and into the outcome's keys like any other, when it is still valid. */
function deliverKept(run: BatchRun, id: string, record: HandoverRecord | undefined, options: BatchOptions, now: Date): void {
  // A key already handed over is not handed over again (the pack leaves it out too).
  if (!record || record.status !== 'issued' || !hasValidToken(record, now)) return
  run.kept(id, record)
  options.onKey?.(record)
}

/** The record holding the key a resumed batch keeps for `id`: its own, or the live one its earlier run reused. */
function keptRecord(store: HandoverStore, journal: Journal, records: Map<string, HandoverRecord>, id: string): HandoverRecord | undefined {
  const reused = journal.reused?.[id]
  return reused ? store.find(reused) : records.get(id)
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
    /** A batch started in the background stopped on an error (no final progress was sent): the app logs it. */
    private readonly onFailure: (batchId: string, error: unknown) => void = () => undefined,
  ) {}

  /** Starts a batch in the background and returns its id (the app); a failure goes to onFailure. */
  async start(ids: string[], plan: DurationPlan, options: BatchOptions = {}): Promise<string> {
    const journal = await this.journal(ids, plan, options)
    const controller = new AbortController()
    const done = this.execute(journal, { ...options, signal: controller.signal })
    this.running.set(journal.id, { controller, done })
    done.finally(() => this.running.delete(journal.id)).catch((error: unknown) => this.onFailure(journal.id, error))
    return journal.id
  }

  /**
   * Runs a batch to the end (the CLI). The same vehicles with the same plan as a recent batch
   * that did not finish (cancelled, killed, crashed) resume it: what it already issued is not
   * asked again, although a `--duration` window measured from now ends a little later than
   * those keys do ("run the same command again to resume").
   */
  async run(ids: string[], plan: DurationPlan, options: BatchOptions = {}): Promise<BatchOutcome> {
    const earlier = options.batchId ? undefined : await this.resumable(ids, plan)
    const journal = await this.journal(ids, plan, earlier ? { ...options, batchId: earlier.id } : options)
    await this.supersede(journal)
    return this.execute(journal, earlier ? { ...options, resumed: true } : options)
  }

  /**
   * A batch that ended but whose QR files were not all written is left to resume (as a
   * cancelled one): the same command again leaves alone the vehicles it got keys for and
   * writes their files, instead of starting a new batch whose later window could renew them.
   */
  async leaveResumable(batchId: string): Promise<void> {
    const store = await this.depot.handovers()
    const journal = readJournals(store).journals.find((j) => j.id === batchId)
    if (!journal?.finishedAt) return
    const { finishedAt: _finished, ...open } = journal
    saveJournal(store, { ...open, cancelledAt: this.depot.now().toISOString() })
  }

  /** The newest recent unfinished batch (cancelled included) over exactly these vehicles with this plan, no process running it. */
  private async resumable(ids: string[], plan: DurationPlan): Promise<Journal | undefined> {
    const store = await this.depot.handovers()
    const nowMs = this.depot.now().getTime()
    const wanted = new Set(ids)
    return readJournals(store)
      .journals.filter(
        (j) =>
          !j.finishedAt &&
          !j.supersededBy &&
          nowMs - Date.parse(j.createdAt) < RESUME_WITHIN_MS &&
          !ownerRunning(j) &&
          j.ids.length === wanted.size &&
          j.ids.every((id) => wanted.has(id)) &&
          JSON.stringify(j.plan) === JSON.stringify(plan),
      )
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0]
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
    return (await this.pending()).journals
  }

  /** Unfinished batches, and the ids of recent ones whose journal this VK Depot cannot read. */
  private async pending(): Promise<{ journals: Journal[]; unreadable: string[]; dataDir: string }> {
    const store = await this.depot.handovers()
    const nowMs = this.depot.now().getTime()
    const recent = (createdAt: string) => nowMs - Date.parse(createdAt) < RESUME_WITHIN_MS
    const { journals, unreadable } = readJournals(store)
    return {
      journals: journals.filter(
        (journal) => !journal.finishedAt && !journal.cancelledAt && !journal.supersededBy && recent(journal.createdAt) && !ownerRunning(journal),
      ),
      unreadable: unreadable.filter((row) => recent(row.createdAt)).map((row) => row.id),
      dataDir: store.dataDir,
    }
  }

  /**
   * A new run over the same vehicles (`vkey batch` again after a crash) takes over the
   * unfinished journals it covers, so nothing else resumes them alongside it.
   */
  private async supersede(current: Journal): Promise<void> {
    const covered = new Set(current.ids)
    const store = await this.depot.handovers()
    for (const journal of await this.unfinished()) {
      if (journal.id === current.id || !journal.ids.every((id) => covered.has(id))) continue
      saveJournal(store, { ...journal, supersededBy: current.id })
    }
  }

  /**
   * Resumes every unfinished batch in the background; returns their ids. A recent journal
   * that cannot be read is not resumed: once the others started, a storage.damaged error names it.
   */
  async resumeUnfinished(): Promise<string[]> {
    const { journals, unreadable, dataDir } = await this.pending()
    const ids: string[] = []
    for (const journal of journals) {
      ids.push(await this.start(journal.ids, journal.plan, { concurrency: journal.concurrency, batchId: journal.id, resumed: true }))
    }
    if (unreadable.length) throw unreadableJournals(dataDir, unreadable)
    return ids
  }

  private async journal(ids: string[], plan: DurationPlan, options: BatchOptions): Promise<Journal> {
    const id = options.batchId ?? `b${randomBytes(6).toString('base64url')}`
    const store = await this.depot.handovers()
    // Resumed: what its earlier run reused stays known.
    const reused = options.batchId ? readJournals(store).journals.find((j) => j.id === id)?.reused : undefined
    const journal: Journal = {
      id,
      ids: [...new Set(ids)],
      plan,
      concurrency: Math.max(1, Math.min(16, options.concurrency ?? DEFAULT_CONCURRENCY)),
      createdAt: this.depot.now().toISOString(),
      owner: currentOwner(),
      ...(reused ? { reused } : {}),
    }
    saveJournal(store, journal)
    return journal
  }

  private async execute(journal: Journal, options: BatchOptions): Promise<BatchOutcome> {
    // Our own controller: a store that cannot be written stops every worker, as a cancel does.
    const stop = new AbortController()
    const outer = options.signal
    const onOuterAbort = () => stop.abort()
    if (outer?.aborted) stop.abort()
    outer?.addEventListener('abort', onOuterAbort, { once: true })
    const store = await this.depot.handovers()
    const records = new Map(store.findMany(journal.ids).map((r) => [r.id, r]))
    const run = new BatchRun(journal, records, this.onProgress)
    try {
      let todo = run.classify(options.resumed ?? false)
      // What a resumed batch left alone still gets its QR file, if the interrupted run had not written it yet.
      for (const id of journal.ids) if (run.state(id) === 'skipped') deliverKept(run, id, keptRecord(store, journal, records, id), options, this.depot.now())
      const gate = new RateGate()
      // The sending stops (no cancel: what is on its way is recorded) on `halt`, or when mayStart says no.
      const held = new AbortController()
      const onHalt = () => held.abort()
      if (options.halt?.aborted) held.abort()
      options.halt?.addEventListener('abort', onHalt, { once: true })
      const sending = () => !stop.signal.aborted && !held.signal.aborted
      for (let pass = 0; pass <= EXTRA_PASSES && todo.length && sending(); pass += 1) {
        if (pass > 0) await sleep(options.retryPauseMs ?? 1000)
        todo = await this.pass(todo, { journal, run, gate, stop, held, options, lastPass: pass === EXTRA_PASSES })
      }
      outer?.removeEventListener('abort', onOuterAbort)
      options.halt?.removeEventListener('abort', onHalt)
      const halted = held.signal.aborted && !stop.signal.aborted
      const outcome = run.outcome(stop.signal.aborted, halted)
      // A vehicle that had a key waits in the queue as a record of its own (key-requests.ts, begin).
      outcome.queued = outcome.queued.map((id) => {
        const record = records.get(id)
        return (record && store.queuedFor(vehicleOf(record))?.id) ?? id
      })
      if (halted) saveJournal(store, { ...journal, cancelledAt: this.depot.now().toISOString() })
      else if (!stop.signal.aborted) saveJournal(store, { ...journal, finishedAt: this.depot.now().toISOString() })
      else if (!run.storageStopped && (this.cancelledByUser.has(journal.id) || !this.interrupting))
        saveJournal(store, { ...journal, cancelledAt: this.depot.now().toISOString() })
      run.emit(true, true)
      return outcome
    } finally {
      run.stopEmitting()
    }
  }

  /**
   * One pass over `todo` with `journal.concurrency` workers; returns the ids worth another
   * pass. A worker sends its next request as soon as PSA has answered the last one, while
   * that key is recorded (the ledger commits the answers of one turn of the event loop
   * together): the network is never held up by the disk. Each key is still reported
   * (progress, onKey) only once recorded, and at most `concurrency` answers wait to be.
   */
  private async pass(todo: string[], context: PassContext): Promise<string[]> {
    const { journal, run, gate, stop, held, options, lastPass } = context
    const store = await this.depot.handovers()
    const queue = [...todo]
    const retry: string[] = []
    const unsettled = new Set<Promise<void>>()
    /** Requests sent and not yet recorded (or failed): what a ledger that stops being writable may leave unrecorded. */
    let inFlight = 0
    const request = (id: string, answered: () => void): Promise<void> => {
      inFlight += 1
      const record = run.record(id)
      const deliverQr = record && options.deliverQrFor?.(record)
      return this.depot
        .requestToken(id, journal.plan, {
          signal: stop.signal,
          batchId: journal.id,
          onRateLimit: (info) => gate.hold(info),
          onAnswered: answered,
          ...(deliverQr ? { deliverQr } : {}),
        })
        .then((key) => {
          // Remembered before it is reported, so that a resumed run does not renew it; a ledger that cannot take it stops the batch.
          if (key.outcome === 'reused') {
            journal.reused = { ...journal.reused, [id]: key.record.id }
            saveJournal(store, journal)
          }
          run.done(id, key)
          options.onKey?.(key.record)
        })
        .catch((error: unknown) => {
          const view = toErrorView(error)
          if (view.code.startsWith('storage.') && view.code !== 'storage.vehicle-busy') {
            run.storageStopped ??= { message: view.message, inFlight: inFlight - 1 }
            stop.abort()
          }
          if (run.failed(id, view, RETRIABLE.includes(view.code) && !lastPass)) retry.push(id)
        })
        .finally(() => {
          inFlight -= 1
          answered()
        })
    }
    const halted = () => stop.signal.aborted || held.signal.aborted
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined && !halted(); id = queue.shift()) {
        await gate.pass(stop.signal, held.signal)
        if (!halted() && options.mayStart?.(inFlight) === false) held.abort()
        if (halted()) {
          queue.unshift(id) // not sent: still waiting, as the ones after it
          break
        }
        run.set(id, { state: 'running' })
        let answered!: () => void
        const networkDone = new Promise<void>((resolve) => (answered = resolve))
        const settled = request(id, answered)
        unsettled.add(settled)
        void settled.finally(() => unsettled.delete(settled))
        await networkDone
        while (unsettled.size >= 2 * journal.concurrency) await Promise.race(unsettled)
      }
    }
    await Promise.all(Array.from({ length: Math.min(journal.concurrency, queue.length) }, worker))
    await Promise.all(unsettled)
    return retry
  }
}

interface PassContext {
  journal: Journal
  run: BatchRun
  gate: RateGate
  /** Aborted by the user's cancel or by a ledger that cannot be written. */
  stop: AbortController
  /** Aborted when the sending stops without a cancel (BatchOptions.halt, mayStart). */
  held: AbortController
  options: BatchOptions
  /** No further pass follows: retriable failures are final. */
  lastPass: boolean
}
