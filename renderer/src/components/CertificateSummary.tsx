import { useTranslation } from 'react-i18next'
import { renewalState } from '../../../shared/cert-renewal'
import type { CertificateView } from '../../../shared/ipc/contract'
import { formatDateTime } from '../format'

/** Subject, issuer and days left; amber from 60 days before the end, red from 10 days, red and blocking when expired. */
export function CertificateSummary({ certificate }: { certificate: CertificateView }) {
  const { t, i18n } = useTranslation()
  const { status, daysLeft } = certificate
  // Amber until the last renewal warning, then red, like the banner (shared/cert-renewal.ts).
  const tone = status === 'valid' ? 'ok' : status === 'expiring' && renewalState(daysLeft).tone === 'amber' ? 'warning' : 'danger'
  const state =
    status === 'valid'
      ? t('certificate.daysLeft', { count: daysLeft })
      : status === 'expiring'
        ? t('certificate.expiringSoon', { count: daysLeft })
        : status === 'expired'
          ? t('certificate.expired', { count: Math.abs(daysLeft) })
          : t('certificate.notYetValid', { date: formatDateTime(certificate.notBefore, i18n.language) })
  return (
    <div className={`certificate certificate--${tone}`} data-status={status}>
      <dl className="facts">
        <dt>{t('certificate.subject')}</dt>
        <dd className="mono wrap">{certificate.subject}</dd>
        <dt>{t('certificate.issuer')}</dt>
        <dd className="mono wrap">{certificate.issuer}</dd>
        <dt>{t('certificate.validUntil')}</dt>
        <dd>{formatDateTime(certificate.notAfter, i18n.language)}</dd>
      </dl>
      <p className={`certificate__state pill pill--${tone}`}>{state}</p>
      {(status === 'expired' || status === 'not-yet-valid') && (
        <p className="certificate__blocking" role="note">
          {t('certificate.blocking')}
        </p>
      )}
    </div>
  )
}
