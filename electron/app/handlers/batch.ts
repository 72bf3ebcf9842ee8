/**
 * Batches and the offline queue: a batch for many vehicles (progress pushed as events),
 * requests kept while PSA cannot be reached, retried every 15 s and on "Send now", and
 * removed from the queue on request. A batch a crash or a quit left unfinished resumes at
 * start (vehicles that already have a key are skipped).
 */
import { EVERY_HANDOVER } from '../../../shared/ipc/contract'
import { BatchRunner } from '../../core/batch'
import type { Feature, HandlerContext } from './context'

const QUEUE_RETRY_MS = 15_000
const QUEUE_JOB = 'sending the offline queue'

export function batchFeature({
  depot,
  deps,
  state,
  notify,
  failed,
  worked,
}: HandlerContext): Feature<'batch:start' | 'batch:cancel' | 'queue:flush' | 'queue:cancel'> {
  const batches = new BatchRunner(
    depot,
    (progress) => {
      deps.events.emit('batch:progress', progress)
      if (progress.queued > 0) state.online = false
      if (!progress.running) notify(progress.items.map((item) => item.id))
    },
    (batchId, error) => failed(`batch ${batchId}`, error),
  )

  const flushQueue = async () => {
    const result = await depot.queue.flush()
    // Offline only when PSA could not be reached: a request held for lack of room says so on its own (heldForRoom).
    state.online = result.unreachable === undefined
    // A record tried again went draft while it was sent, then queued again when PSA was still out of reach: that is a change too.
    if (result.sent || result.failed || result.stillQueued) notify([EVERY_HANDOVER])
    return result
  }

  batches.resumeUnfinished().catch((error: unknown) => failed('resuming unfinished batches', error))
  const queueTimer = setInterval(() => {
    void (async () => {
      try {
        const queued = (await (await depot.handovers()).list()).some((r) => r.status === 'queued')
        if (queued) await flushQueue()
        worked(QUEUE_JOB)
      } catch (error) {
        // The queue stays for the next round (PSA out of reach is not a failure here: those stay queued).
        failed(QUEUE_JOB, error)
      }
    })()
  }, QUEUE_RETRY_MS)
  queueTimer.unref()

  return {
    async dispose() {
      clearInterval(queueTimer)
      batches.cancelAll()
      await batches.idle()
    },
    handlers: {
      async 'batch:start'(input) {
        const batchId = await batches.start(input.handoverIds, input.duration, input.concurrency === undefined ? {} : { concurrency: input.concurrency })
        return { batchId }
      },
      async 'batch:cancel'(input) {
        return { cancelled: batches.cancel(input.batchId) }
      },
      async 'queue:flush'() {
        const result = await flushQueue()
        return { sent: result.sent, stillQueued: result.stillQueued, heldForRoom: result.noRoom.length }
      },
      async 'queue:cancel'(input) {
        const cancelled = await depot.queue.cancel(input.id)
        notify([input.id])
        return { cancelled }
      },
    },
  }
}
