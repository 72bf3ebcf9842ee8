/**
 * Batch progress, kept by the shell so it survives moving between screens: the main
 * process pushes `batch:progress` for every batch it runs (the ones started here and the
 * ones it resumed after a crash).
 */
import { useCallback, useEffect, useState } from 'react'
import type { BatchProgress } from '../../shared/ipc/contract'
import { vkey } from './api'

export type { BatchProgress }
export type BatchItemState = BatchProgress['items'][number]['state']

export interface BatchTracker {
  /** The batch being shown: running, or finished and not dismissed yet. */
  progress: BatchProgress | null
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

  const dismiss = useCallback(() => setProgress((current) => (current?.running ? current : null)), [])
  return { progress, dismiss }
}

/** Items that have reached an end state (the bar's value). */
export function finishedCount(progress: BatchProgress): number {
  return progress.items.filter((item) => item.state !== 'waiting' && item.state !== 'running').length
}
