/** Where a vehicle came from, as the screens write it: a file's name, or pasted text in the reader's language. */
import type { TFunction } from 'i18next'

/** The name the import gives pasted text (ImportCard), stored as the record's source. */
export const PASTED_SOURCE = 'pasted'

export function sourceLabel(source: string, t: TFunction): string {
  return source === PASTED_SOURCE ? t('vehicles.pastedSource') : source
}
