/**
 * Request: choose how long the token should last (a length, a moment, or a planned
 * handover window) and ask PSA for it. The call can be cancelled; the main side aborts the
 * HTTPS request when it receives the request id. Without a network the request is queued.
 * The answer carries the key and its QR code: the token screen shows it without asking again.
 * A key that already covers the window (this laptop's, or another laptop's in the fleet)
 * means nothing is sent; ExistingKeyNotice offers a new one after a confirmation.
 */
import { useCallback, useEffect, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { HandoverSummary, IssuedKey } from '../../../shared/ipc/contract'
import { isNetworkUnreachable } from '../../../shared/errors'
import { CallFailed, newRequestId, toErrorView, unwrap, vkey, type ErrorView } from '../api'
import { ErrorPanel } from '../components/ErrorPanel'
import { DurationPicker } from '../components/DurationPicker'
import { ExistingKeyNotice, type ExistingKey } from '../components/ExistingKeyNotice'
import { Loading } from '../components/Loading'
import { PlanWarning } from '../components/PlanWarning'
import { Spinner } from '../components/Spinner'
import { StatusBadge } from '../components/StatusBadge'
import { useDurationForm, useHandoversReload } from '../lib/hooks'
import { endOfChoice } from '../format'

export interface RequestScreenProps {
  handoverId: string
  /** The key to show: what `token:request` answered, token and QR code included. */
  onIssued: (key: IssuedKey) => void
  onBack: () => void
  onOpenSettings: () => void
}

export function RequestScreen({ handoverId, onIssued, onBack, onOpenSettings }: RequestScreenProps) {
  const { t } = useTranslation()
  const mounted = useMounted()
  const [vehicle, setVehicle] = useState<HandoverSummary | null>(null)
  const { duration, setDuration, formError, resolve } = useDurationForm('24h')
  const [pending, setPending] = useState<string | null>(null)
  const [error, setError] = useState<ErrorView | null>(null)
  const [queued, setQueued] = useState(false)
  /** A key already covers the window (this laptop's, or another laptop's in the fleet): nothing was sent; the user may ask for another anyway. */
  const [existing, setExisting] = useState<ExistingKey | null>(null)

  const loadVehicle = useCallback(async () => {
    try {
      // The vehicle only: this screen never shows a token, so none is unsealed for it.
      const summary = await unwrap(vkey().getHandover({ id: handoverId, token: false }))
      if (mounted.current) setVehicle(summary)
    } catch (failure) {
      if (mounted.current) setError(toErrorView(failure))
    }
  }, [handoverId, mounted])
  // A queued request may be sent meanwhile ("Send now", or the main process retrying).
  useHandoversReload(loadVehicle)

  async function request(event: React.FormEvent | null, forceNew = false): Promise<void> {
    event?.preventDefault()
    const chosen = resolve()
    if (!chosen) return
    setError(null)
    setQueued(false)
    setExisting(null)
    const requestId = newRequestId()
    setPending(requestId)
    try {
      const { outcome, ...key } = await unwrap(
        vkey().requestToken({ handoverId, duration: chosen, requestId, qr: 'svg', ...(forceNew ? { forceNew: true } : {}) }),
      )
      if (!mounted.current) return
      if (outcome === 'reused' && !forceNew) setExisting({ kind: 'mine', key, windowEnd: endOfChoice(chosen, Date.now()).toISOString() })
      else onIssued(key)
    } catch (failure) {
      const view = failure instanceof CallFailed ? failure.view : toErrorView(failure)
      if (!mounted.current) return
      // No network: the main process keeps the request and sends it once PSA can be reached.
      if (isNetworkUnreachable(view)) {
        setQueued(true)
        void loadVehicle()
      } else if (view.code === 'fleet.held' && view.details.holder) setExisting({ kind: 'fleet', holder: view.details.holder })
      else setError(view)
    } finally {
      if (mounted.current) setPending(null)
    }
  }

  return (
    <div className="screen">
      <header className="screen__header">
        <h1 tabIndex={-1}>{t('request.title')}</h1>
        <p className="screen__lead">{t('request.lead')}</p>
      </header>

      <VehicleCard vehicle={vehicle} />

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
              <button type="button" className="button button--secondary" onClick={() => void vkey().cancelRequest({ requestId: pending })}>
                {t('common.cancel')}
              </button>
            </>
          )}
        </div>
      </form>

      {existing && <ExistingKeyNotice existing={existing} vin={vehicle?.vin ?? ''} onShow={onIssued} onRequestNew={() => void request(null, true)} />}
      {queued && (
        <p className="notice notice--info" role="status" data-testid="request-queued">
          <strong>{t('status.queued')}</strong> — {t('queue.sentLater')}
        </p>
      )}
      {error && <ErrorPanel error={error} onDismiss={() => setError(null)} onOpenSettings={onOpenSettings} />}
    </div>
  )
}

/** True while the component is mounted: answers that arrive after leaving the screen are dropped. */
function useMounted() {
  const mounted = useRef(true)
  useEffect(() => {
    mounted.current = true
    return () => {
      mounted.current = false
    }
  }, [])
  return mounted
}

/** The vehicle the key is for: VIN, label, status, and a warning when its key ends before the plan. */
function VehicleCard({ vehicle }: { vehicle: HandoverSummary | null }) {
  const { t } = useTranslation()
  return (
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
  )
}
