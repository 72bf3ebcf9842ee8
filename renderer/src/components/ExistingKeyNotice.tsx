/**
 * The Request screen's answer when nothing was sent because a key already covers the window:
 * this laptop's own live key ("Show that key"), or another laptop's in the fleet (who holds it
 * and until when). Either way "Request a new key anyway…" asks for a confirmation first, then
 * requests with forceNew (PSA cannot revoke the other key: it stays valid until it expires).
 */
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { HandoverDetail } from '../../../shared/ipc/contract'
import type { ErrorView } from '../api'
import { outlivesWindow } from '../../../shared/duration'
import { formatDateTime } from '../format'

/** `windowEnd`: the end of the window asked, which this laptop's key may outlive. */
export type ExistingKey = { kind: 'mine'; key: HandoverDetail; windowEnd: string } | { kind: 'fleet'; holder: NonNullable<ErrorView['details']['holder']> }

export interface ExistingKeyNoticeProps {
  existing: ExistingKey
  vin: string
  onShow: (key: HandoverDetail) => void
  onRequestNew: () => void
}

/** The reused key works beyond the window asked (as vkey token warns). */
function outlives({ key, windowEnd }: { key: HandoverDetail; windowEnd: string }): boolean {
  return outlivesWindow(Date.parse(key.expires ?? ''), Date.parse(windowEnd))
}

export function ExistingKeyNotice({ existing, vin, onShow, onRequestNew }: ExistingKeyNoticeProps) {
  const { t, i18n } = useTranslation()
  const [confirm, setConfirm] = useState(false)
  let text: string
  if (existing.kind === 'mine') text = t('request.reused', { vin, until: formatDateTime(existing.key.expires ?? '', i18n.language), id: existing.key.id })
  else if (existing.holder.expires)
    text = t('request.fleetHeld', {
      vin,
      until: formatDateTime(existing.holder.expires, i18n.language),
      technician: existing.holder.technician,
      laptop: existing.holder.laptop,
    })
  else text = t('request.fleetInFlight', { vin, technician: existing.holder.technician, laptop: existing.holder.laptop })
  // A request in flight on another laptop is waited for, not raced.
  const canAskNew = existing.kind === 'mine' || Boolean(existing.holder.expires)
  return (
    <section className="notice notice--info" role="status" data-testid={existing.kind === 'mine' ? 'request-reused' : 'request-fleet-held'}>
      <p>{text}</p>
      {existing.kind === 'mine' && outlives(existing) && (
        <p className="plan-warning" data-testid="reused-longer">
          {t('request.reusedLonger', {
            asked: formatDateTime(existing.windowEnd, i18n.language),
            until: formatDateTime(existing.key.expires ?? '', i18n.language),
          })}
        </p>
      )}
      <div className="button-row">
        {existing.kind === 'mine' && (
          <button type="button" className="button button--primary" onClick={() => onShow(existing.key)}>
            {t('request.showExisting')}
          </button>
        )}
        {canAskNew &&
          (confirm ? (
            <>
              <strong>{existing.kind === 'mine' ? t('request.confirmNew') : t('request.confirmNewFleet')}</strong>
              <button type="button" className="button button--danger" onClick={onRequestNew}>
                {t('request.confirmNewButton')}
              </button>
            </>
          ) : (
            <button type="button" className="button button--secondary" onClick={() => setConfirm(true)}>
              {t('request.askNew')}
            </button>
          ))}
      </div>
    </section>
  )
}
