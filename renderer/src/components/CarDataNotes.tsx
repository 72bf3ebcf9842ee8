/**
 * What the importer read inside each CarData ({timestamp, uin}): the UIN and how old it is,
 * with warnings — a UIN that differs from the file's, CarData older than the limit — that
 * never stop the import (PSA decides).
 */
import { useTranslation } from 'react-i18next'
import type { CarDataNoteView } from '../../../shared/ipc/contract'
import { formatDateTime } from '../format'
import '../scanner/scanner.css'

export function CarDataNotes({ notes }: { notes: CarDataNoteView[] }) {
  const { t, i18n } = useTranslation()
  if (notes.length === 0) return null
  return (
    <ul className="cardata-notes" aria-label={t('scanner.notesLabel')} data-testid="cardata-notes">
      {notes.map((note, index) => (
        <li key={`${note.source}-${index}`} className="cardata-notes__item">
          <span className="mono">{note.vin ?? note.source}</span>{' '}
          {t('scanner.note', { uin: note.uin, made: formatDateTime(note.timestamp, i18n.language), count: Math.max(note.ageDays, 0) })}
          {note.warnings.map((warning) => (
            <p key={warning.code} className="notice notice--warning" data-warning={warning.code}>
              {t(`scanner.warning.${warning.code}`, { days: note.ageDays })} <span className="cardata-notes__detail">{warning.message}</span>
            </p>
          ))}
        </li>
      ))}
    </ul>
  )
}
