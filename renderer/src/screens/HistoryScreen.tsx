/**
 * History: every handover, filtered by VIN and status. The toolbar slot on the right is
 * where batch requests, the printable pack and the audit export will go.
 */
import { useCallback, useEffect, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { HandoverStatus, HandoverSummary } from '../../../shared/ipc/contract'
import { toErrorView, unwrap, vkey, type ErrorView } from '../api'
import { ErrorPanel } from '../components/ErrorPanel'
import { Spinner } from '../components/Spinner'
import { StatusBadge } from '../components/StatusBadge'
import { formatDateTime } from '../format'

const STATUSES: HandoverStatus[] = ['draft', 'queued', 'issued', 'handed-over', 'expired', 'failed']

export interface HistoryScreenProps {
  onOpen: (id: string, hasToken: boolean) => void
}

export function HistoryScreen({ onOpen }: HistoryScreenProps) {
  const { t, i18n } = useTranslation()
  const [vin, setVin] = useState('')
  const [status, setStatus] = useState<HandoverStatus | ''>('')
  const [rows, setRows] = useState<HandoverSummary[] | null>(null)
  const [error, setError] = useState<ErrorView | null>(null)

  const latest = useRef(0)

  const reload = useCallback(async () => {
    const filter = { ...(vin.trim() ? { vin: vin.trim().toUpperCase() } : {}), ...(status ? { status } : {}) }
    // Typing fires one call per key: only the newest answer may replace the list.
    const call = ++latest.current
    try {
      const { handovers } = await unwrap(vkey().listHandovers(filter))
      if (call !== latest.current) return
      setRows(handovers)
      setError(null)
    } catch (failure) {
      setError(toErrorView(failure))
    }
  }, [vin, status])

  useEffect(() => {
    void reload()
    return vkey().on.onHandoversChanged(() => void reload())
  }, [reload])

  return (
    <div className="screen">
      <header className="screen__header">
        <h1 tabIndex={-1}>{t('history.title')}</h1>
        <p className="screen__lead">{t('history.lead')}</p>
      </header>

      <section className="card">
        <div className="toolbar">
          <div className="toolbar__filters" role="search" aria-label={t('history.filters')}>
            <div className="field">
              <label className="label" htmlFor="history-vin">
                {t('history.vinFilter')}
              </label>
              <input id="history-vin" className="input input--mono" value={vin} maxLength={17} spellCheck={false} onChange={(e) => setVin(e.target.value)} />
            </div>
            <div className="field">
              <label className="label" htmlFor="history-status">
                {t('history.statusFilter')}
              </label>
              <select id="history-status" className="input select" value={status} onChange={(e) => setStatus(e.target.value as HandoverStatus | '')}>
                <option value="">{t('history.allStatuses')}</option>
                {STATUSES.map((s) => (
                  <option key={s} value={s}>
                    {t(`status.${s}`)}
                  </option>
                ))}
              </select>
            </div>
          </div>
          {/* Bulk actions (batch request, printable pack, audit export) belong here. */}
          <div className="toolbar__actions" data-slot="bulk-actions" />
        </div>

        {error && <ErrorPanel error={error} onRetry={() => void reload()} />}
        {rows === null ? (
          <p className="loading">
            <Spinner /> {t('common.loading')}
          </p>
        ) : rows.length === 0 ? (
          <p className="empty">{t('history.empty')}</p>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th scope="col">{t('vehicles.vin')}</th>
                <th scope="col">{t('vehicles.label')}</th>
                <th scope="col">{t('vehicles.status')}</th>
                <th scope="col">{t('history.updated')}</th>
                <th scope="col">{t('history.expires')}</th>
                <th scope="col">
                  <span className="visually-hidden">{t('vehicles.actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => {
                const hasToken = row.status === 'issued' || row.status === 'handed-over'
                return (
                  <tr key={row.id}>
                    <td className="mono">{row.vin ?? '—'}</td>
                    <td>{row.label ?? row.source}</td>
                    <td>
                      <StatusBadge status={row.status} />
                    </td>
                    <td>{formatDateTime(row.updatedAt, i18n.language)}</td>
                    <td>{formatDateTime(row.expires, i18n.language)}</td>
                    <td className="table__actions">
                      <button type="button" className="button button--secondary button--small" onClick={() => onOpen(row.id, hasToken)} disabled={!row.vin}>
                        {t('history.open')}
                      </button>
                    </td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        )}
      </section>
    </div>
  )
}
