/**
 * The words and counts a batch is described with, in ONE place: `vkey batch`'s progress
 * line, its summary and the app's batch panel count the same outcomes, so they never
 * disagree. Pure TypeScript.
 */
import type { BatchProgress } from './ipc/contract'

export interface BatchCounts {
  /** A vehicle's first key, new from PSA in this run. */
  issued: number
  /** A new key that replaced a live one that did not cover the window (the old one is superseded). */
  renewed: number
  /** Not sent: the vehicle's live key already covered the window. */
  reused: number
  /** Waiting for the network (see QUEUED_SENT_BY in errors.ts). */
  queued: number
  /** Refused (by PSA, or not sent because another laptop of the fleet holds the car: error fleet.held), unreadable or in error. */
  failed: number
}

/** The counts of a progress event; `unreadable` adds entries that failed before the batch started (bad files). */
export function countsFromProgress(progress: BatchProgress, unreadable = 0): BatchCounts {
  return { issued: progress.issued, renewed: progress.renewed, reused: progress.reused, queued: progress.queued, failed: progress.failed + unreadable }
}

/** "3 issued, 1 renewed, 2 reused, 0 queued, 1 failed". */
export function batchCountsText(counts: BatchCounts): string {
  return `${counts.issued} issued, ${counts.renewed} renewed, ${counts.reused} reused, ${counts.queued} queued, ${counts.failed} failed`
}

/** Items finished one way or another. */
export function finishedOf(counts: BatchCounts): number {
  return counts.issued + counts.renewed + counts.reused + counts.queued + counts.failed
}
