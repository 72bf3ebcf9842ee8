/**
 * Batch progress, kept by the shell so it survives moving between screens: the main
 * process pushes `batch:progress` for every batch it runs (the ones started here and the
 * ones it resumed after a crash).
 */
import { useCallback, useEffect, useState } from 'react'
import type { DurationPlan } from '../../shared/duration'
import type { BatchProgress } from '../../shared/ipc/contract'
import { vkey } from './api'

export type { BatchProgress }
export type BatchItem = BatchProgress['items'][number]

/** What a batch started here asked for, to show beside its progress. */
export interface BatchPlan {
  batchId: string
  duration: DurationPlan
  /** When it was started (ms), for the end a `seconds` choice gives. */
  startedAt: number
}

export interface BatchTracker {
  /** The batch being shown: running, or finished and not dismissed yet. */
  progress: BatchProgress | null
  /** The duration the batch on screen was started with, when it was started in this window. */
  plan: BatchPlan | null
  /** Records the duration of a batch just started. */
  started: (plan: BatchPlan) => void
  dismiss: () => void
}

export function useBatchProgress(): BatchTracker {
  const [progress, setProgress] = useState<BatchProgress | null>(null)

  useEffect(
    () =>
      vkey().on.onBatchProgress((next) =>
        // Follow the batch on screen; another one takes over only once this one has ended.
        setProgress((current) => (!current || current.batchId === next.batchId || !current.running ? next : current)),
      ),
    [],
  )

  const [plans, setPlans] = useState<ReadonlyMap<string, BatchPlan>>(() => new Map())
  const started = useCallback((plan: BatchPlan) => setPlans((current) => new Map(current).set(plan.batchId, plan)), [])
  const dismiss = useCallback(() => setProgress((current) => (current?.running ? current : null)), [])
  return { progress, plan: (progress && plans.get(progress.batchId)) ?? null, started, dismiss }
}

/** Items that have reached an end state (the bar's value). */
export function finishedCount(progress: BatchProgress): number {
  return progress.items.filter((item) => item.state !== 'waiting' && item.state !== 'running').length
}
