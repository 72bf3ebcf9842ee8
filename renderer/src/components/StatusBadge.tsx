import { useTranslation } from 'react-i18next'
import type { HandoverStatus } from '../../../shared/ipc/contract'

/** A handover's status as a coloured pill (colour is never the only signal: the word is there). */
export function StatusBadge({ status }: { status: HandoverStatus }) {
  const { t } = useTranslation()
  return <span className={`badge badge--${status}`}>{t(`status.${status}`)}</span>
}
