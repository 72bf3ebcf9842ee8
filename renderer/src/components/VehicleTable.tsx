/**
 * The Vehicles list: one status per row (the batch's word for the vehicle while a batch is
 * on screen, the record's status otherwise), VINs entered inline, the same VIN twice
 * flagged, and per-row actions that are off while a batch runs or with no connection.
 */
import { useTranslation } from 'react-i18next'
import type { BatchProgress, HandoverSummary } from '../../../shared/ipc/contract'
import { duplicateVins } from '../duplicates'
import { BatchStateBadge } from './BatchPanel'
import { ActionsHead, HandoverHeads, HandoverRow, hasToken, LabelCell, SelectBox, StatusCell } from './HandoverTable'
import { VinEditor } from './VinEditor'

export interface VehicleSelection {
  selected: ReadonlySet<string>
  ready: HandoverSummary[]
  /** A batch is running: the selection cannot change. */
  locked: boolean
  onToggle: (id: string, on: boolean) => void
  onToggleReady: (on: boolean) => void
}

export interface VehicleTableProps {
  vehicles: HandoverSummary[]
  onSelect: (id: string) => void
  onOpenToken: (id: string) => void
  onSaveVin: (id: string, vin: string) => Promise<void>
  selection?: VehicleSelection | undefined
  /** Each vehicle's state in the batch on screen, when there is one. */
  batchStates?: Map<string, BatchProgress['items'][number]> | undefined
  /** False without a usable profile: nothing can be requested (the screen says why). */
  connected: boolean
  /** The id of the sentence explaining why Request is off, for screen readers. */
  disabledReasonId?: string | undefined
}

export function VehicleTable({ vehicles, selection, batchStates, ...rest }: VehicleTableProps) {
  const { t } = useTranslation()
  const allReadySelected = selection !== undefined && selection.ready.length > 0 && selection.ready.every((v) => selection.selected.has(v.id))
  const duplicates = duplicateVins(vehicles)
  return (
    <table className="table">
      <thead>
        <tr>
          {selection && (
            <th scope="col" className="table__check">
              <SelectBox
                label={t('vehicles.selectAllReady')}
                checked={allReadySelected}
                disabled={selection.locked || selection.ready.length === 0}
                onChange={selection.onToggleReady}
              />
            </th>
          )}
          <HandoverHeads />
          <ActionsHead />
        </tr>
      </thead>
      <tbody>
        {vehicles.map((vehicle) => (
          <VehicleRow
            key={vehicle.id}
            vehicle={vehicle}
            selection={selection}
            batchItem={batchStates?.get(vehicle.id)}
            duplicateSources={vehicle.vin ? duplicates.get(vehicle.vin) : undefined}
            {...rest}
          />
        ))}
      </tbody>
    </table>
  )
}

interface VehicleRowProps extends Omit<VehicleTableProps, 'vehicles' | 'batchStates'> {
  vehicle: HandoverSummary
  batchItem: BatchProgress['items'][number] | undefined
  duplicateSources: string[] | undefined
}

function VehicleRow({ vehicle, selection, batchItem, duplicateSources, connected, disabledReasonId, onSelect, onOpenToken, onSaveVin }: VehicleRowProps) {
  const { t } = useTranslation()
  const name = vehicle.label ?? vehicle.source
  const checked = selection?.selected.has(vehicle.id) ?? false
  const locked = selection?.locked === true
  return (
    <HandoverRow handover={vehicle} selected={checked} duplicate={duplicateSources !== undefined}>
      {selection && (
        <td className="table__check">
          <SelectBox
            label={t('vehicles.select', { name: vehicle.vin ?? name })}
            checked={checked}
            disabled={locked || !vehicle.vin || !connected}
            onChange={(on) => selection.onToggle(vehicle.id, on)}
          />
        </td>
      )}
      <td className="mono">
        {vehicle.vin ?? <VinEditor name={name} onSave={(vin) => onSaveVin(vehicle.id, vin)} />}
        {duplicateSources && (
          <span className="cell-sub vin-duplicate" data-testid="duplicate-vin">
            {t('vehicles.duplicateInList', { count: duplicateSources.length })}
          </span>
        )}
      </td>
      <LabelCell handover={vehicle} />
      {batchItem ? (
        <td>
          <BatchStateBadge item={batchItem} />
        </td>
      ) : (
        <StatusCell handover={vehicle} connected={connected}>
          {vehicle.status === 'queued' && <span className="cell-sub">{t('vehicles.queuedHint')}</span>}
        </StatusCell>
      )}
      <td className="table__actions">
        {hasToken(vehicle) && (
          <button type="button" className="button button--primary button--small" onClick={() => onOpenToken(vehicle.id)}>
            {t('vehicles.showToken')}
          </button>
        )}
        {/* A car with a key in hand or a request queued: showing it is the main action, asking again the lesser one (a key cannot be revoked). */}
        <button
          type="button"
          className={`button ${hasToken(vehicle) || vehicle.status === 'queued' ? 'button--secondary' : 'button--primary'} button--small`}
          disabled={!vehicle.vin || locked || !connected}
          onClick={() => onSelect(vehicle.id)}
          aria-label={t('vehicles.requestFor', { name: vehicle.vin ?? name })}
          aria-describedby={!connected ? disabledReasonId : undefined}
        >
          {t('vehicles.request')}
        </button>
      </td>
    </HandoverRow>
  )
}
