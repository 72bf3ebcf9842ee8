/**
 * Token: the QR the driver scans, the expiry with a live countdown, the token (masked until
 * revealed), exports, copy, "mark handed over" and the full-screen handover mode. A key
 * from the simulator or pre-production carries a band saying it opens no customer's car.
 */
import { useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { HandoverDetail, IssuedKey, ProfileView, TokenView } from '../../../shared/ipc/contract'
import { toErrorView, unwrap, vkey, type ErrorView } from '../api'
import { Countdown } from '../components/Countdown'
import { EnvironmentBand, LiveKeyNote } from '../components/EnvironmentBand'
import { ErrorPanel } from '../components/ErrorPanel'
import { GateNoteNotice } from '../components/GateNoteNotice'
import { HandoverMode } from '../components/HandoverMode'
import { Loading } from '../components/Loading'
import { PlanWarning } from '../components/PlanWarning'
import { StatusBadge } from '../components/StatusBadge'
import { handoverEnvironment } from '../../../shared/environment-marker'
import { formatDateTime } from '../format'
import { useMessageAction } from '../lib/hooks'

export interface TokenScreenProps {
  handoverId: string
  /** The key as the request screen received it (token and QR code): shown as it is, not asked for again. */
  issued?: IssuedKey | undefined
  profiles: readonly ProfileView[]
  onRequestAgain: () => void
}

const SIGNATURE_PREVIEW = 24

export function TokenScreen({ handoverId, issued, profiles, onRequestAgain }: TokenScreenProps) {
  const { t, i18n } = useTranslation()
  // The token lives in this state while the screen shows it, and goes with the screen.
  const [detail, setDetail] = useState<HandoverDetail | null>(() => (issued?.id === handoverId ? issued : null))
  const [error, setError] = useState<ErrorView | null>(null)
  const [handover, setHandover] = useState(false)
  const shown = detail !== null

  useEffect(() => {
    if (shown) return
    let current = true
    // One call: the record, its token and its QR code, from one unseal on the main side.
    unwrap(vkey().getHandover({ id: handoverId, qr: 'svg' }))
      .then((value) => current && setDetail(value))
      .catch((failure: unknown) => current && setError(toErrorView(failure)))
    return () => {
      current = false
    }
  }, [handoverId, shown])

  // A key without its QR code in the answer (too large for one code): ask for it alone, to show why.
  const missingQr = Boolean(detail?.token) && !detail?.qr
  useEffect(() => {
    if (!missingQr) return
    unwrap(vkey().handoverQr({ id: handoverId, format: 'svg' }))
      .then((qr) => setDetail((current) => (current ? { ...current, qr } : current)))
      .catch((failure: unknown) => setError(toErrorView(failure)))
  }, [handoverId, missingQr])

  if (!detail) {
    return (
      <div className="screen">
        <header className="screen__header">
          <h1 tabIndex={-1}>{t('token.title')}</h1>
        </header>
        {error ? <ErrorPanel error={error} /> : <Loading />}
      </div>
    )
  }

  const token = detail.token
  const qr = detail.qr?.dataUrl ?? null
  const vin = detail.vin ?? '—'
  const environment = handoverEnvironment(detail, profiles)

  return (
    <div className="screen">
      <header className="screen__header screen__header--row">
        <div>
          <h1 tabIndex={-1}>{t('token.title')}</h1>
          <p className="screen__lead">{t('token.lead')}</p>
        </div>
        <StatusBadge status={detail.status} />
      </header>

      {token && <EnvironmentBand environment={environment} />}
      {token && <LiveKeyNote environment={environment} vin={vin} expires={token.expires} />}
      {issued?.id === detail.id && issued.gateNote && <GateNoteNotice note={issued.gateNote} />}
      {token && detail.coversPlan === false && <PlanWarning onRequest={onRequestAgain} />}
      {token && detail.longerThanAsked && (
        <p className="notice notice--warning" role="note" data-testid="longer-than-asked">
          {t('token.longerThanAsked', { end: formatDateTime(token.expires, i18n.language) })}
        </p>
      )}

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
            {qr ? <img className="qr-card__image" src={qr} alt={t('token.qrAlt', { vin })} data-testid="qr" /> : <Loading />}
            <p className="qr-card__vin mono" data-testid="token-vin">
              {vin}
            </p>
            {detail.label && <p className="qr-card__label">{detail.label}</p>}
            <button type="button" className="button button--primary button--block" onClick={() => setHandover(true)} disabled={!qr}>
              {t('token.handoverMode')}
            </button>
          </section>

          <section className="card token-facts" aria-label={t('token.details')}>
            <TokenFacts detail={detail} token={token} />
            <TokenActions detail={detail} setDetail={setDetail} setError={setError} />
          </section>
        </div>
      )}

      {error && <ErrorPanel error={error} onDismiss={() => setError(null)} />}
      {handover && qr && token && (
        <HandoverMode qrDataUrl={qr} vin={vin} label={detail.label} expires={token.expires} environment={environment} onClose={() => setHandover(false)} />
      )}
    </div>
  )
}

/** Expiry and countdown, the planned window, the token (masked) and its signature. */
function TokenFacts({ detail, token }: { detail: HandoverDetail; token: TokenView }) {
  const { t, i18n } = useTranslation()
  const [revealed, setRevealed] = useState(false)
  const [signatureOpen, setSignatureOpen] = useState(false)
  const longSignature = token.tokenSignature.length > SIGNATURE_PREVIEW
  return (
    <dl className="facts">
      <dt>{t('token.expires')}</dt>
      <dd>
        <span className="strong" data-testid="token-expires">
          {formatDateTime(token.expires, i18n.language)}
        </span>
        <Countdown expires={token.expires} />
      </dd>
      {detail.plannedStart && (
        <>
          <dt>{t('token.planned')}</dt>
          <dd data-testid="planned-window">
            {t('token.plannedWindow', { start: formatDateTime(detail.plannedStart, i18n.language), end: formatDateTime(detail.plannedEnd, i18n.language) })}
          </dd>
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
          {signatureOpen || !longSignature ? token.tokenSignature : `${token.tokenSignature.slice(0, SIGNATURE_PREVIEW)}…`}
        </code>
        {longSignature && (
          <button type="button" className="button button--ghost button--small" aria-expanded={signatureOpen} onClick={() => setSignatureOpen((o) => !o)}>
            {signatureOpen ? t('token.showLess') : t('token.showAll')}
          </button>
        )}
      </dd>
      <dt>{t('token.type')}</dt>
      <dd>{token.tokenType}</dd>
    </dl>
  )
}

interface TokenActionsProps {
  detail: HandoverDetail
  setDetail: (update: (current: HandoverDetail | null) => HandoverDetail | null) => void
  setError: (error: ErrorView | null) => void
}

/** Copy, mark handed over, and the exports, with one status line for their results. */
function TokenActions({ detail, setDetail, setError }: TokenActionsProps) {
  const { t } = useTranslation()
  const { message, run } = useMessageAction(setError)
  const id = detail.id

  const exportAs = (format: 'png' | 'svg' | 'json') =>
    run(async () => {
      const saved = await unwrap(vkey().exportHandover({ id, format }))
      return saved.saved ? t('token.saved', { file: saved.fileName ?? '' }) : t('token.saveCancelled')
    })
  const copy = () =>
    run(async () => {
      const { clearsInSeconds } = await unwrap(vkey().copyToken({ id }))
      return t('token.copied', { seconds: clearsInSeconds })
    })
  const markHandedOver = () =>
    run(async () => {
      const summary = await unwrap(vkey().markHandedOver({ id }))
      setDetail((current) => (current ? { ...current, ...summary } : current))
      return t('token.markedHandedOver')
    })

  return (
    <>
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
    </>
  )
}
