/** The fleet's word on a key just issued: it supersedes another laptop's key, or the fleet could not be asked. */
import { useTranslation } from 'react-i18next'
import type { GateNote } from '../../../shared/ipc/fleet-contract'
import { formatDateTime } from '../format'

export function GateNoteNotice({ note }: { note: GateNote }) {
  const { t, i18n } = useTranslation()
  const text =
    note.kind === 'supersedes-other'
      ? t('token.gateSupersedes', { technician: note.technician, laptop: note.laptop, end: formatDateTime(note.expires, i18n.language) })
      : note.kind === 'reuse-unchecked'
        ? t('token.gateReuseUnchecked')
        : t('token.gateUnreachable')
  return (
    <p className="notice notice--warning" role="note" data-testid="gate-note">
      {text}
    </p>
  )
}
