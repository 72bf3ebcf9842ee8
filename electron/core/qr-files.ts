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
 */
import { join } from 'node:path'
import { VkError } from '../../shared/errors'
import type { BatchProgress } from '../../shared/ipc/contract'
import type { Environment } from '../../shared/profile'
import { handoverPayloadOf } from './handover-payload'
import { hasValidToken, type HandoverRecord, type HandoverStore } from './handovers'
import type { QrFileWriter } from './qr-file-writer'
import { describeWriteError, syncFolder } from './secure-files'

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
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

export class QrFilePipeline {
  /** Handover id → the file written for it. */
  readonly files = new Map<string, string>()
  private readonly seen = new Set<string>()
  /** Queued or being written: the only records kept in memory. */
  private readonly pending = new Set<string>()
  private readonly waiting: string[] = []
  private active = 0
  private failure: VkError | undefined
  private idle: (() => void)[] = []
  private readonly parallel: number
  /** Records of queued ids, read in one pass over the store for all that were issued by then. */
  private readonly records = new Map<string, HandoverRecord>()

  constructor(private readonly options: QrFilePipelineOptions) {
    this.parallel = Math.max(1, options.parallel ?? 4)
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
   * Resolves when every queued file is written and the folder synced (each file is fsync'd
   * before its rename; the renames are made durable here, once for the batch); throws the
   * first write error (naming the file).
   */
  async finish(): Promise<Map<string, string>> {
    if (this.active || this.waiting.length) await new Promise<void>((resolve) => this.idle.push(resolve))
    await this.options.writer.close()
    if (this.failure) throw this.failure
    if (this.files.size) await syncFolder(this.options.dir)
    return this.files
  }

  /** Stops the writer when the batch ended early (finish() does it otherwise). */
  async close(): Promise<void> {
    await this.options.writer.close()
  }

  private pump(): void {
    while (this.active < this.parallel && this.waiting.length && !this.failure) {
      const id = this.waiting.shift()!
      this.active += 1
      void this.one(id)
        .finally(() => {
          this.pending.delete(id)
          this.records.delete(id)
        })
        .catch((error: unknown) => {
          this.failure ??=
            error instanceof VkError ? error : new VkError('input.file', `A QR file could not be written: ${(error as Error).message}`, {}, { cause: error })
        })
        .finally(() => {
          this.active -= 1
          this.pump()
          if (!this.active && (!this.waiting.length || this.failure)) for (const resolve of this.idle.splice(0)) resolve()
        })
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
    const environment = this.options.environmentOf(record)
    const payload = handoverPayloadOf(record, this.options.store.tokenOf(record), environment)
    const path = join(this.options.dir, qrFileName(record))
    try {
      await this.options.writer.write({ path, payload, environment })
    } catch (error) {
      if (error instanceof VkError) throw error
      throw new VkError(
        'input.file',
        `The QR code for ${record.vin ?? record.id} could not be written to ${path}: ${describeWriteError(error)}. The token is stored: run the same command again (with another --out if needed) to write the missing files.`,
        { file: path, field: '--out' },
        { cause: error },
      )
    }
    this.files.set(id, path)
  }
}
