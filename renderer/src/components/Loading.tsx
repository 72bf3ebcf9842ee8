import { useTranslation } from 'react-i18next'
import { Spinner } from './Spinner'

/** "Loading…" with a spinner, where a screen's data has not arrived yet. */
export function Loading() {
  const { t } = useTranslation()
  return (
    <p className="loading">
      <Spinner /> {t('common.loading')}
    </p>
  )
}
