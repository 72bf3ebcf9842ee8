/**
 * Full-screen handover view for the driver's phone: white background, the QR as large as
 * the window allows, the VIN under it. Esc or the button leaves; focus stays inside.
 */
import { useEffect, useRef } from 'react'
import { useTranslation } from 'react-i18next'

export interface HandoverModeProps {
  qrDataUrl: string
  vin: string
  onClose: () => void
}

export function HandoverMode({ qrDataUrl, vin, onClose }: HandoverModeProps) {
  const { t } = useTranslation()
  const dialogRef = useRef<HTMLDivElement>(null)
  const closeRef = useRef<HTMLButtonElement>(null)
  // The parent re-renders every second (countdown): keep the latest onClose without re-running the trap set-up.
  const onCloseRef = useRef(onClose)
  useEffect(() => {
    onCloseRef.current = onClose
  }, [onClose])

  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null
    closeRef.current?.focus()
    function onKey(event: KeyboardEvent): void {
      if (event.key === 'Escape') {
        event.preventDefault()
        onCloseRef.current()
        return
      }
      if (event.key === 'Tab') {
        // Trap: cycle between the focusable elements inside the dialog only.
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
    }
    document.addEventListener('keydown', onKey)
    document.body.classList.add('no-scroll')
    return () => {
      document.removeEventListener('keydown', onKey)
      document.body.classList.remove('no-scroll')
      opener?.focus()
    }
  }, [])

  return (
    <div className="handover-mode" role="dialog" aria-modal="true" aria-labelledby="handover-mode-title" ref={dialogRef} data-testid="handover-mode">
      <h2 id="handover-mode-title" className="visually-hidden">
        {t('handover.title')}
      </h2>
      <img className="handover-mode__qr" src={qrDataUrl} alt={t('token.qrAlt', { vin })} />
      <p className="handover-mode__vin mono">{vin}</p>
      <p className="handover-mode__hint">{t('handover.hint')}</p>
      <button type="button" className="button button--secondary handover-mode__close" ref={closeRef} onClick={onClose}>
        {t('handover.leave')}
      </button>
    </div>
  )
}
