/**
 * Vehicles → Scan from phone: the camera preview with a framing guide, progress for a
 * multi-part loop ("3 of 5"), a clear success state, and clear messages when there is no
 * camera or access is refused. Loaded lazily (React.lazy): the decoder never weighs on the
 * first screen. The scanned export is imported by the caller, like any other import.
 */
import { useEffect, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Spinner } from '../components/Spinner'
import './scanner.css'
import { useCameraScan, type ScanState } from './useCameraScan'

export interface PhoneScannerProps {
  /** Imports the scanned export text (same channel and validation as a file). */
  onScanned: (text: string) => Promise<void>
  onClose: () => void
}

export default function PhoneScanner({ onScanned, onClose }: PhoneScannerProps) {
  const { t } = useTranslation()
  const video = useRef<HTMLVideoElement>(null)
  const [attempt, setAttempt] = useState(0)
  const { state, cameraOn, stop } = useCameraScan(video, attempt)
  const onScannedRef = useRef(onScanned)
  useEffect(() => {
    onScannedRef.current = onScanned
  })
  // Each completed scan is imported once (a new state object per scan).
  useEffect(() => {
    if (state.kind === 'complete') void onScannedRef.current(state.text)
  }, [state])

  const close = (): void => {
    stop()
    onClose()
  }

  return (
    <section className="scanner" aria-labelledby="scanner-title" data-testid="phone-scanner" data-state={state.kind} data-camera={cameraOn ? 'on' : 'off'}>
      <h3 id="scanner-title" className="scanner__title">
        {t('scanner.title')}
      </h3>
      <div className={`scanner__view${state.kind === 'scanning' || state.kind === 'starting' ? '' : ' scanner__view--idle'}`}>
        <video ref={video} className="scanner__video" muted playsInline aria-label={t('scanner.preview')} />
        {(state.kind === 'scanning' || state.kind === 'starting') && <div className="scanner__guide" aria-hidden="true" />}
      </div>
      <div className="scanner__status" role="status" aria-live="polite">
        <ScanStatus state={state} />
      </div>
      <div className="scanner__actions">
        {(state.kind === 'complete' || state.kind === 'error') && (
          <button type="button" className="button button--secondary" onClick={() => setAttempt((n) => n + 1)}>
            {state.kind === 'complete' ? t('scanner.scanAnother') : t('scanner.retry')}
          </button>
        )}
        <button type="button" className="button button--secondary" onClick={close}>
          {state.kind === 'complete' ? t('scanner.done') : t('scanner.cancel')}
        </button>
      </div>
    </section>
  )
}

function ScanStatus({ state }: { state: ScanState }) {
  const { t } = useTranslation()
  switch (state.kind) {
    case 'starting':
      return (
        <p className="inline-status">
          <Spinner /> {t('scanner.starting')}
        </p>
      )
    case 'scanning':
      return (
        <>
          <p className="scanner__hint">{state.total > 1 ? t('scanner.progress', { have: state.have, total: state.total }) : t('scanner.aim')}</p>
          {state.total > 1 && <progress className="scanner__progress" max={state.total} value={state.have} aria-label={t('scanner.progressLabel')} />}
          {state.notice && (
            <p className="notice notice--warning" data-notice={state.notice}>
              {t(`scanner.notice.${state.notice}`)}
            </p>
          )}
        </>
      )
    case 'complete':
      return (
        <p className="notice notice--ok" data-testid="scan-complete">
          {t('scanner.complete', { count: state.parts })}
        </p>
      )
    case 'error':
      return (
        <p className="notice notice--error" data-problem={state.problem}>
          {t(`scanner.problem.${state.problem}`, { detail: state.detail ?? '' })}
        </p>
      )
  }
}
