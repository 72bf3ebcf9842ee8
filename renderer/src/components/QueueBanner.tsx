/**
 * The offline banner: shown when the last call could not reach PSA or requests are waiting
 * in the queue. "Send now" flushes the queue once; the main process also retries on its own.
 */
import { useCallback, useId, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { HandoverSummary } from '../../../shared/ipc/contract'
import { toErrorView, unwrap, vkey, type ErrorView } from '../api'
import { useHandoversReload } from '../lib/hooks'
import { ErrorPanel } from './ErrorPanel'
import { Spinner } from './Spinner'

export interface QueueBannerProps {
  /** Changes when the user moves to another screen: the banner looks again. */
  refreshKey?: string
}

export function QueueBanner({ refreshKey }: QueueBannerProps) {
  const { t } = useTranslation()
  const titleId = useId()
  const [online, setOnline] = useState(true)
  const [items, setItems] = useState<HandoverSummary[]>([])
  const queued = items.length
  // Held back for lack of room where their QR files go, not for the network: said as such.
  const held = items.filter((item) => item.heldForRoom).length
  const [sending, setSending] = useState(false)
  const [result, setResult] = useState<{ sent: number; stillQueued: number } | null>(null)
  const [error, setError] = useState<ErrorView | null>(null)

  const refresh = useCallback(async () => {
    try {
      const [info, list] = await Promise.all([unwrap(vkey().appInfo(undefined)), unwrap(vkey().listHandovers({ status: 'queued' }))])
      setOnline(info.online)
      setItems(list.handovers)
    } catch {
      // The screens show bridge errors; the banner just stays as it was.
    }
  }, [])

  // A batch that could not reach PSA leaves vehicles queued: this looks again when it ends.
  useHandoversReload(refresh, refreshKey)

  async function sendNow(): Promise<void> {
    setSending(true)
    setError(null)
    setResult(null)
    try {
      setResult(await unwrap(vkey().flushQueue(undefined)))
    } catch (failure) {
      setError(toErrorView(failure))
    } finally {
      setSending(false)
      await refresh()
    }
  }

  async function cancelOne(id: string): Promise<void> {
    setError(null)
    try {
      await unwrap(vkey().cancelQueued({ id }))
    } catch (failure) {
      setError(toErrorView(failure))
    } finally {
      await refresh()
    }
  }

  const waiting = !online || queued > 0
  if (!waiting && !result && !error) return null
  const allSent = !waiting && result !== null

  return (
    <section className={`queue-banner${allSent ? ' queue-banner--done' : ''}`} aria-labelledby={titleId} data-testid="queue-banner">
      <span className="queue-banner__icon" aria-hidden="true" />
      <div className="queue-banner__body">
        <p id={titleId} className="queue-banner__title">
          {allSent
            ? t('queue.allSent')
            : !online
              ? t('queue.offlineTitle')
              : held === queued
                ? t('queue.heldTitle', { count: queued })
                : t('queue.title', { count: queued - held })}
        </p>
        {!allSent && held < queued && <p className="queue-banner__text">{t('queue.text', { count: queued - held })}</p>}
        {held > 0 && <p className="queue-banner__text">{t('queue.heldText', { count: held })}</p>}
        <p className="queue-banner__result" role="status" aria-live="polite" data-testid="queue-result">
          {sending ? (
            <>
              <Spinner /> {t('queue.sending')}
            </>
          ) : result ? (
            t('queue.result', { sent: result.sent, waiting: result.stillQueued })
          ) : (
            ''
          )}
        </p>
        {queued > 0 && (
          <ul className="queue-banner__items" aria-label={t('queue.itemsLabel')} data-testid="queue-items">
            {items.map((item) => (
              <li key={item.id}>
                <span className="mono">{item.vin ?? item.source}</span>
                {item.heldForRoom && (
                  <span className="queue-banner__held" data-testid="queue-held">
                    {t('queue.heldItem', { file: item.heldForRoom.file, shortfall: item.heldForRoom.shortfall })}
                  </span>
                )}
                <button
                  type="button"
                  className="button button--ghost button--small"
                  onClick={() => void cancelOne(item.id)}
                  disabled={sending}
                  aria-label={t('queue.cancelItem', { name: item.vin ?? item.source })}
                >
                  {t('queue.remove')}
                </button>
              </li>
            ))}
          </ul>
        )}
        {error && <ErrorPanel error={error} onDismiss={() => setError(null)} />}
      </div>
      <div className="queue-banner__actions">
        {waiting ? (
          <button type="button" className="button button--primary" onClick={() => void sendNow()} disabled={sending}>
            {t('queue.sendNow')}
          </button>
        ) : (
          <button type="button" className="button button--secondary button--small" onClick={() => setResult(null)}>
            {t('common.dismiss')}
          </button>
        )}
      </div>
    </section>
  )
}
