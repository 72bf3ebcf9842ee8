/**
 * Draws and writes QR files off the event loop (issue #10). A worker thread takes jobs —
 * the file's path, the handover payload, the environment band — renders the PNG (qr.ts)
 * and writes it atomically with mode 0600 (secure-files.ts). The thread that sends the
 * requests and commits the ledger never waits behind an image: it only unseals the token
 * and builds the payload (the vault stays on it); the payload is what the file holds.
 *
 * The worker runs this same module. It must be imported with `await import()` (as
 * qr-files.ts's caller does) so that the vkey bundle makes it a chunk of its own: a worker
 * given a chunk that also held the CLI would start the CLI (main.ts refuses to run in a
 * worker thread for that reason). From the TypeScript sources (tsx, which Node 20 does not
 * carry into worker threads) and when a test supplies its own `write`, the same rendering
 * runs inline.
 */
import { isMainThread, parentPort, Worker, workerData, type MessagePort } from 'node:worker_threads'
import { VkError, type ErrorCode } from '../../shared/errors'
import { renderHandoverQrSync } from './qr'
import { writeFileAtomic, writeFileAtomicSync } from './secure-files'

const ROLE = 'vkey-qr-files'

export interface QrFileJob {
  path: string
  payload: string
  environment?: string | undefined
}

export interface QrFileWriter {
  /**
   * Renders and writes one file. Rejects with a VkError when the code cannot be drawn, or
   * with the file system's error (its `code`, e.g. ENOSPC) when the file cannot be written.
   */
  write(job: QrFileJob): Promise<void>
  /** Stops the worker (pending writes are abandoned: call it once they have settled). */
  close(): Promise<void>
}

type Write = (path: string, data: Buffer) => Promise<void>

/** The folder is synced once by the pipeline when the batch's last file is in place. */
const atomicWrite: Write = (path, data) => writeFileAtomic(path, data, { mode: 0o600, syncFolder: false })

/** On the worker thread, which does nothing else: the same steps with blocking calls, a quarter of the processor time. */
const atomicWriteBlocking: Write = async (path, data) => writeFileAtomicSync(path, data, 0o600)

async function renderAndWrite(job: QrFileJob, write: Write): Promise<void> {
  await write(job.path, renderHandoverQrSync(job.payload, 'png', { environment: job.environment }) as Buffer)
}

// ---- the worker side --------------------------------------------------------------------

interface Request {
  id: number
  job: QrFileJob
}
interface Reply {
  id: number
  /** `vk`: a VkError (its code); otherwise the system's error and its errno code, if any. */
  failure?: { vk: boolean; code?: string; message: string }
}

function serve(port: MessagePort): void {
  port.on('message', (request: Request) => {
    renderAndWrite(request.job, atomicWriteBlocking).then(
      () => port.postMessage({ id: request.id } satisfies Reply),
      (error: unknown) => {
        const code = error instanceof VkError ? error.code : (error as NodeJS.ErrnoException)?.code
        const failure = { vk: error instanceof VkError, ...(code ? { code } : {}), message: (error as Error)?.message ?? String(error) }
        port.postMessage({ id: request.id, failure } satisfies Reply)
      },
    )
  })
}

if (!isMainThread && (workerData as { role?: unknown } | null)?.role === ROLE && parentPort) serve(parentPort)

// ---- the main side ----------------------------------------------------------------------

/**
 * The worker's young generation: its garbage (one code's matrices, one PNG) lives a job long,
 * so a small one suffices. V8's default let it grow to ≈ 16 MB; 4 MB took ≈ 5 MB off the peak
 * RSS of a 500-vehicle `vkey batch --out` (figure 7: 144 → 139 MB) at no measurable CPU cost.
 */
const WORKER_YOUNG_MB = 4

/** One worker thread, started by the first job; it holds the process open only while a job is in it. */
class WorkerWriter implements QrFileWriter {
  private worker: Worker | undefined
  private readonly pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>()
  private nextId = 0
  private stopped: Error | undefined

  constructor(private readonly url: URL) {}

  write(job: QrFileJob): Promise<void> {
    if (this.stopped) return Promise.reject(this.stopped)
    const worker = (this.worker ??= this.start())
    const id = ++this.nextId
    return new Promise<void>((resolve, reject) => {
      if (!this.pending.size) worker.ref()
      this.pending.set(id, { resolve, reject })
      worker.postMessage({ id, job } satisfies Request)
    })
  }

  async close(): Promise<void> {
    this.stopped ??= new Error('the QR file worker was closed')
    await this.worker?.terminate()
  }

  private start(): Worker {
    const worker = new Worker(this.url, { workerData: { role: ROLE }, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB } })
    worker.on('message', (reply: Reply) => this.settle(reply))
    worker.on('error', (error) => this.stop(error))
    worker.on('exit', () => this.stop(new Error('the QR file worker stopped')))
    return worker
  }

  private settle(reply: Reply): void {
    const waiter = this.pending.get(reply.id)
    if (!waiter) return
    this.pending.delete(reply.id)
    if (!this.pending.size) this.worker?.unref()
    const failure = reply.failure
    if (!failure) waiter.resolve()
    else if (failure.vk) waiter.reject(new VkError(failure.code as ErrorCode, failure.message))
    else waiter.reject(Object.assign(new Error(failure.message), failure.code ? { code: failure.code } : {}))
  }

  private stop(error: Error): void {
    this.stopped ??= error
    for (const waiter of this.pending.values()) waiter.reject(this.stopped)
    this.pending.clear()
  }
}

/** Renders on the calling thread (the sources under tsx, or a test's own `write`). */
function inlineWriter(write: Write): QrFileWriter {
  return { write: (job) => renderAndWrite(job, write), close: async () => undefined }
}

/** A worker thread when running from the vkey bundle; inline otherwise or with a given `write`. */
export function qrFileWriter(options: { write?: Write } = {}): QrFileWriter {
  const fromSources = import.meta.url.endsWith('.ts')
  if (options.write || fromSources || !isMainThread) return inlineWriter(options.write ?? atomicWrite)
  return new WorkerWriter(new URL(import.meta.url))
}
