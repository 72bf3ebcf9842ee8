/**
 * Pieces the two handover tables (Vehicles and History) share: the tick boxes, the row
 * with the data attributes tests and styles find it by, and the VIN, label and status columns.
 */
import type { ReactNode } from 'react'
import { useTranslation } from 'react-i18next'
import type { HandoverSummary } from '../../../shared/ipc/contract'
import { formatDateTime } from '../format'
import { sourceLabel } from '../source-label'
import { PlanWarning } from './PlanWarning'
import { StatusBadge } from './StatusBadge'

/** A handover that has been given a token (still valid or not). */
export function hasToken(handover: HandoverSummary): boolean {
  return handover.status === 'issued' || handover.status === 'handed-over'
}

/** A row's tick box, or the "select all" one in the head. */
export function SelectBox({ label, checked, disabled, onChange }: { label: string; checked: boolean; disabled?: boolean; onChange: (on: boolean) => void }) {
  return (
    <input type="checkbox" className="checkbox" aria-label={label} checked={checked} disabled={disabled} onChange={(event) => onChange(event.target.checked)} />
  )
}

/** The VIN, label and status headings. */
export function HandoverHeads() {
  const { t } = useTranslation()
  return (
    <>
      <th scope="col">{t('vehicles.vin')}</th>
      <th scope="col">{t('vehicles.label')}</th>
      <th scope="col">{t('vehicles.status')}</th>
    </>
  )
}

/** The actions column's heading, for screen readers only. */
export function ActionsHead() {
  const { t } = useTranslation()
  return (
    <th scope="col">
      <span className="visually-hidden">{t('vehicles.actions')}</span>
    </th>
  )
}

/** One handover's row, marked with its id, VIN and status. */
export function HandoverRow({
  handover,
  selected,
  duplicate = false,
  children,
}: {
  handover: HandoverSummary
  selected: boolean
  duplicate?: boolean
  children: ReactNode
}) {
  return (
    <tr
      data-id={handover.id}
      data-vin={handover.vin ?? ''}
      data-status={handover.status}
      data-duplicate={duplicate || undefined}
      className={selected ? 'table__row--selected' : undefined}
    >
      {children}
    </tr>
  )
}

/** The label, with the file it came from below it. */
export function LabelCell({ handover, nowrap = false }: { handover: HandoverSummary; nowrap?: boolean }) {
  const { t } = useTranslation()
  const wrap = nowrap ? ' nowrap' : ''
  return (
    <td>
      <span className={`cell-main${wrap}`}>{handover.label ?? '—'}</span>
      <span className={`cell-sub${wrap}`}>{sourceLabel(handover.source, t)}</span>
    </td>
  )
}

/** The status badge, anything the table adds (`children`), the plan warning when the token ends too early, and a key an earlier request may have got. */
export function StatusCell({ handover, connected = true, children }: { handover: HandoverSummary; connected?: boolean; children?: ReactNode }) {
  return (
    <td>
      <StatusBadge status={handover.status} connected={connected} hasVin={Boolean(handover.vin)} />
      {children}
      {handover.coversPlan === false && <PlanWarning compact />}
      {handover.earlierCutOff && <EarlierCutOff until={handover.earlierCutOff.until} />}
    </td>
  )
}

/** PSA may hold a key from an earlier request that got no answer (electron/core/key-notes.ts says when). */
function EarlierCutOff({ until }: { until: string | undefined }) {
  const { t, i18n } = useTranslation()
  return (
    <span className="plan-warning" data-testid="earlier-cut-off">
      {until ? t('plan.earlierCutOffUntil', { end: formatDateTime(until, i18n.language) }) : t('plan.earlierCutOff')}
    </span>
  )
}
