/**
 * Importing CarData: the file dialog, a drop zone and a paste box, then one combined result:
 * how many vehicles were added, every problem with its file and field, and every VIN that
 * is now in the list more than once.
 */
import { lazy, Suspense, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { pictureKind } from '../../../shared/cardata-scan'
import type { CarDataNoteView, HandoverSummary, ImportSummary } from '../../../shared/ipc/contract'
import { toErrorView, unwrap, vkey, type ErrorView } from '../api'
import { PASTED_SOURCE, sourceLabel } from '../source-label'
import { findDuplicates, type DuplicateImport } from '../duplicates'
import { CarDataNotes } from './CarDataNotes'
import { Loading } from './Loading'
import { Spinner } from './Spinner'

// The scanner and its decoder load only when "Scan from phone" is pressed (first-screen budget).
const PhoneScanner = lazy(() => import('../scanner/PhoneScanner'))

type Issue = ImportSummary['issues'][number]

interface ImportResult {
  added: number
  issues: Issue[]
  duplicates: DuplicateImport[]
  carData: CarDataNoteView[]
}

export interface ImportCardProps {
  /** The list as it is before an import, to flag VINs it already has. */
  existing: readonly HandoverSummary[]
  onImported: () => Promise<void>
  setError: (error: ErrorView | null) => void
}

export function ImportCard({ existing, onImported, setError }: ImportCardProps) {
  const { t } = useTranslation()
  const [busy, setBusy] = useState(false)
  const [pasted, setPasted] = useState('')
  const [result, setResult] = useState<ImportResult | null>(null)
  const [scanning, setScanning] = useState(false)

  /** Runs imports one after the other and shows one combined result. */
  async function runImports(jobs: Array<{ source: string; run: () => Promise<ImportSummary> }>): Promise<void> {
    setBusy(true)
    setError(null)
    const added: HandoverSummary[] = []
    const issues: Issue[] = []
    const carData: CarDataNoteView[] = []
    for (const job of jobs) {
      try {
        const summary = await job.run()
        added.push(...summary.added)
        issues.push(...summary.issues)
        carData.push(...(summary.carData ?? []))
      } catch (failure) {
        const view = toErrorView(failure)
        issues.push({ source: view.details.file ?? job.source, field: view.details.field, code: view.code, message: view.message })
      }
    }
    setResult({ added: added.length, issues, duplicates: findDuplicates(existing, added), carData })
    setBusy(false)
    await onImported()
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

  const importDropped = (files: File[]) =>
    files.length > 0 &&
    runImports(
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

  async function importPasted(): Promise<void> {
    if (pasted.trim() === '') return
    await runImports([{ source: PASTED_SOURCE, run: () => unwrap(vkey().importVehicleText({ name: PASTED_SOURCE, text: pasted })) }])
    setPasted('')
  }

  return (
    <section className="card" aria-labelledby="import-title">
      <h2 id="import-title" className="card__title">
        {t('vehicles.importTitle')}
      </h2>
      <div className="import-grid">
        <DropZone
          busy={busy}
          onFiles={(files) => void importDropped(files)}
          onChoose={() => void importByDialog()}
          onScan={() => setScanning(true)}
          scanning={scanning}
        />
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
        {!busy && result && <ImportResultView result={result} />}
      </div>
    </section>
  )
}

function DropZone({
  busy,
  onFiles,
  onChoose,
  onScan,
  scanning,
}: {
  busy: boolean
  onFiles: (files: File[]) => void
  onChoose: () => void
  onScan: () => void
  scanning: boolean
}) {
  const { t } = useTranslation()
  const [dragging, setDragging] = useState(false)
  return (
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
        onFiles(Array.from(event.dataTransfer.files))
      }}
    >
      <span className="drop-zone__icon" aria-hidden="true" />
      <p className="drop-zone__text">{t('vehicles.dropHere')}</p>
      <p className="drop-zone__or">{t('vehicles.or')}</p>
      <button type="button" className="button button--primary" onClick={onChoose} disabled={busy}>
        {t('vehicles.chooseFiles')}
      </button>
      <button type="button" className="button button--secondary" onClick={onScan} disabled={scanning}>
        {t('scanner.open')}
      </button>
    </div>
  )
}

function ImportResultView({ result }: { result: ImportResult }) {
  const { t } = useTranslation()
  // Warnings never stop an import (PSA decides), but they are counted and coloured like problems.
  const warnings = result.carData.reduce((sum, note) => sum + note.warnings.length, 0) + result.duplicates.length
  return (
    <>
      <p className={result.issues.length === 0 && warnings === 0 ? 'notice notice--ok' : 'notice notice--warning'} data-testid="import-summary">
        {t('vehicles.importResult', { added: result.added, issues: result.issues.length })}
        {warnings > 0 && ` ${t('vehicles.importWarnings', { count: warnings })}`}
      </p>
      <CarDataNotes notes={result.carData} />
      {result.issues.length > 0 && (
        <ul className="issue-list" aria-label={t('vehicles.issuesLabel')}>
          {result.issues.map((issue, index) => (
            <li key={`${issue.source}-${index}`} className="issue-list__item" data-code={issue.code}>
              <span className="issue-list__source mono">
                {sourceLabel(issue.source, t)}
                {issue.field ? ` · ${issue.field}` : ''}
              </span>
              <span className="issue-list__message">{withoutSource(issue.message, issue.source)}</span>
            </li>
          ))}
        </ul>
      )}
      {result.duplicates.length > 0 && (
        <ul className="issue-list" aria-label={t('vehicles.duplicatesLabel')} data-testid="import-duplicates">
          {result.duplicates.map((duplicate, index) => (
            <li key={`${duplicate.vin}-${index}`} className="issue-list__item" data-code="duplicate-vin">
              <span className="issue-list__source mono">
                {sourceLabel(duplicate.source, t)} · {duplicate.vin}
              </span>
              <span className="issue-list__message">{t('vehicles.duplicateImported', { vin: duplicate.vin, other: duplicate.other })}</span>
            </li>
          ))}
        </ul>
      )}
    </>
  )
}

/** The core prefixes messages with "file: " for the CLI; the list shows the file in its own column. */
function withoutSource(message: string, source: string): string {
  return message.startsWith(`${source}: `) ? message.slice(source.length + 2) : message
}
