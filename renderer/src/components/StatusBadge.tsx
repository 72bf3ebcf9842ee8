import { useTranslation } from 'react-i18next'
import type { HandoverStatus } from '../../../shared/ipc/contract'

/**
 * A handover's status as a coloured pill (colour is never the only signal: the word is there).
 * A vehicle waiting for its first key reads "Ready" only when it has a VIN and a connection
 * can request it.
 */
export function StatusBadge({ status, connected = true, hasVin = true }: { status: HandoverStatus; connected?: boolean; hasVin?: boolean }) {
  const { t } = useTranslation()
  const key = status !== 'draft' ? status : !hasVin ? 'draftNoVin' : !connected ? 'draftNoConnection' : status
  return (
    <span className={`badge badge--${status}`} data-status-text={key}>
      {t(`status.${key}`)}
    </span>
  )
}
