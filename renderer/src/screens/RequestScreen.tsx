/**
 * Request: choose how long the token should last (a length, a moment, or a planned
 * handover window) and ask PSA for it. The call can be cancelled; the main side aborts the
 * HTTPS request when it receives the request id. Without a network the request is queued.
 */
import { useCallback, useEffect, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { HandoverSummary } from '../../../shared/ipc/contract'
import { isNetworkUnreachable } from '../../../shared/errors'
import { CallFailed, newRequestId, toErrorView, unwrap, vkey, type ErrorView } from '../api'
import { ErrorPanel } from '../components/ErrorPanel'
import { DurationPicker } from '../components/DurationPicker'
import { Loading } from '../components/Loading'
import { PlanWarning } from '../components/PlanWarning'
import { Spinner } from '../components/Spinner'
import { StatusBadge } from '../components/StatusBadge'
import { formatDateTime } from '../format'
import { useDurationForm } from '../lib/hooks'

export interface RequestScreenProps {
  handoverId: string
  onIssued: (id: string) => void
  onBack: () => void
}

export function RequestScreen({ handoverId, onIssued, onBack }: RequestScreenProps) {
  const { t, i18n } = useTranslation()
  const [vehicle, setVehicle] = useState<HandoverSummary | null>(null)
  const { duration, setDuration, formError, resolve } = useDurationForm('24h')
  const [pending, setPending] = useState<string | null>(null)
  const [error, setError] = useState<ErrorView | null>(null)
  const [queued, setQueued] = useState(false)
  /** The vehicle already had a key covering the window: nothing was sent; the user may ask for another anyway. */
  const [reused, setReused] = useState<{ id: string; expires: string } | null>(null)
  const [confirmNew, setConfirmNew] = useState(false)
  const mounted = useRef(true)

  const loadVehicle = useCallback(async () => {
    try {
      const value = await unwrap(vkey().getHandover({ id: handoverId }))
      if (mounted.current) setVehicle(value)
    } catch (failure) {
      if (mounted.current) setError(toErrorView(failure))
    }
  }, [handoverId])

  useEffect(() => {
    mounted.current = true
    void loadVehicle()
    // A queued request may be sent meanwhile ("Send now", or the main process retrying).
    const unsubscribe = vkey().on.onHandoversChanged(() => void loadVehicle())
    return () => {
      mounted.current = false
      unsubscribe()
    }
  }, [loadVehicle])

  async function request(event: React.FormEvent | null, forceNew = false): Promise<void> {
    event?.preventDefault()
    const chosen = resolve()
    if (!chosen) return
    setError(null)
    setQueued(false)
    setConfirmNew(false)
    const requestId = newRequestId()
    setPending(requestId)
    try {
      const detail = await unwrap(vkey().requestToken({ handoverId, duration: chosen, requestId, ...(forceNew ? { forceNew: true } : {}) }))
      if (!mounted.current) return
      if (detail.outcome === 'reused' && !forceNew) setReused({ id: detail.id, expires: detail.expires ?? '' })
      else onIssued(detail.id)
    } catch (failure) {
      const view = failure instanceof CallFailed ? failure.view : toErrorView(failure)
      if (!mounted.current) return
      // No network: the main process keeps the request and sends it once PSA can be reached.
      if (isNetworkUnreachable(view)) {
        setQueued(true)
        void loadVehicle()
      } else setError(view)
    } finally {
      if (mounted.current) setPending(null)
    }
  }

  async function cancel(): Promise<void> {
    if (!pending) return
    await vkey().cancelRequest({ requestId: pending })
  }

  return (
    <div className="screen">
      <header className="screen__header">
        <h1 tabIndex={-1}>{t('request.title')}</h1>
        <p className="screen__lead">{t('request.lead')}</p>
      </header>

      <section className="card vehicle-summary" aria-label={t('request.vehicle')}>
        {vehicle ? (
          <>
            <dl className="facts facts--inline">
              <dt>{t('vehicles.vin')}</dt>
              <dd className="mono vin-large" data-testid="request-vin">
                {vehicle.vin ?? '—'}
              </dd>
              <dt>{t('vehicles.label')}</dt>
              <dd>{vehicle.label ?? '—'}</dd>
              <dt>{t('vehicles.status')}</dt>
              <dd>
                <StatusBadge status={vehicle.status} />
              </dd>
            </dl>
            {vehicle.coversPlan === false && <PlanWarning />}
          </>
        ) : (
          <Loading />
        )}
      </section>

      <form className="card" onSubmit={(event) => void request(event)} noValidate>
        <DurationPicker value={duration} onChange={setDuration} legend={t('request.duration')} disabled={pending !== null} error={formError} />

        <div className="button-row">
          {pending === null ? (
            <>
              <button type="submit" className="button button--primary button--large" disabled={!vehicle?.vin}>
                {t('request.submit')}
              </button>
              <button type="button" className="button button--ghost" onClick={onBack}>
                {t('request.back')}
              </button>
            </>
          ) : (
            <>
              <p className="progress" role="status" aria-live="polite">
                <Spinner /> {t('request.contacting')}
              </p>
              <button type="button" className="button button--secondary" onClick={() => void cancel()}>
                {t('common.cancel')}
              </button>
            </>
          )}
        </div>
      </form>

      {reused && (
        <section className="notice notice--info" role="status" data-testid="request-reused">
          <p>{t('request.reused', { vin: vehicle?.vin ?? '', until: formatDateTime(reused.expires, i18n.language), id: reused.id })}</p>
          <div className="button-row">
            <button type="button" className="button button--primary" onClick={() => onIssued(reused.id)}>
              {t('request.showExisting')}
            </button>
            {confirmNew ? (
              <>
                <strong>{t('request.confirmNew')}</strong>
                <button type="button" className="button button--danger" onClick={() => void request(null, true)}>
                  {t('request.confirmNewButton')}
                </button>
              </>
            ) : (
              <button type="button" className="button button--secondary" onClick={() => setConfirmNew(true)}>
                {t('request.askNew')}
              </button>
            )}
          </div>
        </section>
      )}
      {queued && (
        <p className="notice notice--info" role="status" data-testid="request-queued">
          <strong>{t('status.queued')}</strong> — {t('queue.sentLater')}
        </p>
      )}
      {error && <ErrorPanel error={error} onDismiss={() => setError(null)} />}
    </div>
  )
}
