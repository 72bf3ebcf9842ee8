/** Hooks several screens share: a ticked set, a one-line status from an action, reloading on changes, a duration form. */
import { useCallback, useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { DurationPlan } from '../../../shared/duration'
import { toErrorView, vkey, type ErrorView } from '../api'
import { initialDuration, resolveDuration, type DurationMode, type DurationState } from '../duration-choice'

/** The ids ticked in a list, and a toggle for one of them. */
export function useSelection() {
  const [selected, setSelected] = useState<ReadonlySet<string>>(() => new Set())
  const toggle = useCallback((id: string, on: boolean): void => {
    setSelected((current) => {
      const next = new Set(current)
      if (on) next.add(id)
      else next.delete(id)
      return next
    })
  }, [])
  return { selected, setSelected, toggle }
}

/**
 * Runs an action whose result is a sentence for the status line; a failure goes to the
 * caller's error state instead. `busy` is true while an action runs.
 */
export function useMessageAction(setError: (error: ErrorView | null) => void) {
  const [busy, setBusy] = useState(false)
  const [message, setMessage] = useState('')

  async function run(action: () => Promise<string>): Promise<void> {
    setBusy(true)
    setError(null)
    setMessage('')
    try {
      setMessage(await action())
    } catch (failure) {
      setError(toErrorView(failure))
    } finally {
      setBusy(false)
    }
  }

  return { busy, message, run }
}

/**
 * Calls `reload` now (and again when `refreshKey` changes), whenever handovers change, and
 * once each batch ends: batches do not announce each vehicle.
 */
export function useHandoversReload(reload: () => Promise<void>, refreshKey?: string): void {
  useEffect(() => {
    void reload()
    const offChanged = vkey().on.onHandoversChanged(() => void reload())
    const offBatch = vkey().on.onBatchProgress((progress) => {
      if (!progress.running) void reload()
    })
    return () => {
      offChanged()
      offBatch()
    }
  }, [reload, refreshKey])
}

/** A DurationPicker's state and its error; `resolve` gives the choice to send, or null once the error is shown. */
export function useDurationForm(mode: DurationMode) {
  const { t } = useTranslation()
  const [duration, setDuration] = useState<DurationState>(() => initialDuration(mode))
  const [formError, setFormError] = useState<string | null>(null)

  function resolve(): DurationPlan | null {
    const chosen = resolveDuration(duration, t)
    if (typeof chosen === 'string') {
      setFormError(chosen)
      return null
    }
    setFormError(null)
    return chosen
  }

  return { duration, setDuration, formError, resolve }
}

/** The current time, refreshed every `everyMs` (countdowns, "valid until" previews). */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), everyMs)
    return () => window.clearInterval(timer)
  }, [everyMs])
  return now
}
