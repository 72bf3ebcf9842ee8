/**
 * QR files for a batch (`vkey batch --out DIR`), written beside the network work.
 *
 * The batch runner hands over each key as soon as it is recorded (BatchOptions.onKey); this
 * pipeline takes every key (issued, renewed or reused) once, builds its payload (the token is
 * unsealed here, where the vault is) and hands it to a writer (qr-file-writer.ts) that draws
 * and writes the PNG on a worker thread while the requests go on. It is bounded: at most
 * `parallel` files are with the writer at a time, and each yields to the event loop first so
 * network answers are handled before it. Memory stays flat whatever the batch size: the queue
 * holds handover ids only. `finish()` resolves once the last file is on disk and the folder
 * synced (the batch is over only then).
 *
 * Files are written with secure-files' writeFileAtomic (0600, temporary file fsync'd and
 * renamed into place): a QR code is a car key until it expires. A vehicle whose request failed never
 * reaches the pipeline, and one whose token is no longer valid when its turn comes is left
 * out, so the folder holds exactly the usable keys.
 *
 * The first file that cannot be written (a full disk, a folder gone) stops the writing: it
 * and every key handed over after it are listed in `missing`, `onFailure` is told once (the
 * batch stops sending: no key is asked for that cannot be delivered), and finish() still
 * resolves, so the command reports every key with its file or without. Before anything is
 * sent, qr-folder-room.ts refuses a folder that cannot hold the files.
 */
import { join } from 'node:path'
import { VkError } from '../../shared/errors'
import type { BatchProgress } from '../../shared/ipc/contract'
import type { Environment } from '../../shared/profile'
import { handoverPayloadOf } from './handover-payload'
import { type HandoverStore } from './handovers'
import { hasValidToken, type HandoverRecord } from './handover-record'
import type { QrFileWriter } from './qr-file-writer'
import { describeWriteError, isDiskFull, syncFolder } from './secure-files'

/**
 * The file a batch writes for a vehicle: `<VIN>.png`, or without a VIN `no-vin-<12 characters
 * of its CarData's hash>.png`. One name per vehicle, so its next key replaces the file of the
 * one it supersedes instead of lying beside it.
 */
export function qrFileName(record: Pick<HandoverRecord, 'vin' | 'id' | 'carDataHash'>): string {
  if (record.vin) return `${record.vin}.png`
  return record.carDataHash ? `no-vin-${record.carDataHash.slice(0, 12)}.png` : `${record.id}.png`
}

export interface QrFilePipelineOptions {
  /** The output folder (it exists). */
  dir: string
  store: Pick<HandoverStore, 'findMany' | 'tokenOf'>
  environmentOf(record: HandoverRecord): Environment | undefined
  now(): Date
  /** Files being drawn and written at once (default 4). */
  parallel?: number
  /**
   * Draws and writes each file: qr-file-writer.ts's worker thread (loaded with `await
   * import()`: see there), or inline with a test's own write. finish() closes it.
   */
  writer: QrFileWriter
  /** Told once, at the first file that cannot be written (the batch stops sending). */
  onFailure?: (failure: VkError) => void
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** A key handed over whose QR file is not in the folder, and why. */
export interface MissingQrFile {
  id: string
  vin?: string
  file: string
  reason: string
}

/** What to do after a QR file failed: the disk's fault, the folder's (a system error code), or neither (the worker thread stopped). */
function nextStepAfter(error: unknown): string {
  if (isDiskFull(error)) return 'Free space there (or choose another --out)'
  if ((error as { code?: unknown } | null)?.code) return 'Make the folder writable again (or choose another --out)'
  return 'Run the same command again'
}

/** Files being drawn and written at once, unless told otherwise (their temporary copies need room too: qr-folder-room.ts). */
export const DEFAULT_PARALLEL = 4

export class QrFilePipeline {
  /** Handover id → the file written for it. */
  readonly files = new Map<string, string>()
  /** Keys handed over whose file is not written: the one that failed and every one after it. */
  readonly missing: MissingQrFile[] = []
  private readonly seen = new Set<string>()
  /** Queued or being written: the only records kept in memory. */
  private readonly pending = new Set<string>()
  private readonly waiting: string[] = []
  private active = 0
  #failure: VkError | undefined
  private idle: (() => void)[] = []
  private readonly parallel: number
  /** Records of queued ids, read in one pass over the store for all that were issued by then. */
  private readonly records = new Map<string, HandoverRecord>()

  /** The first file that could not be written: the writing stopped there. */
  get failure(): VkError | undefined {
    return this.#failure
  }

  /** Keys handed over whose file is not written yet (queued or being written). */
  get backlog(): number {
    return this.pending.size
  }

  constructor(private readonly options: QrFilePipelineOptions) {
    this.parallel = Math.max(1, options.parallel ?? DEFAULT_PARALLEL)
  }

  /** A BatchRunner progress callback: queues every vehicle issued or skipped (valid token), once. */
  onProgress(progress: BatchProgress): void {
    this.add(progress.items.filter((item) => item.state === 'issued' || item.state === 'skipped').map((item) => item.id))
  }

  /** Queues records that hold a key (each at most once): the batch hands them over as PSA answers. */
  addRecords(records: Iterable<HandoverRecord>): void {
    for (const record of records) {
      if (this.seen.has(record.id)) continue
      this.records.set(record.id, record)
      this.add([record.id])
    }
  }

  /** Queues handovers by id (each at most once). */
  add(ids: Iterable<string>): void {
    for (const id of ids) {
      if (this.seen.has(id)) continue
      this.seen.add(id)
      this.pending.add(id)
      this.waiting.push(id)
    }
    this.pump()
  }

  /**
   * Resolves when every queued file is written (or, after a failure, listed in `missing`) and
   * the folder synced (each file is fsync'd before its rename; the renames are made durable
   * here, once for the batch).
   */
  async finish(): Promise<Map<string, string>> {
    if (this.active || (this.waiting.length && !this.#failure)) await new Promise<void>((resolve) => this.idle.push(resolve))
    await this.options.writer.close()
    this.listUnwritten()
    // The files are each fsync'd; a folder that cannot be synced (a network mount, or gone) leaves only their renames unsynced.
    if (this.files.size) await syncFolder(this.options.dir).catch(() => undefined)
    return this.files
  }

  /** Stops the writer when the batch ended early (finish() does it otherwise). */
  async close(): Promise<void> {
    await this.options.writer.close()
  }

  private pump(): void {
    while (this.active < this.parallel && this.waiting.length && !this.#failure) {
      const id = this.waiting.shift()!
      this.active += 1
      void this.one(id)
        .finally(() => {
          this.pending.delete(id)
          this.records.delete(id)
        })
        .catch((error: unknown) => this.failed(error))
        .finally(() => {
          this.active -= 1
          this.pump()
          if (!this.active && (!this.waiting.length || this.#failure)) for (const resolve of this.idle.splice(0)) resolve()
        })
    }
  }

  private failed(error: unknown): void {
    if (this.#failure) return
    this.#failure =
      error instanceof VkError
        ? error
        : new VkError('output.write', `A QR file could not be written: ${describeWriteError(error)}. ${nextStepAfter(error)}`, {}, { cause: error })
    this.options.onFailure?.(this.#failure)
  }

  /** After a failure: the keys still waiting for their file go into `missing`, with the first failure as the reason. */
  private listUnwritten(): void {
    if (!this.#failure || !this.waiting.length) return
    const ids = this.waiting.splice(0)
    const reason = `not written after the first failure (${this.#failure.message})`
    for (const record of this.options.store.findMany(ids)) {
      if (hasValidToken(record, this.options.now()))
        this.missing.push({ id: record.id, ...(record.vin ? { vin: record.vin } : {}), file: join(this.options.dir, qrFileName(record)), reason })
    }
  }

  /**
   * The record for a queued id. One query serves every id queued by then without its record
   * (onProgress queues them a progress event, ≈ 100 ms, at a time).
   */
  private recordOf(id: string): HandoverRecord | undefined {
    // An id is queued only once its record is stored, so a read started now holds it.
    if (!this.records.has(id)) {
      for (const record of this.options.store.findMany([...this.pending].filter((p) => !this.records.has(p)))) this.records.set(record.id, record)
    }
    const record = this.records.get(id)
    this.records.delete(id)
    return record
  }

  private async one(id: string): Promise<void> {
    await yieldToEventLoop()
    const record = this.recordOf(id)
    if (!record || !hasValidToken(record, this.options.now())) return
    const path = join(this.options.dir, qrFileName(record))
    try {
      const environment = this.options.environmentOf(record)
      const payload = handoverPayloadOf(record, this.options.store.tokenOf(record), environment)
      await this.options.writer.write({ path, payload, environment })
    } catch (error) {
      // Whatever failed (the token unsealed, the code drawn, the file written), the key is named as without its file.
      const reason = error instanceof VkError ? error.message : describeWriteError(error)
      this.missing.push({ id, ...(record.vin ? { vin: record.vin } : {}), file: path, reason })
      if (error instanceof VkError) throw error
      throw new VkError(
        'output.write',
        `The QR code for ${record.vin ?? record.id} could not be written to ${path}: ${reason}. ${nextStepAfter(error)}`,
        {
          file: path,
          field: '--out',
        },
        { cause: error },
      )
    }
    this.files.set(id, path)
  }
}
