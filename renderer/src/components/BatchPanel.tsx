/**
 * Batch preparation on the Vehicles screen: the vehicles ticked in the list, one validity
 * for all (with the end it gives), "Request all", then the batch's progress (pushed by the
 * main process) with the chosen validity and a Cancel button. Per-vehicle states replace
 * the status in the list itself while the batch is on screen (BatchStateBadge).
 */
import { useId, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { toErrorView, unwrap, vkey, type ErrorView } from '../api'
import { finishedCount, type BatchItem, type BatchPlan, type BatchProgress } from '../batch'
import { compactDuration, endOfChoice, formatDateTime } from '../format'
import { useDurationForm } from '../lib/hooks'
import { DurationPicker } from './DurationPicker'
import { ErrorPanel } from './ErrorPanel'
import { gateNoteText } from './GateNoteNotice'
import { Spinner } from './Spinner'

export interface BatchPanelProps {
  selectedIds: string[]
  /** Vehicles that could be requested now (a VIN and no valid token). */
  readyCount: number
  progress: BatchProgress | null
  plan: BatchPlan | null
  onSelectReady: () => void
  onClearSelection: () => void
  /** A batch was started: the caller clears the selection and keeps its plan. */
  onStarted: (plan: BatchPlan) => void
  onDismiss: () => void
}

export function BatchPanel(props: BatchPanelProps) {
  const { selectedIds, readyCount, progress, onSelectReady } = props
  const { t } = useTranslation()
  const titleId = useId()
  if (progress) return <BatchProgressCard progress={progress} plan={props.plan} onDismiss={props.onDismiss} />
  if (selectedIds.length > 0) return <BatchForm {...props} />
  return (
    <section className="card batch batch--idle" aria-labelledby={titleId}>
      <div className="batch__head">
        <div>
          <h2 id={titleId} className="card__title">
            {t('batch.title')}
          </h2>
          <p className="help">{t('batch.hint')}</p>
        </div>
        <button type="button" className="button button--secondary" onClick={onSelectReady} disabled={readyCount === 0}>
          {t('batch.selectReady', { count: readyCount })}
        </button>
      </div>
    </section>
  )
}

/** The ticked vehicles, one validity for all and "Request all". */
function BatchForm({ selectedIds, readyCount, onSelectReady, onClearSelection, onStarted }: BatchPanelProps) {
  const { t } = useTranslation()
  const titleId = useId()
  const { duration, setDuration, formError, resolve } = useDurationForm('8h')
  const [starting, setStarting] = useState(false)
  const [error, setError] = useState<ErrorView | null>(null)

  async function start(event: React.FormEvent): Promise<void> {
    event.preventDefault()
    const chosen = resolve()
    if (!chosen) return
    setError(null)
    setStarting(true)
    try {
      const startedAt = Date.now()
      const { batchId } = await unwrap(vkey().startBatch({ handoverIds: selectedIds, duration: chosen }))
      onStarted({ batchId, duration: chosen, startedAt })
    } catch (failure) {
      setError(toErrorView(failure))
    } finally {
      setStarting(false)
    }
  }

  return (
    <form className="card batch" aria-labelledby={titleId} onSubmit={(event) => void start(event)} noValidate>
      <div className="batch__head">
        <h2 id={titleId} className="card__title">
          {t('batch.title')} <span className="count">{t('batch.selected', { count: selectedIds.length })}</span>
        </h2>
        <div className="button-row">
          <button type="button" className="button button--ghost button--small" onClick={onSelectReady} disabled={readyCount === 0}>
            {t('batch.selectReady', { count: readyCount })}
          </button>
          <button type="button" className="button button--ghost button--small" onClick={onClearSelection}>
            {t('batch.clear')}
          </button>
        </div>
      </div>
      <DurationPicker value={duration} onChange={setDuration} legend={t('request.duration')} disabled={starting} error={formError} />
      <div className="button-row">
        <button type="submit" className="button button--primary button--large" disabled={starting}>
          {starting && <Spinner />}
          {t('batch.requestAll', { count: selectedIds.length })}
        </button>
      </div>
      {error && <ErrorPanel error={error} onDismiss={() => setError(null)} />}
    </form>
  )
}

/** A running or finished batch: heading, bar, counts, the validity asked for, Cancel or Done. */
function BatchProgressCard({ progress, plan, onDismiss }: { progress: BatchProgress; plan: BatchPlan | null; onDismiss: () => void }) {
  const { t } = useTranslation()
  const titleId = useId()
  const [cancelling, setCancelling] = useState(false)
  const [error, setError] = useState<ErrorView | null>(null)
  const finished = finishedCount(progress)
  const cancelled = progress.items.some((item) => item.state === 'cancelled')
  const heading = progress.running ? t('batch.running') : cancelled ? t('batch.cancelled') : t('batch.finished')
  const counts = t('batch.counts', {
    done: progress.done,
    total: progress.total,
    issued: progress.issued,
    renewed: progress.renewed,
    reused: progress.reused,
    failed: progress.failed,
    queued: progress.queued,
  })

  async function cancel(): Promise<void> {
    setCancelling(true)
    try {
      await unwrap(vkey().cancelBatch({ batchId: progress.batchId }))
    } catch (failure) {
      setError(toErrorView(failure))
    } finally {
      setCancelling(false)
    }
  }

  return (
    <section
      className="card batch"
      aria-labelledby={titleId}
      data-testid="batch-progress"
      data-running={progress.running}
      data-done={progress.done}
      data-total={progress.total}
    >
      <div className="batch__head">
        <h2 id={titleId} className="card__title">
          {progress.running && <Spinner />}
          {heading}
        </h2>
        {progress.running ? (
          <button type="button" className="button button--secondary" onClick={() => void cancel()} disabled={cancelling}>
            {t('batch.cancel')}
          </button>
        ) : (
          <button type="button" className="button button--secondary" onClick={onDismiss}>
            {t('batch.dismiss')}
          </button>
        )}
      </div>
      <progress
        className={`batch__bar${progress.failed > 0 ? ' batch__bar--failures' : ''}`}
        max={progress.total}
        value={finished}
        aria-labelledby={titleId}
        aria-describedby={`${titleId}-counts`}
      />
      <p id={`${titleId}-counts`} className="batch__counts" data-testid="batch-counts">
        {counts}
      </p>
      {plan && <BatchPlanLine plan={plan} />}
      {/* Announced once, at the end: the counts above change too often to be read out. */}
      <p className="visually-hidden" role="status">
        {progress.running ? '' : `${heading}. ${counts}`}
      </p>
      {error && <ErrorPanel error={error} onDismiss={() => setError(null)} />}
    </section>
  )
}

/** "Validity: 8 h each — valid until about 2 Dec 2026, 01:37 CET". */
function BatchPlanLine({ plan }: { plan: BatchPlan }) {
  const { t, i18n } = useTranslation()
  const end = endOfChoice(plan.duration, plan.startedAt)
  const endText = formatDateTime(end.toISOString(), i18n.language)
  const text =
    plan.duration.kind === 'seconds'
      ? t('batch.planSeconds', { duration: compactDuration(plan.duration.seconds), end: endText })
      : plan.duration.kind === 'until'
        ? t('batch.planUntil', { end: endText })
        : t('batch.planHandover', { start: formatDateTime(plan.duration.start, i18n.language), end: endText })
  return (
    <p className="batch__plan" data-testid="batch-plan">
      {text}
    </p>
  )
}

/**
 * One vehicle's state in the batch on screen: a kept key's end, a longer grant, the fleet's
 * note, in the user's language; otherwise the failure (or skip) reason as the core gave it.
 */
export function BatchStateBadge({ item }: { item: BatchItem }) {
  const { t, i18n } = useTranslation()
  const { state } = item
  const end = item.keyEnds ? formatDateTime(item.keyEnds, i18n.language) : undefined
  const notes = [
    state === 'reused' && end ? t('batch.note.reused', { end }) : '',
    item.longerThanAsked && end ? t('batch.note.longer', { end }) : '',
    item.gateNote ? gateNoteText(item.gateNote, t, i18n.language) : '',
  ].filter(Boolean)
  const shown = notes.length ? notes.join(' ') : state === 'failed' || state === 'skipped' || state === 'queued' ? item.message : undefined
  return (
    <span className="batch-state-cell">
      <span className={`batch-state batch-state--${state}`} data-batch-state={state}>
        {t(`batch.state.${state}`)}
      </span>
      {shown && <span className="cell-sub batch-state__message">{shown}</span>}
    </span>
  )
}
