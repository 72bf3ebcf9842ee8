/**
 * History → Fleet: every live key in the fleet, by car, with the laptop and technician that
 * hold it; cars with two live keys (issued offline on two laptops) first, flagged as a
 * conflict and never merged. The main side syncs first; when the server cannot be reached
 * it shows the fleet as of the last sync and says so.
 */
import { useCallback, useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { FleetView as FleetViewData, FleetVehicleView } from '../../../shared/ipc/fleet-contract'
import { toErrorView, unwrap, vkey, type ErrorView } from '../api'
import { formatDateTime } from '../format'
import { ErrorPanel } from './ErrorPanel'
import { Loading } from './Loading'
import { Spinner } from './Spinner'

export function FleetView() {
  const { t, i18n } = useTranslation()
  const [view, setView] = useState<FleetViewData | null>(null)
  const [error, setError] = useState<ErrorView | null>(null)
  const [busy, setBusy] = useState(false)

  const load = useCallback(async () => {
    setBusy(true)
    try {
      setView(await unwrap(vkey().fleetView(undefined)))
      setError(null)
    } catch (failure) {
      setError(toErrorView(failure))
    } finally {
      setBusy(false)
    }
  }, [])

  useEffect(() => {
    void load()
  }, [load])

  if (error) return <ErrorPanel error={error} onRetry={() => void load()} onDismiss={() => setError(null)} />
  if (!view) return <Loading />
  if (!view.joined) return <p className="empty">{t('fleet.notJoined')}</p>
  const when = view.lastSync ? formatDateTime(view.lastSync, i18n.language) : undefined
  return (
    <div className="stack" data-testid="fleet-view">
      <div className="toolbar">
        <p className="help">{t('fleet.viewLead')}</p>
        <button type="button" className="button button--secondary button--small" onClick={() => void load()} disabled={busy}>
          {busy && <Spinner />} {t('fleet.refresh')}
        </button>
      </div>
      {view.stale ? (
        <p className="notice notice--warning" role="status" data-testid="fleet-stale">
          {when ? t('fleet.stale', { when }) : t('fleet.staleNever')} {view.syncError}
        </p>
      ) : (
        when && (
          <p className="inline-status" role="status">
            {t('fleet.syncedAt', { when })}
          </p>
        )
      )}
      {view.vehicles.some((v) => v.conflict) && <p className="notice notice--warning">{t('fleet.conflictHelp')}</p>}
      {view.vehicles.length === 0 ? <p className="empty">{t('fleet.empty')}</p> : <FleetTable vehicles={view.vehicles} />}
    </div>
  )
}

/** The car, once for all its rows: a conflict, its live key, or none live (only superseded keys that still open it). */
function VehicleCell({ vehicle }: { vehicle: FleetVehicleView }) {
  const { t } = useTranslation()
  return (
    <td rowSpan={vehicle.keys.length + vehicle.stillValid.length} className="mono">
      <span className="cell-main">{vehicle.vin ?? vehicle.vehicleKey}</span>
      {vehicle.conflict ? (
        <span className="pill pill--danger">{t('fleet.conflict', { count: vehicle.keys.length })}</span>
      ) : (
        <span className="cell-sub">{vehicle.keys.length ? t('fleet.live') : t('fleet.noLive')}</span>
      )}
    </td>
  )
}

function FleetTable({ vehicles }: { vehicles: FleetVehicleView[] }) {
  const { t, i18n } = useTranslation()
  return (
    <table className="table" aria-label={t('fleet.title')}>
      <thead>
        <tr>
          <th scope="col">{t('fleet.vehicle')}</th>
          <th scope="col">{t('fleet.keyLaptop')}</th>
          <th scope="col">{t('fleet.technician')}</th>
          <th scope="col" className="nowrap">
            {t('fleet.until')}
          </th>
        </tr>
      </thead>
      <tbody>
        {vehicles.flatMap((vehicle) =>
          [...vehicle.keys, ...vehicle.stillValid].map((key, index) => {
            const superseded = index >= vehicle.keys.length
            return (
              <tr
                key={key.entryId}
                data-vehicle={vehicle.vin ?? vehicle.vehicleKey}
                data-conflict={(vehicle.conflict && !superseded) || undefined}
                data-superseded={superseded || undefined}
              >
                {index === 0 && <VehicleCell vehicle={vehicle} />}
                <td>{key.mine ? t('fleet.thisLaptop', { laptop: key.laptop }) : key.laptop}</td>
                <td>{key.technician}</td>
                <td className="nowrap">
                  {formatDateTime(key.expires, i18n.language)}
                  {superseded && (
                    <span className="cell-sub">{t(key.status === 'unreadable' ? 'fleet.unreadableStillValid' : 'fleet.supersededStillValid')}</span>
                  )}
                </td>
              </tr>
            )
          }),
        )}
      </tbody>
    </table>
  )
}
