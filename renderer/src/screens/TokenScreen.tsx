/**
 * Token: the QR the driver scans, the expiry with a live countdown, the token (masked until
 * revealed), exports, copy, "mark handed over" and the full-screen handover mode.
 */
import { useCallback, useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { HandoverDetail } from '../../../shared/ipc/contract'
import { toErrorView, unwrap, vkey, type ErrorView } from '../api'
import { ErrorPanel } from '../components/ErrorPanel'
import { HandoverMode } from '../components/HandoverMode'
import { Loading } from '../components/Loading'
import { PlanWarning } from '../components/PlanWarning'
import { StatusBadge } from '../components/StatusBadge'
import { formatDateTime, splitSeconds } from '../format'
import { useMessageAction } from '../lib/hooks'

export interface TokenScreenProps {
  handoverId: string
  onRequestAgain: () => void
}

const SIGNATURE_PREVIEW = 24

export function TokenScreen({ handoverId, onRequestAgain }: TokenScreenProps) {
  const { t, i18n } = useTranslation()
  const [detail, setDetail] = useState<HandoverDetail | null>(null)
  const [qr, setQr] = useState<string | null>(null)
  const [error, setError] = useState<ErrorView | null>(null)
  const [revealed, setRevealed] = useState(false)
  const [signatureOpen, setSignatureOpen] = useState(false)
  const { message, run } = useMessageAction(setError)
  const [handover, setHandover] = useState(false)
  const now = useNow()

  const load = useCallback(async () => {
    try {
      const value = await unwrap(vkey().getHandover({ id: handoverId }))
      setDetail(value)
      if (value.token) {
        const image = await unwrap(vkey().handoverQr({ id: handoverId, format: 'svg' }))
        setQr(image.dataUrl)
      }
    } catch (failure) {
      setError(toErrorView(failure))
    }
  }, [handoverId])

  useEffect(() => {
    void load()
  }, [load])

  const exportAs = (format: 'png' | 'svg' | 'json') =>
    run(async () => {
      const saved = await unwrap(vkey().exportHandover({ id: handoverId, format }))
      return saved.saved ? t('token.saved', { file: saved.fileName ?? '' }) : t('token.saveCancelled')
    })

  const copy = () =>
    run(async () => {
      const { clearsInSeconds } = await unwrap(vkey().copyToken({ id: handoverId }))
      return t('token.copied', { seconds: clearsInSeconds })
    })

  const markHandedOver = () =>
    run(async () => {
      const summary = await unwrap(vkey().markHandedOver({ id: handoverId }))
      setDetail((current) => (current ? { ...current, ...summary } : current))
      return t('token.markedHandedOver')
    })

  if (!detail) {
    return (
      <div className="screen">
        <header className="screen__header">
          <h1 tabIndex={-1}>{t('token.title')}</h1>
        </header>
        {error ? (
          <ErrorPanel error={error} />
        ) : (
          <Loading />
        )}
      </div>
    )
  }

  const token = detail.token
  const vin = detail.vin ?? '—'
  const secondsLeft = token ? (new Date(token.expires).getTime() - now) / 1000 : 0
  const left = splitSeconds(secondsLeft)
  const expired = token !== undefined && secondsLeft <= 0

  return (
    <div className="screen">
      <header className="screen__header screen__header--row">
        <div>
          <h1 tabIndex={-1}>{t('token.title')}</h1>
          <p className="screen__lead">{t('token.lead')}</p>
        </div>
        <StatusBadge status={detail.status} />
      </header>

      {token && detail.coversPlan === false && <PlanWarning />}

      {!token ? (
        <section className="card">
          <p className="empty">{t('token.none')}</p>
          <button type="button" className="button button--primary" onClick={onRequestAgain}>
            {t('token.requestOne')}
          </button>
        </section>
      ) : (
        <div className="token-layout">
          <section className="card qr-card" aria-label={t('token.qrSection')}>
            {qr ? (
              <img className="qr-card__image" src={qr} alt={t('token.qrAlt', { vin })} data-testid="qr" />
            ) : (
              <Loading />
            )}
            <p className="qr-card__vin mono" data-testid="token-vin">
              {vin}
            </p>
            <button type="button" className="button button--primary button--block" onClick={() => setHandover(true)} disabled={!qr}>
              {t('token.handoverMode')}
            </button>
          </section>

          <section className="card token-facts" aria-label={t('token.details')}>
            <dl className="facts">
              <dt>{t('token.expires')}</dt>
              <dd>
                <span className="strong">{formatDateTime(token.expires, i18n.language)}</span>
                <span className={`countdown${expired ? ' countdown--expired' : secondsLeft < 3600 ? ' countdown--soon' : ''}`} role="timer" aria-live="off" data-testid="countdown">
                  {expired
                    ? t('token.expired')
                    : left.days > 0
                      ? t('token.leftDays', { days: left.days, hours: left.hours, minutes: left.minutes, seconds: left.seconds })
                      : t('token.left', { hours: left.hours, minutes: left.minutes, seconds: left.seconds })}
                </span>
              </dd>
              {detail.plannedStart && (
                <>
                  <dt>{t('token.planned')}</dt>
                  <dd data-testid="planned-window">{t('token.plannedWindow', { start: formatDateTime(detail.plannedStart, i18n.language), end: formatDateTime(detail.plannedEnd, i18n.language) })}</dd>
                </>
              )}
              <dt>{t('token.token')}</dt>
              <dd className="token-line">
                <code className="token-value" data-testid="token-value" data-revealed={revealed}>
                  {revealed ? token.accessToken : '••••••••••••••••'}
                </code>
                <button type="button" className="button button--ghost button--small" aria-pressed={revealed} onClick={() => setRevealed((r) => !r)}>
                  {revealed ? t('token.hide') : t('token.reveal')}
                </button>
              </dd>
              <dt>{t('token.signature')}</dt>
              <dd className="token-line">
                <code className="token-value token-value--signature" data-testid="signature">
                  {signatureOpen || token.tokenSignature.length <= SIGNATURE_PREVIEW ? token.tokenSignature : `${token.tokenSignature.slice(0, SIGNATURE_PREVIEW)}…`}
                </code>
                {token.tokenSignature.length > SIGNATURE_PREVIEW && (
                  <button type="button" className="button button--ghost button--small" aria-expanded={signatureOpen} onClick={() => setSignatureOpen((o) => !o)}>
                    {signatureOpen ? t('token.showLess') : t('token.showAll')}
                  </button>
                )}
              </dd>
              <dt>{t('token.type')}</dt>
              <dd>{token.tokenType}</dd>
            </dl>

            <div className="action-group">
              <h2 className="action-group__title">{t('token.share')}</h2>
              <div className="button-row">
                <button type="button" className="button button--secondary" onClick={() => void copy()}>
                  {t('token.copy')}
                </button>
                <button type="button" className="button button--secondary" onClick={() => void markHandedOver()} disabled={detail.status === 'handed-over'}>
                  {t('token.markHandedOverButton')}
                </button>
              </div>
            </div>
            <div className="action-group">
              <h2 className="action-group__title">{t('token.export')}</h2>
              <div className="button-row">
                <button type="button" className="button button--secondary" onClick={() => void exportAs('png')}>
                  {t('token.exportPng')}
                </button>
                <button type="button" className="button button--secondary" onClick={() => void exportAs('svg')}>
                  {t('token.exportSvg')}
                </button>
                <button type="button" className="button button--secondary" onClick={() => void exportAs('json')}>
                  {t('token.exportJson')}
                </button>
              </div>
            </div>
            <p className="inline-status" role="status" aria-live="polite" data-testid="token-message">
              {message}
            </p>
          </section>
        </div>
      )}

      {error && <ErrorPanel error={error} onDismiss={() => setError(null)} />}
      {handover && qr && <HandoverMode qrDataUrl={qr} vin={vin} onClose={() => setHandover(false)} />}
    </div>
  )
}

/** The current time, refreshed every second (for the countdown). */
function useNow(): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 1000)
    return () => window.clearInterval(timer)
  }, [])
  return now
}
