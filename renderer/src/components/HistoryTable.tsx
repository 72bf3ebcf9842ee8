/**
 * History's table of this laptop's handovers: tick valid tokens for the pack, mark an issued
 * token handed over, open a record. The screen keeps the rows, filters and selection.
 */
import { useTranslation } from 'react-i18next'
import type { HandoverSummary } from '../../../shared/ipc/contract'
import { dateTimeParts } from '../format'
import { ActionsHead, HandoverHeads, HandoverRow, hasToken, LabelCell, SelectBox, StatusCell } from './HandoverTable'

export interface HistoryTableProps {
  rows: HandoverSummary[]
  now: number
  selected: ReadonlySet<string>
  /** Ticks every valid token (on) or none (off). */
  onSelectAll: (on: boolean) => void
  onToggle: (id: string, on: boolean) => void
  busy: boolean
  onMarkHandedOver: (row: HandoverSummary) => void
  onOpen: (id: string, hasToken: boolean) => void
}

/** A token that can still be handed over (what the pack may hold). */
export function hasValidToken(row: HandoverSummary, now: number): boolean {
  return hasToken(row) && row.expires !== undefined && Date.parse(row.expires) > now
}

export function HistoryTable({ rows, now, selected, onSelectAll, onToggle, busy, onMarkHandedOver, onOpen }: HistoryTableProps) {
  const { t, i18n } = useTranslation()
  const valid = rows.filter((row) => hasValidToken(row, now))
  const allValidSelected = valid.length > 0 && valid.every((row) => selected.has(row.id))
  return (
    <table className="table">
      <thead>
        <tr>
          <th scope="col" className="table__check">
            <SelectBox label={t('history.selectAllValid')} checked={allValidSelected} disabled={valid.length === 0} onChange={onSelectAll} />
          </th>
          <HandoverHeads />
          <th scope="col" className="nowrap">
            {t('history.updated')}
          </th>
          <th scope="col" className="nowrap">
            {t('history.expires')}
          </th>
          <ActionsHead />
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => {
          const selectable = hasValidToken(row, now)
          const checked = selectable && selected.has(row.id)
          const name = row.vin ?? row.source
          return (
            <HandoverRow key={row.id} handover={row} selected={checked}>
              <td className="table__check">
                {selectable && <SelectBox label={t('history.select', { name })} checked={checked} onChange={(on) => onToggle(row.id, on)} />}
              </td>
              <td className="mono">{row.vin ?? '—'}</td>
              <LabelCell handover={row} nowrap />
              <StatusCell handover={row} />
              <td>
                <DateCell iso={row.updatedAt} locale={i18n.language} />
              </td>
              <td>
                <DateCell iso={row.expires} locale={i18n.language} />
              </td>
              <td className="table__actions">
                {row.status === 'issued' && (
                  <button
                    type="button"
                    className="button button--ghost button--small"
                    onClick={() => onMarkHandedOver(row)}
                    disabled={busy}
                    aria-label={t('history.markHandedOverFor', { name })}
                  >
                    {t('token.markHandedOverButton')}
                  </button>
                )}
                <button
                  type="button"
                  className="button button--secondary button--small"
                  onClick={() => onOpen(row.id, hasToken(row))}
                  disabled={!row.vin}
                  aria-label={t('history.openFor', { name })}
                >
                  {t('history.open')}
                </button>
              </td>
            </HandoverRow>
          )
        })}
      </tbody>
    </table>
  )
}

/** A date on one line and its time below it, so the table fits beside its actions. */
export function DateCell({ iso, locale }: { iso: string | undefined; locale: string }) {
  const parts = iso ? dateTimeParts(iso, locale) : undefined
  if (!iso || !parts) return <>{iso ?? '—'}</>
  return (
    <time dateTime={iso}>
      <span className="cell-main nowrap">{parts.date}</span>
      <span className="cell-sub nowrap">{parts.time}</span>
    </time>
  )
}
