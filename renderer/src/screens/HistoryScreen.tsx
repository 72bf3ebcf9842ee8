/**
 * History: this laptop's handovers, filtered by VIN and status, or the fleet's live keys
 * (FleetView). The bulk actions export the printable handover pack (the ticked valid
 * tokens, or all valid ones) and the audit CSV; an issued token can be marked handed over
 * from the list.
 */
import { useCallback, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { inDefaultPack } from '../../../shared/pack-rule'
import type { HandoverStatus, HandoverSummary } from '../../../shared/ipc/contract'
import { toErrorView, unwrap, vkey, type ErrorView } from '../api'
import { ErrorPanel } from '../components/ErrorPanel'
import { FleetView } from '../components/FleetView'
import { HistoryTable, hasValidToken } from '../components/HistoryTable'
import { Loading } from '../components/Loading'
import { Spinner } from '../components/Spinner'
import { useHandoversReload, useMessageAction, useSelection } from '../lib/hooks'

const STATUSES: HandoverStatus[] = ['draft', 'queued', 'issued', 'handed-over', 'superseded', 'expired', 'unreadable', 'failed']

export interface HistoryScreenProps {
  onOpen: (id: string, hasToken: boolean) => void
}

export function HistoryScreen({ onOpen }: HistoryScreenProps) {
  const { t } = useTranslation()
  const [show, setShow] = useState<'local' | 'fleet'>('local')
  return (
    <div className="screen">
      <header className="screen__header">
        <h1 tabIndex={-1}>{t('history.title')}</h1>
        <p className="screen__lead">{show === 'local' ? t('history.lead') : t('history.leadFleet')}</p>
      </header>
      <fieldset className="fieldset">
        <legend className="label">{t('fleet.show')}</legend>
        <div className="segmented">
          {(['local', 'fleet'] as const).map((value) => (
            <label key={value} className="segmented__option">
              <input type="radio" name="history-show" value={value} checked={show === value} onChange={() => setShow(value)} />
              <span>{value === 'local' ? t('fleet.showLocal') : t('fleet.showFleet')}</span>
            </label>
          ))}
        </div>
      </fieldset>
      <section className="card">{show === 'local' ? <LocalHistory onOpen={onOpen} /> : <FleetView />}</section>
    </div>
  )
}

function LocalHistory({ onOpen }: HistoryScreenProps) {
  const { t } = useTranslation()
  const [vin, setVin] = useState('')
  const [status, setStatus] = useState<HandoverStatus | ''>('')
  const [rows, setRows] = useState<HandoverSummary[] | null>(null)
  const [error, setError] = useState<ErrorView | null>(null)
  const { selected, setSelected, toggle } = useSelection()
  const { busy, message, run } = useMessageAction(setError)
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

  useHandoversReload(reload)

  const now = Date.now()
  const valid = (rows ?? []).filter((row) => hasValidToken(row, now))
  // Only ticked rows still listed (and still valid) go into the pack; none ticked, the keys not yet handed over.
  const selectedIds = valid.filter((row) => selected.has(row.id)).map((row) => row.id)
  const byDefault = valid.filter((row) => inDefaultPack(row.status, true)).length

  const exportPack = () =>
    run(async () => {
      const saved = await unwrap(vkey().exportPack(selectedIds.length ? { ids: selectedIds } : {}))
      return saved.saved ? t('history.packSaved', { file: saved.fileName ?? '', count: saved.pages }) : t('token.saveCancelled')
    })
  const exportAudit = () =>
    run(async () => {
      const saved = await unwrap(vkey().exportAudit(undefined))
      return saved.saved ? t('history.auditSaved', { file: saved.fileName ?? '', count: saved.rows }) : t('token.saveCancelled')
    })
  const markHandedOver = (row: HandoverSummary) =>
    run(async () => {
      await unwrap(vkey().markHandedOver({ id: row.id }))
      await reload()
      return t('history.markedHandedOver', { vin: row.vin ?? row.source })
    })

  return (
    <>
      <div className="toolbar">
        <HistoryFilters vin={vin} onVin={setVin} status={status} onStatus={setStatus} />
        <div className="toolbar__actions" data-slot="bulk-actions" role="group" aria-label={t('history.bulkActions')}>
          <button
            type="button"
            className="button button--primary"
            onClick={() => void exportPack()}
            disabled={busy || (selectedIds.length === 0 && byDefault === 0)}
            aria-describedby="history-pack-scope"
          >
            {t('history.exportPack')}
          </button>
          <button type="button" className="button button--secondary" onClick={() => void exportAudit()} disabled={busy}>
            {t('history.exportAudit')}
          </button>
        </div>
      </div>
      <div className="toolbar__status">
        <p id="history-pack-scope" className="help">
          {selectedIds.length
            ? t('history.packSelected', { count: selectedIds.length })
            : byDefault
              ? t('history.packAll', { count: byDefault })
              : t('history.packNone')}
        </p>
        <p className="inline-status" role="status" aria-live="polite" data-testid="history-message">
          {busy ? <Spinner /> : message}
        </p>
      </div>

      {error && <ErrorPanel error={error} onRetry={() => void reload()} onDismiss={() => setError(null)} />}
      {rows === null ? (
        <Loading />
      ) : rows.length === 0 ? (
        <p className="empty">{t('history.empty')}</p>
      ) : (
        <HistoryTable
          rows={rows}
          now={now}
          selected={selected}
          onSelectAll={(on) => setSelected(on ? new Set(valid.map((row) => row.id)) : new Set())}
          onToggle={toggle}
          busy={busy}
          onMarkHandedOver={(row) => void markHandedOver(row)}
          onOpen={onOpen}
        />
      )}
    </>
  )
}

/** The VIN and status filters of this laptop's history. */
function HistoryFilters({
  vin,
  onVin,
  status,
  onStatus,
}: {
  vin: string
  onVin: (vin: string) => void
  status: HandoverStatus | ''
  onStatus: (status: HandoverStatus | '') => void
}) {
  const { t } = useTranslation()
  return (
    <div className="toolbar__filters" role="search" aria-label={t('history.filters')}>
      <div className="field">
        <label className="label" htmlFor="history-vin">
          {t('history.vinFilter')}
        </label>
        <input id="history-vin" className="input input--mono" value={vin} maxLength={17} spellCheck={false} onChange={(e) => onVin(e.target.value)} />
      </div>
      <div className="field">
        <label className="label" htmlFor="history-status">
          {t('history.statusFilter')}
        </label>
        <select id="history-status" className="input select" value={status} onChange={(e) => onStatus(e.target.value as HandoverStatus | '')}>
          <option value="">{t('history.allStatuses')}</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {t(`status.${s}`)}
            </option>
          ))}
        </select>
      </div>
    </div>
  )
}
