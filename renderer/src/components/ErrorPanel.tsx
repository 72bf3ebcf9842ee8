/**
 * One place that turns an error code into plain language and a next step. The title and
 * next step come from i18n keys per code (errors.<code>) or per family (errors.<family>).
 * The diagnosis is stated once: the translated text for the code where there is one (it
 * says what the main side's message says), else the main side's message, which names
 * files and fields. PSA's reference is in the support box, not repeated in prose.
 */
import { useId, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { ErrorView } from '../api'
import { formatOutsideTime } from '../format'
import { LedgerRecovery } from './LedgerRecovery'

export interface ErrorPanelProps {
  error: ErrorView
  onDismiss?: () => void
  onRetry?: () => void
  /** Given where the app can go to Settings: errors whose way forward is there get a button to it. */
  onOpenSettings?: () => void
}

/** Errors whose next step is in Settings: the connection profile, its certificates, or what PSA said of its login. */
export function fixedInSettings(code: string): boolean {
  const family = errorFamily(code)
  return family === 'config' || family === 'tls' || code === 'psa.unauthorized' || code === 'psa.forbidden'
}

/** The family an error code belongs to (`psa.unauthorized` → `psa`; `cancelled` → `cancelled`). */
export function errorFamily(code: string): string {
  const dot = code.indexOf('.')
  return dot === -1 ? code : code.slice(0, dot)
}

export function ErrorPanel({ error, onDismiss, onRetry, onOpenSettings }: ErrorPanelProps) {
  const { t, i18n } = useTranslation()
  const titleId = useId()
  const [copied, setCopied] = useState<'idle' | 'done' | 'failed'>('idle')
  const family = errorFamily(error.code)
  const title = t([`errors.${error.code}.title`, `errors.${family}.title`, 'errors.generic.title'])
  const text = t([`errors.${error.code}.text`], { defaultValue: error.message })
  const next = t([`errors.${error.code}.next`, `errors.${family}.next`, 'errors.generic.next'])
  const psa = error.details.psa
  const support = psa && (psa.code !== undefined || psa.uuid || psa.timestamp) ? psa : undefined
  const psaTime = support?.timestamp ? formatOutsideTime(support.timestamp, i18n.language) : undefined
  const retryAfter = error.details.rateLimit?.retryAfterSeconds ?? error.details.rateLimit?.resetSeconds
  const tone = error.code === 'cancelled' ? 'notice' : 'error'
  const settings = onOpenSettings && fixedInSettings(error.code) ? onOpenSettings : undefined

  async function copyForSupport(): Promise<void> {
    if (!support) return
    // Only the three fields PSA support asks for: no token, VIN or file names.
    const lines = [`code: ${support.code ?? ''}`, `uuid: ${support.uuid ?? ''}`, `timestamp: ${support.timestamp ?? ''}`]
    try {
      await navigator.clipboard.writeText(lines.join('\n'))
      setCopied('done')
    } catch {
      setCopied('failed')
    }
  }

  return (
    <section className={`error-panel error-panel--${tone}`} role="alert" aria-labelledby={titleId} data-code={error.code}>
      <h2 id={titleId} className="error-panel__title">
        {title}
      </h2>
      <p className="error-panel__text">{text}</p>
      {(error.details.file || error.details.field) && (
        <p className="error-panel__where">
          {error.details.file && <span>{t('errors.where.file', { file: error.details.file })}</span>}
          {error.details.field && <span>{t('errors.where.field', { field: error.details.field })}</span>}
        </p>
      )}
      {retryAfter !== undefined && <p className="error-panel__where">{t('errors.retryAfter', { seconds: retryAfter })}</p>}
      <p className="error-panel__next">
        <strong>{t('errors.nextLabel')}</strong> {next}
      </p>
      {error.code === 'storage.ledger-lost' && <LedgerRecovery />}
      {support && (
        <div className="error-panel__support">
          <h3 className="error-panel__support-title">{t('errors.support.title')}</h3>
          <dl className="facts facts--compact">
            {support.code !== undefined && (
              <>
                <dt>{t('errors.support.code')}</dt>
                <dd className="mono">{String(support.code)}</dd>
              </>
            )}
            {support.uuid && (
              <>
                <dt>{t('errors.support.uuid')}</dt>
                <dd className="mono">{support.uuid}</dd>
              </>
            )}
            {support.timestamp && (
              <>
                <dt>{t('errors.support.timestamp')}</dt>
                <dd>
                  {/* Local time for the person when PSA sent a zoned ISO time; PSA's own value always, as support will look it up (and as copied). */}
                  {psaTime && (
                    <>
                      <time dateTime={support.timestamp}>{psaTime}</time>{' '}
                    </>
                  )}
                  <span className={psaTime ? 'mono error-panel__raw' : 'mono'}>{psaTime ? `(${support.timestamp})` : support.timestamp}</span>
                </dd>
              </>
            )}
          </dl>
          <button type="button" className="button button--secondary button--small" onClick={() => void copyForSupport()}>
            {t('errors.support.copy')}
          </button>
          <span className="inline-status" role="status">
            {copied === 'done' ? t('errors.support.copied') : copied === 'failed' ? t('errors.support.copyFailed') : ''}
          </span>
        </div>
      )}
      {(onRetry || onDismiss || settings) && (
        <div className="button-row">
          {settings && (
            <button type="button" className="button button--primary button--small" onClick={settings}>
              {t('vehicles.openSettings')}
            </button>
          )}
          {onRetry && (
            <button type="button" className="button button--primary button--small" onClick={onRetry}>
              {t('common.retry')}
            </button>
          )}
          {onDismiss && (
            <button type="button" className="button button--secondary button--small" onClick={onDismiss}>
              {t('common.dismiss')}
            </button>
          )}
        </div>
      )}
    </section>
  )
}
