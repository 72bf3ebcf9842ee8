import { useTranslation } from 'react-i18next'

/** Shown when a stored token ends before the planned handover window does (`coversPlan === false`). */
export function PlanWarning({ compact = false }: { compact?: boolean }) {
  const { t } = useTranslation()
  if (compact) {
    return (
      <span className="plan-warning" data-testid="plan-warning">
        {t('plan.warningShort')}
      </span>
    )
  }
  return (
    <p className="notice notice--warning" data-testid="plan-warning">
      <strong>{t('plan.warningTitle')}</strong> {t('plan.warning')}
    </p>
  )
}
