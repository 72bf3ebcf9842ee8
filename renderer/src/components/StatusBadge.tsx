import { useTranslation } from 'react-i18next'
import type { HandoverStatus } from '../../../shared/ipc/contract'

/**
 * A handover's status as a coloured pill (colour is never the only signal: the word is there).
 * A vehicle waiting for its first key reads "Ready" only when a connection can request it.
 */
export function StatusBadge({ status, connected = true }: { status: HandoverStatus; connected?: boolean }) {
  const { t } = useTranslation()
  const key = status === 'draft' && !connected ? 'draftNoConnection' : status
  return (
    <span className={`badge badge--${status}`} data-status-text={key}>
      {t(`status.${key}`)}
    </span>
  )
}
