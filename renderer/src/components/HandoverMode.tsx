/**
 * Full-screen handover view for the driver's phone: white background, the QR as large as
 * the window allows, and beside it what the driver and the technician check at arm's
 * length: the VIN, the label (model, plate), when the key ends (local, with its zone) and
 * a live countdown. Keys from the simulator or pre-production carry a band saying so.
 * Esc or the button leaves; focus stays inside.
 */
import { useEffect, useRef, type RefObject } from 'react'
import { useTranslation } from 'react-i18next'
import type { Environment } from '../../../shared/profile'
import { formatDateTime } from '../format'
import { Countdown } from './Countdown'
import { EnvironmentBand } from './EnvironmentBand'

export interface HandoverModeProps {
  qrDataUrl: string
  vin: string
  label?: string | undefined
  /** The token's end (ISO). */
  expires: string
  environment?: Environment | undefined
  onClose: () => void
}

export function HandoverMode({ qrDataUrl, vin, label, expires, environment, onClose }: HandoverModeProps) {
  const { t, i18n } = useTranslation()
  const dialogRef = useRef<HTMLDivElement>(null)
  const closeRef = useRef<HTMLButtonElement>(null)
  useModalFocus(dialogRef, closeRef, onClose)

  return (
    <div className="handover-mode" role="dialog" aria-modal="true" aria-labelledby="handover-mode-title" ref={dialogRef} data-testid="handover-mode">
      <h2 id="handover-mode-title" className="visually-hidden">
        {t('handover.title')}
      </h2>
      <EnvironmentBand environment={environment} large />
      <div className="handover-mode__body">
        <img className="handover-mode__qr" src={qrDataUrl} alt={t('token.qrAlt', { vin })} />
        <dl className="handover-mode__facts">
          <dt>{t('vehicles.vin')}</dt>
          <dd className="handover-mode__vin mono" data-testid="handover-vin">
            {vin}
          </dd>
          {label && (
            <>
              <dt>{t('vehicles.label')}</dt>
              <dd className="handover-mode__label" data-testid="handover-label">
                {label}
              </dd>
            </>
          )}
          <dt>{t('handover.validUntil')}</dt>
          <dd className="handover-mode__expires" data-testid="handover-expires">
            <time dateTime={expires}>{formatDateTime(expires, i18n.language)}</time>
          </dd>
          <dd className="handover-mode__countdown">
            <Countdown expires={expires} />
          </dd>
        </dl>
      </div>
      <p className="handover-mode__hint">{t('handover.hint')}</p>
      <button type="button" className="button button--secondary handover-mode__close" ref={closeRef} onClick={onClose}>
        {t('handover.leave')}
      </button>
    </div>
  )
}

/** A modal's keyboard rules: focus starts on `first`, Tab cycles inside, Esc closes, focus returns to the opener. */
function useModalFocus(dialogRef: RefObject<HTMLElement | null>, firstRef: RefObject<HTMLElement | null>, onClose: () => void): void {
  // The parent re-renders every second (countdown): keep the latest onClose without re-running the set-up.
  const onCloseRef = useRef(onClose)
  useEffect(() => {
    onCloseRef.current = onClose
  }, [onClose])

  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null
    firstRef.current?.focus()
    function onKey(event: KeyboardEvent): void {
      if (event.key === 'Escape') {
        event.preventDefault()
        onCloseRef.current()
        return
      }
      if (event.key !== 'Tab') return
      const focusable = Array.from(dialogRef.current?.querySelectorAll<HTMLElement>('button, [href], input, [tabindex]:not([tabindex="-1"])') ?? [])
      const first = focusable[0]
      const last = focusable[focusable.length - 1]
      if (!first || !last) return
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault()
        last.focus()
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault()
        first.focus()
      } else if (!dialogRef.current?.contains(document.activeElement)) {
        event.preventDefault()
        first.focus()
      }
    }
    document.addEventListener('keydown', onKey)
    document.body.classList.add('no-scroll')
    return () => {
      document.removeEventListener('keydown', onKey)
      document.body.classList.remove('no-scroll')
      opener?.focus()
    }
  }, [dialogRef, firstRef])
}
