/**
 * Vehicles: import CarData (file dialog, drop, paste), see what was refused and why,
 * fill in missing VINs, and pick a vehicle to request a token for — or tick several and
 * request all their keys in one batch, with progress per vehicle.
 */
import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { BatchProgress, CarDataNoteView, HandoverSummary, ImportSummary } from '../../../shared/ipc/contract'
import { toErrorView, unwrap, vkey, type ErrorView } from '../api'
import type { BatchTracker } from '../batch'
import { BatchPanel, BatchStateBadge } from '../components/BatchPanel'
import { CarDataNotes } from '../components/CarDataNotes'
import { ErrorPanel } from '../components/ErrorPanel'
import { ActionsHead, HandoverHeads, HandoverRow, hasToken, LabelCell, SelectBox, StatusCell } from '../components/HandoverTable'
import { Loading } from '../components/Loading'
import { Spinner } from '../components/Spinner'
import { VinEditor } from '../components/VinEditor'
import { useSelection } from '../lib/hooks'
import { pictureKind } from '../../../shared/cardata-scan'

// The scanner and its decoder load only when "Scan from phone" is pressed (first-screen budget).
const PhoneScanner = lazy(() => import('../scanner/PhoneScanner'))

export interface VehiclesScreenProps {
  onSelect: (id: string) => void
  onOpenToken: (id: string) => void
  batch: BatchTracker
}

type Issue = ImportSummary['issues'][number]

/** A vehicle a batch would request now: it has a VIN and no token in use. */
export function isReady(vehicle: HandoverSummary): boolean {
  return Boolean(vehicle.vin) && (vehicle.status === 'draft' || vehicle.status === 'failed' || vehicle.status === 'expired')
}

export function VehiclesScreen({ onSelect, onOpenToken, batch }: VehiclesScreenProps) {
  const { t } = useTranslation()
  const [vehicles, setVehicles] = useState<HandoverSummary[] | null>(null)
  const [error, setError] = useState<ErrorView | null>(null)
  const [busy, setBusy] = useState(false)
  const [dragging, setDragging] = useState(false)
  const [pasted, setPasted] = useState('')
  const [result, setResult] = useState<{ added: number; issues: Issue[]; carData: CarDataNoteView[] } | null>(null)
  const [scanning, setScanning] = useState(false)
  const { selected, setSelected, toggle } = useSelection()
  const progress = batch.progress

  const reload = useCallback(async () => {
    try {
      const { handovers } = await unwrap(vkey().listHandovers(undefined))
      setVehicles(handovers)
    } catch (failure) {
      setError(toErrorView(failure))
    }
  }, [])

  useEffect(() => {
    void reload()
    return vkey().on.onHandoversChanged(() => void reload())
  }, [reload])

  // The batch does not announce each record: reload as vehicles finish, and once at the end.
  const batchMark = progress ? `${progress.batchId}:${progress.done + progress.failed + progress.queued}:${progress.running}` : ''
  useEffect(() => {
    if (batchMark) void reload()
  }, [reload, batchMark])

  const ready = useMemo(() => (vehicles ?? []).filter(isReady), [vehicles])
  // Vehicles removed from the list leave the selection.
  const selectedIds = useMemo(() => (vehicles ?? []).filter((v) => selected.has(v.id)).map((v) => v.id), [vehicles, selected])
  const batchStates = useMemo(() => new Map((progress?.items ?? []).map((item) => [item.id, item])), [progress])

  /** Runs imports one after the other and shows one combined result. */
  async function runImports(jobs: Array<{ source: string; run: () => Promise<ImportSummary> }>): Promise<void> {
    setBusy(true)
    setError(null)
    let added = 0
    const issues: Issue[] = []
    const carData: CarDataNoteView[] = []
    for (const job of jobs) {
      try {
        const summary = await job.run()
        added += summary.added.length
        issues.push(...summary.issues)
        carData.push(...(summary.carData ?? []))
      } catch (failure) {
        const view = toErrorView(failure)
        issues.push({ source: view.details.file ?? job.source, field: view.details.field, code: view.code, message: view.message })
      }
    }
    setResult({ added, issues, carData })
    setBusy(false)
    await reload()
  }

  async function importByDialog(): Promise<void> {
    setError(null)
    try {
      const { files } = await unwrap(vkey().chooseFiles({ purpose: 'cardata', multiple: true }))
      if (files.length === 0) return
      const label = files.map((f) => f.name).join(', ')
      await runImports([{ source: label, run: () => unwrap(vkey().importVehicleFiles({ grants: files.map((f) => f.grant) })) }])
    } catch (failure) {
      setError(toErrorView(failure))
    }
  }

  async function importDropped(files: File[]): Promise<void> {
    if (files.length === 0) return
    await runImports(
      files.map((file) => ({
        source: file.name,
        run: async () => {
          // A photo or screenshot of the phone's code is told by its first bytes, not its name.
          const kind = pictureKind(new Uint8Array(await file.slice(0, 8).arrayBuffer()))
          if (kind) return (await import('../scanner/picture-import')).importPicture(file, kind)
          return unwrap(vkey().importVehicleText({ name: file.name, text: await file.text() }))
        },
      })),
    )
  }

  async function importPasted(): Promise<void> {
    if (pasted.trim() === '') return
    await runImports([{ source: 'pasted', run: () => unwrap(vkey().importVehicleText({ name: 'pasted', text: pasted })) }])
    setPasted('')
  }

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

      <section className="card" aria-labelledby="import-title">
        <h2 id="import-title" className="card__title">
          {t('vehicles.importTitle')}
        </h2>
        <div className="import-grid">
          <div
            className={`drop-zone${dragging ? ' drop-zone--active' : ''}`}
            data-testid="drop-zone"
            onDragEnter={(event) => {
              event.preventDefault()
              setDragging(true)
            }}
            onDragOver={(event) => {
              event.preventDefault()
              event.dataTransfer.dropEffect = 'copy'
            }}
            onDragLeave={() => setDragging(false)}
            onDrop={(event) => {
              event.preventDefault()
              setDragging(false)
              void importDropped(Array.from(event.dataTransfer.files))
            }}
          >
            <span className="drop-zone__icon" aria-hidden="true" />
            <p className="drop-zone__text">{t('vehicles.dropHere')}</p>
            <p className="drop-zone__or">{t('vehicles.or')}</p>
            <button type="button" className="button button--primary" onClick={() => void importByDialog()} disabled={busy}>
              {t('vehicles.chooseFiles')}
            </button>
            <button type="button" className="button button--secondary" onClick={() => setScanning(true)} disabled={scanning}>
              {t('scanner.open')}
            </button>
          </div>
          <div className="paste-box">
            <label htmlFor="paste-json" className="label">
              {t('vehicles.pasteLabel')}
            </label>
            <textarea
              id="paste-json"
              className="input textarea input--mono"
              rows={6}
              value={pasted}
              spellCheck={false}
              placeholder='{ "vehicles": [ { "vin": "…" } ] }'
              onChange={(event) => setPasted(event.target.value)}
            />
            <button type="button" className="button button--secondary" onClick={() => void importPasted()} disabled={busy || pasted.trim() === ''}>
              {t('vehicles.importPasted')}
            </button>
          </div>
        </div>
        {scanning && (
          <Suspense fallback={<Loading />}>
            <PhoneScanner
              onScanned={(text) => runImports([{ source: 'phone-scan', run: () => unwrap(vkey().importVehicleText({ name: 'phone-scan', text })) }])}
              onClose={() => setScanning(false)}
            />
          </Suspense>
        )}
        <div className="import-result" role="status" aria-live="polite">
          {busy && (
            <p className="inline-status">
              <Spinner /> {t('vehicles.importing')}
            </p>
          )}
          {!busy && result && (
            <>
              <p className={result.issues.length === 0 ? 'notice notice--ok' : 'notice notice--warning'}>
                {t('vehicles.importResult', { added: result.added, issues: result.issues.length })}
              </p>
              <CarDataNotes notes={result.carData} />
              {result.issues.length > 0 && (
                <ul className="issue-list" aria-label={t('vehicles.issuesLabel')}>
                  {result.issues.map((issue, index) => (
                    <li key={`${issue.source}-${index}`} className="issue-list__item" data-code={issue.code}>
                      <span className="issue-list__source mono">
                        {issue.source}
                        {issue.field ? ` · ${issue.field}` : ''}
                      </span>
                      <span className="issue-list__message">{withoutSource(issue.message, issue.source)}</span>
                    </li>
                  ))}
                </ul>
              )}
            </>
          )}
        </div>
      </section>

      {error && <ErrorPanel error={error} onDismiss={() => setError(null)} />}

      {vehicles && vehicles.length > 0 && (
        <BatchPanel
          selectedIds={selectedIds}
          readyCount={ready.length}
          progress={progress}
          onSelectReady={() => setSelected(new Set(ready.map((v) => v.id)))}
          onClearSelection={() => setSelected(new Set())}
          onStarted={() => setSelected(new Set())}
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

/** The core prefixes messages with "file: " for the CLI; the list shows the file in its own column. */
function withoutSource(message: string, source: string): string {
  return message.startsWith(`${source}: `) ? message.slice(source.length + 2) : message
}

export interface VehicleSelection {
  selected: ReadonlySet<string>
  ready: HandoverSummary[]
  /** A batch is running: the selection cannot change. */
  locked: boolean
  onToggle: (id: string, on: boolean) => void
  onToggleReady: (on: boolean) => void
}

interface VehicleTableProps {
  vehicles: HandoverSummary[]
  onSelect: (id: string) => void
  onOpenToken: (id: string) => void
  onSaveVin: (id: string, vin: string) => Promise<void>
  selection?: VehicleSelection
  /** Each vehicle's state in the batch on screen, when there is one. */
  batchStates?: Map<string, BatchProgress['items'][number]> | undefined
}

export function VehicleTable({ vehicles, onSelect, onOpenToken, onSaveVin, selection, batchStates }: VehicleTableProps) {
  const { t } = useTranslation()
  const allReadySelected = selection !== undefined && selection.ready.length > 0 && selection.ready.every((v) => selection.selected.has(v.id))
  return (
    <table className="table">
      <thead>
        <tr>
          {selection && (
            <th scope="col" className="table__check">
              <SelectBox label={t('vehicles.selectAllReady')} checked={allReadySelected} disabled={selection.locked || selection.ready.length === 0} onChange={selection.onToggleReady} />
            </th>
          )}
          <HandoverHeads />
          {batchStates && <th scope="col">{t('batch.column')}</th>}
          <ActionsHead />
        </tr>
      </thead>
      <tbody>
        {vehicles.map((vehicle) => {
          const name = vehicle.label ?? vehicle.source
          const item = batchStates?.get(vehicle.id)
          const checked = selection?.selected.has(vehicle.id) ?? false
          return (
            <HandoverRow key={vehicle.id} handover={vehicle} selected={checked}>
              {selection && (
                <td className="table__check">
                  <SelectBox
                    label={t('vehicles.select', { name: vehicle.vin ?? name })}
                    checked={checked}
                    disabled={selection.locked || !vehicle.vin}
                    onChange={(on) => selection.onToggle(vehicle.id, on)}
                  />
                </td>
              )}
              <td className="mono">{vehicle.vin ?? <VinEditor name={name} onSave={(vin) => onSaveVin(vehicle.id, vin)} />}</td>
              <LabelCell handover={vehicle} />
              <StatusCell handover={vehicle}>{vehicle.status === 'queued' && <span className="cell-sub">{t('vehicles.queuedHint')}</span>}</StatusCell>
              {batchStates && <td>{item ? <BatchStateBadge state={item.state} message={item.message} /> : <span className="muted">—</span>}</td>}
              <td className="table__actions">
                {hasToken(vehicle) && (
                  <button type="button" className="button button--secondary button--small" onClick={() => onOpenToken(vehicle.id)}>
                    {t('vehicles.showToken')}
                  </button>
                )}
                <button
                  type="button"
                  className="button button--primary button--small"
                  disabled={!vehicle.vin}
                  onClick={() => onSelect(vehicle.id)}
                  aria-label={t('vehicles.requestFor', { name: vehicle.vin ?? name })}
                >
                  {t('vehicles.request')}
                </button>
              </td>
            </HandoverRow>
          )
        })}
      </tbody>
    </table>
  )
}
