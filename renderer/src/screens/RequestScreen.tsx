/**
 * Request: choose how long the token should last and ask PSA for it. The call can be
 * cancelled; the main side aborts the HTTPS request when it receives the request id.
 */
import { useEffect, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { DurationChoice, HandoverSummary } from '../../../shared/ipc/contract'
import { CallFailed, newRequestId, toErrorView, unwrap, vkey, type ErrorView } from '../api'
import { ErrorPanel } from '../components/ErrorPanel'
import { Spinner } from '../components/Spinner'
import { StatusBadge } from '../components/StatusBadge'
import { localInputToIso, toLocalInput } from '../format'

export interface RequestScreenProps {
  handoverId: string
  onIssued: (id: string) => void
  onBack: () => void
}

const PRESETS = [1, 4, 8, 24, 72] as const
type Choice = `${(typeof PRESETS)[number]}h` | 'custom' | 'until'

export function RequestScreen({ handoverId, onIssued, onBack }: RequestScreenProps) {
  const { t } = useTranslation()
  const [vehicle, setVehicle] = useState<HandoverSummary | null>(null)
  const [choice, setChoice] = useState<Choice>('24h')
  const [hours, setHours] = useState('2')
  const [minutes, setMinutes] = useState('30')
  const [until, setUntil] = useState(() => toLocalInput(new Date(Date.now() + 24 * 3600 * 1000)))
  const [formError, setFormError] = useState<string | null>(null)
  const [pending, setPending] = useState<string | null>(null)
  const [error, setError] = useState<ErrorView | null>(null)
  const mounted = useRef(true)

  useEffect(() => {
    mounted.current = true
    unwrap(vkey().getHandover({ id: handoverId }))
      .then(setVehicle)
      .catch((failure: unknown) => setError(toErrorView(failure)))
    return () => {
      mounted.current = false
    }
  }, [handoverId])

  function duration(): DurationChoice | string {
    if (choice === 'custom') {
      const h = Number(hours || '0')
      const m = Number(minutes || '0')
      if (!Number.isInteger(h) || !Number.isInteger(m) || h < 0 || m < 0 || m > 59) return t('request.customInvalid')
      const seconds = h * 3600 + m * 60
      if (seconds <= 0) return t('request.customInvalid')
      return { kind: 'seconds', seconds }
    }
    if (choice === 'until') {
      const iso = localInputToIso(until)
      if (!iso) return t('request.untilInvalid')
      if (new Date(iso).getTime() <= Date.now()) return t('request.untilPast')
      return { kind: 'until', until: iso }
    }
    return { kind: 'seconds', seconds: Number.parseInt(choice, 10) * 3600 }
  }

  async function request(event: React.FormEvent): Promise<void> {
    event.preventDefault()
    const chosen = duration()
    if (typeof chosen === 'string') {
      setFormError(chosen)
      return
    }
    setFormError(null)
    setError(null)
    const requestId = newRequestId()
    setPending(requestId)
    try {
      const detail = await unwrap(vkey().requestToken({ handoverId, duration: chosen, requestId }))
      if (mounted.current) onIssued(detail.id)
    } catch (failure) {
      if (mounted.current) setError(failure instanceof CallFailed ? failure.view : toErrorView(failure))
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
        ) : (
          <p className="loading">
            <Spinner /> {t('common.loading')}
          </p>
        )}
      </section>

      <form className="card" onSubmit={(event) => void request(event)} noValidate>
        <fieldset className="fieldset" disabled={pending !== null}>
          <legend className="card__title">{t('request.duration')}</legend>
          <div className="segmented" role="presentation">
            {PRESETS.map((h) => (
              <label key={h} className="segmented__option">
                <input type="radio" name="duration" value={`${h}h`} checked={choice === `${h}h`} onChange={() => setChoice(`${h}h`)} />
                <span>{t('request.hours', { count: h })}</span>
              </label>
            ))}
            <label className="segmented__option">
              <input type="radio" name="duration" value="custom" checked={choice === 'custom'} onChange={() => setChoice('custom')} />
              <span>{t('request.custom')}</span>
            </label>
            <label className="segmented__option">
              <input type="radio" name="duration" value="until" checked={choice === 'until'} onChange={() => setChoice('until')} />
              <span>{t('request.until')}</span>
            </label>
          </div>

          {choice === 'custom' && (
            <div className="field-row">
              <div className="field">
                <label htmlFor="custom-hours" className="label">
                  {t('request.customHours')}
                </label>
                <input id="custom-hours" className="input input--narrow" type="number" min={0} max={8760} inputMode="numeric" value={hours} onChange={(e) => setHours(e.target.value)} />
              </div>
              <div className="field">
                <label htmlFor="custom-minutes" className="label">
                  {t('request.customMinutes')}
                </label>
                <input id="custom-minutes" className="input input--narrow" type="number" min={0} max={59} inputMode="numeric" value={minutes} onChange={(e) => setMinutes(e.target.value)} />
              </div>
            </div>
          )}
          {choice === 'until' && (
            <div className="field">
              <label htmlFor="valid-until" className="label">
                {t('request.untilLabel')}
              </label>
              <input id="valid-until" className="input input--auto" type="datetime-local" value={until} onChange={(e) => setUntil(e.target.value)} />
            </div>
          )}
          {formError && (
            <p className="field-error" role="alert">
              {formError}
            </p>
          )}
        </fieldset>

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

      {error && <ErrorPanel error={error} onDismiss={() => setError(null)} />}
    </div>
  )
}
