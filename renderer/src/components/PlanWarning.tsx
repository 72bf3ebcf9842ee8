import { useTranslation } from 'react-i18next'

/** Shown when a stored token ends before the planned handover window does (`coversPlan === false`). */
export function PlanWarning({ compact = false, onRequest }: { compact?: boolean; onRequest?: () => void }) {
  const { t } = useTranslation()
  if (compact) {
    return (
      <span className="plan-warning" data-testid="plan-warning">
        {t('plan.warningShort')}
      </span>
    )
  }
  return (
    <div className="notice notice--warning notice--with-action" data-testid="plan-warning">
      <p>
        <strong>{t('plan.warningTitle')}</strong> {t('plan.warning')}
      </p>
      {onRequest && (
        <button type="button" className="button button--secondary button--small" onClick={onRequest}>
          {t('plan.request')}
        </button>
      )}
    </div>
  )
}
