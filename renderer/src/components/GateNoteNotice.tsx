/** The fleet's word on a key just issued: it supersedes another laptop's key, or the fleet could not be asked. */
import type { TFunction } from 'i18next'
import { useTranslation } from 'react-i18next'
import type { GateNote } from '../../../shared/ipc/fleet-contract'
import { formatDateTime } from '../format'

/** The note in the user's language (the token screen, and a batch's row). */
export function gateNoteText(note: GateNote, t: TFunction, language: string): string {
  if (note.kind === 'supersedes-other')
    return t('token.gateSupersedes', { technician: note.technician, laptop: note.laptop, end: formatDateTime(note.expires, language) })
  return note.kind === 'reuse-unchecked' ? t('token.gateReuseUnchecked') : t('token.gateUnreachable')
}

export function GateNoteNotice({ note }: { note: GateNote }) {
  const { t, i18n } = useTranslation()
  const text = gateNoteText(note, t, i18n.language)
  return (
    <p className="notice notice--warning" role="note" data-testid="gate-note">
      {text}
    </p>
  )
}
