/**
 * The words and counts a batch is described with, in ONE place: `vkey batch`'s progress
 * line and its summary both print batchCountsText, so they never disagree ("issued 22"
 * beside "0 issued, 22 already had a valid token"). Extend BatchCounts and this text
 * together when the batch learns new outcomes. Pure TypeScript.
 */
import type { BatchProgress } from './ipc/contract'

export interface BatchCounts {
  /** A new token from PSA in this run. */
  issued: number
  /** Not sent: the vehicle already had a valid token. */
  skipped: number
  /** Waiting for the network (sent by `vkey queue flush` or the next run). */
  queued: number
  /** Refused, unreadable or in error. */
  failed: number
}

/** The counts of a progress event; `unreadable` adds entries that failed before the batch started (bad files). */
export function countsFromProgress(progress: BatchProgress, unreadable = 0): BatchCounts {
  const count = (state: BatchProgress['items'][number]['state']) => progress.items.filter((item) => item.state === state).length
  return { issued: count('issued'), skipped: count('skipped'), queued: count('queued'), failed: count('failed') + unreadable }
}

/** "3 issued, 2 already had a valid token, 0 queued for the network, 1 failed". */
export function batchCountsText(counts: BatchCounts): string {
  return `${counts.issued} issued, ${counts.skipped} already had a valid token, ${counts.queued} queued for the network, ${counts.failed} failed`
}
