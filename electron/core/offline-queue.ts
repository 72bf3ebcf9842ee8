/**
 * The offline queue: requests that could not reach the network wait as `queued` handovers
 * and are sent once later (`vkey queue`, the app's queue banner, on reconnect), each under
 * the ledger's rules of key-requests.ts like any other request.
 */
import type { DurationPlan } from '../../shared/duration'
import { describeWriteError } from './secure-files'
import { isNetworkUnreachable, toErrorView, VkError, type ErrorCode } from '../../shared/errors'
import type { Profile } from '../../shared/profile'
import { environmentResolver } from './handover-environment'
import { handoverPayloadOf } from './handover-payload'
import { type HandoverStore } from './handovers'
import { isCutOff, storedError, type HandoverRecord } from './handover-record'
import type { KeyResult, RequestOptions } from './key-requests'
import { qrFileShortfall } from './qr-folder-room'

export interface FlushResult {
  /** Requests sent to PSA that got a key. */
  sent: number
  /** Queued requests that needed nothing sent: the vehicle's live key already covered the window. */
  reused: number
  stillQueued: number
  /** Why those still wait (the first network failure: the address tried and what happened), when any do. */
  unreachable?: string
  failed: number
  /** Why each of the `failed` was refused (PSA, a check before sending, or another laptop of the fleet holding the car). */
  failures: { id: string; vin?: string; code: ErrorCode; message: string }[]
  /** The keys the flush obtained (issued, renewed or reused). */
  keys: KeyResult[]
  /** QR files asked for while offline (`--qr`, a batch's `--out`) written with the keys the flush obtained: the key's record, the file. */
  qrFiles: { id: string; path: string }[]
  /** QR files asked for with `--qr` while offline that could not be written. */
  qrErrors: { id: string; path: string; message: string }[]
  /** Requests left in the queue, not sent: the folder of the QR file they write has no room (qr-folder-room.ts). */
  noRoom: { id: string; vin?: string; path: string; shortfall: string }[]
}

/** What the queue needs of the depot: its ledger and the one way to request a key. */
export interface QueueDepot {
  handovers(): Promise<HandoverStore>
  /** The profiles, for the environment a QR file names. */
  readonly profiles: { list(): Profile[] }
  requestToken(id: string, plan: DurationPlan, options?: RequestOptions): Promise<KeyResult>
}

/**
 * Why a queued request is held back although PSA may be reachable: the folder of the QR file
 * it writes has no room for it (qr-folder-room.ts). A key nobody can hand over is not asked for.
 */
export function roomShortfallOf(record: Pick<HandoverRecord, 'deliverQr'>): string | undefined {
  return record.deliverQr ? qrFileShortfall(record.deliverQr) : undefined
}

export class OfflineQueue {
  private flushing: Promise<FlushResult> | undefined

  constructor(private readonly depot: QueueDepot) {}

  /**
   * Sends every queued request once; those that still cannot reach the network stay
   * queued. One flush at a time in this process; each record is claimed (queued → draft)
   * before it is sent and the vehicle is claimed like any request, so a flush in another
   * process (the app and `vkey queue`) cannot send it a second time. A queued request
   * made with `--qr` gets its QR file written when its key arrives.
   */
  flush(options: { signal?: AbortSignal } = {}): Promise<FlushResult> {
    this.flushing ??= this.flushOnce(options).finally(() => {
      this.flushing = undefined
    })
    return this.flushing
  }

  private async flushOnce(options: { signal?: AbortSignal }): Promise<FlushResult> {
    const store = await this.depot.handovers()
    const queued = (await store.list()).filter((r) => r.status === 'queued' && r.plan).reverse()
    const result: FlushResult = { sent: 0, reused: 0, stillQueued: 0, failed: 0, failures: [], keys: [], qrFiles: [], qrErrors: [], noRoom: [] }
    for (const [index, record] of queued.entries()) {
      if (options.signal?.aborted) {
        result.stillQueued += queued.length - index // Ctrl-C: the rest stay queued, untouched
        break
      }
      const shortfall = roomShortfallOf(record)
      if (shortfall) {
        result.stillQueued += 1
        result.noRoom.push({ id: record.id, ...(record.vin ? { vin: record.vin } : {}), path: record.deliverQr!, shortfall })
        continue
      }
      if (!(await store.claimQueued(record.id))) continue
      try {
        // A request queued with --new stays one: the live key that covers the window is not handed out in its place.
        const key = await this.depot.requestToken(record.id, record.plan!, {
          ...options,
          ...(record.profile ? { profile: record.profile } : {}),
          ...(record.forceNew ? { forceNew: true } : {}),
          ...(record.deliverQr ? { deliverQr: record.deliverQr } : {}),
        })
        if (key.outcome === 'reused') result.reused += 1
        else result.sent += 1
        result.keys.push(key)
        if (record.deliverQr) await this.deliverQr(key.record, record.deliverQr, result)
      } catch (error) {
        const view = toErrorView(error)
        if (view.code.startsWith('storage.')) throw error
        if (view.code === 'cancelled') {
          // Interrupted before its request was made (no cancel recorded, or one saying no key exists): back in the queue.
          // Interrupted while PSA may have had it (key-requests.ts recorded "a key may have been
          // issued"): it stays out, as after a cancelled `vkey token`, so no flush sends it again
          // without a person deciding; the audit has the attempt.
          let requeued = false
          await store.update(record.id, (r) => {
            requeued = r.status === 'draft' && !isCutOff(r)
            if (requeued) r.status = 'queued'
          })
          result.stillQueued += queued.length - index - (requeued ? 0 : 1)
          break
        }
        if (isNetworkUnreachable(view)) {
          result.stillQueued += 1
          result.unreachable ??= view.message
        } else {
          result.failed += 1
          result.failures.push({ id: record.id, ...(record.vin ? { vin: record.vin } : {}), code: view.code, message: view.message })
          // Refused before it was sent (expired certificate, window passed, profile gone):
          // keep it visible as failed with the real reason, not as a silent draft.
          await store.update(record.id, (r) => {
            if (r.status !== 'draft') return
            r.status = 'failed'
            r.error = storedError(view)
          })
        }
      }
    }
    return result
  }

  /** Removes a request from the offline queue (nothing was sent for it); false if it is not queued. */
  async cancel(id: string): Promise<boolean> {
    const store = await this.depot.handovers()
    return store.write(() => {
      const record = store.find(id)
      if (!record || record.status !== 'queued') return false
      store.updateSync(id, (r) => {
        r.status = 'draft'
        delete r.error
        delete r.deliverQr
        delete r.forceNew
        delete r.queuedAt
      })
      return true
    })
  }

  private async deliverQr(record: HandoverRecord, path: string, result: FlushResult): Promise<void> {
    try {
      const store = await this.depot.handovers()
      // Where the key comes from, in the payload and on the picture, as every other QR file says it.
      const environment = environmentResolver(this.depot.profiles)(record)
      const { writeHandoverQr } = await import('./qr') // loaded when a queued request asked for a file
      await writeHandoverQr(path, handoverPayloadOf(record, store.tokenOf(record)!, environment), { environment })
      result.qrFiles.push({ id: record.id, path })
    } catch (error) {
      // The reason alone (the disk is full…): writeHandoverQr's own advice names --qr, which a flush does not take.
      const cause = error instanceof VkError ? error.cause : undefined
      result.qrErrors.push({ id: record.id, path, message: cause ? describeWriteError(cause) : toErrorView(error).message })
    }
  }
}
