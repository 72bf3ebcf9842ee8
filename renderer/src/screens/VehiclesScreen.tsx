/**
 * Vehicles: import CarData (file dialog, drop, paste), see what was refused and why,
 * fill in missing VINs, and pick a vehicle to request a token for — or tick several and
 * request all their keys in one batch, with progress per vehicle. Without a connection
 * (no profile, no certificate) nothing can be requested and the screen points to Settings.
 */
import { useCallback, useEffect, useId, useMemo, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { HandoverSummary, ProfileView } from '../../../shared/ipc/contract'
import { toErrorView, unwrap, vkey, type ErrorView } from '../api'
import type { BatchTracker } from '../batch'
import { BatchPanel } from '../components/BatchPanel'
import { ErrorPanel } from '../components/ErrorPanel'
import { ImportCard } from '../components/ImportCard'
import { Loading } from '../components/Loading'
import { VehicleTable } from '../components/VehicleTable'
import { missingConnection } from '../connection'
import { useHandoversReload, useSelection } from '../lib/hooks'

export interface VehiclesScreenProps {
  profiles: readonly ProfileView[]
  onSelect: (id: string) => void
  onOpenToken: (id: string) => void
  onOpenSettings: () => void
  batch: BatchTracker
}

/** A vehicle a batch would request now: it has a VIN and no token in use. */
export function isReady(vehicle: HandoverSummary): boolean {
  return Boolean(vehicle.vin) && (vehicle.status === 'draft' || vehicle.status === 'failed' || vehicle.status === 'expired')
}

export function VehiclesScreen({ profiles, onSelect, onOpenToken, onOpenSettings, batch }: VehiclesScreenProps) {
  const { t } = useTranslation()
  const noConnectionId = useId()
  const [vehicles, setVehicles] = useState<HandoverSummary[] | null>(null)
  const [error, setError] = useState<ErrorView | null>(null)
  const { selected, setSelected, toggle } = useSelection()
  const progress = batch.progress
  const missing = missingConnection(profiles)

  const reload = useCallback(async () => {
    try {
      const { handovers } = await unwrap(vkey().listHandovers(undefined))
      setVehicles(handovers)
    } catch (failure) {
      setError(toErrorView(failure))
    }
  }, [])

  useHandoversReload(reload)

  // The batch does not announce each record: reload as vehicles finish, and once at the end.
  const batchMark = progress ? `${progress.batchId}:${progress.done + progress.failed + progress.queued}:${progress.running}` : ''
  useEffect(() => {
    if (batchMark) void reload()
  }, [reload, batchMark])

  const ready = useMemo(() => (missing ? [] : (vehicles ?? []).filter(isReady)), [vehicles, missing])
  // Vehicles removed from the list leave the selection.
  const selectedIds = useMemo(() => (vehicles ?? []).filter((v) => selected.has(v.id)).map((v) => v.id), [vehicles, selected])
  const batchStates = useMemo(() => new Map((progress?.items ?? []).map((item) => [item.id, item])), [progress])

  async function saveVin(id: string, vin: string): Promise<void> {
    try {
      await unwrap(vkey().updateHandover({ id, vin }))
      await reload()
    } catch (failure) {
      setError(toErrorView(failure))
    }
  }

  return (
    <div className="screen">
      <header className="screen__header">
        <h1 tabIndex={-1}>{t('vehicles.title')}</h1>
        <p className="screen__lead">{t('vehicles.lead')}</p>
      </header>

      <ImportCard existing={vehicles ?? []} onImported={reload} setError={setError} />

      {error && <ErrorPanel error={error} onDismiss={() => setError(null)} onOpenSettings={onOpenSettings} />}

      {missing && (
        <section className="notice notice--warning no-connection" data-testid="no-connection" aria-labelledby={`${noConnectionId}-title`}>
          <h2 id={`${noConnectionId}-title`} className="no-connection__title">
            {t('vehicles.noConnectionTitle')}
          </h2>
          <p id={noConnectionId}>{t(missing === 'profile' ? 'vehicles.noProfile' : 'vehicles.noCertificate')}</p>
          <button type="button" className="button button--primary button--small" onClick={onOpenSettings}>
            {t('vehicles.openSettings')}
          </button>
        </section>
      )}

      {vehicles && vehicles.length > 0 && (progress || !missing) && (
        <BatchPanel
          selectedIds={selectedIds}
          readyCount={ready.length}
          progress={progress}
          plan={batch.plan}
          onSelectReady={() => setSelected(new Set(ready.map((v) => v.id)))}
          onClearSelection={() => setSelected(new Set())}
          onStarted={(plan) => {
            setSelected(new Set())
            batch.started(plan)
          }}
          onDismiss={batch.dismiss}
        />
      )}

      <section className="card" aria-labelledby="vehicle-list-title">
        <h2 id="vehicle-list-title" className="card__title">
          {t('vehicles.listTitle')} {vehicles && <span className="count">{vehicles.length}</span>}
        </h2>
        {vehicles === null ? (
          <Loading />
        ) : vehicles.length === 0 ? (
          <p className="empty">{t('vehicles.empty')}</p>
        ) : (
          <VehicleTable
            vehicles={vehicles}
            onSelect={onSelect}
            onOpenToken={onOpenToken}
            onSaveVin={saveVin}
            connected={!missing}
            disabledReasonId={missing ? noConnectionId : undefined}
            selection={{
              selected,
              ready,
              locked: progress?.running === true,
              onToggle: toggle,
              onToggleReady: (on) => setSelected(on ? new Set(ready.map((v) => v.id)) : new Set()),
            }}
            batchStates={progress ? batchStates : undefined}
          />
        )}
      </section>
    </div>
  )
}
