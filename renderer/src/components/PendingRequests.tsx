/** The certificate requests waiting for Stellantis' answer: subject, when, key fingerprint (no key). */
import { useTranslation } from 'react-i18next'
import type { PendingRequestView } from '../../../shared/cert-request'
import { formatDateTime } from '../format'

export function PendingRequests({ pending }: { pending: PendingRequestView[] }) {
  const { t, i18n } = useTranslation()
  if (!pending.length) return null
  return (
    <ul className="pending-requests" data-testid="pending-requests">
      {pending.map((request) => (
        <li key={request.keyFingerprintSha256} className="notice notice--info pending-request">
          <p className="pending-request__title">{t('certRequest.pendingTitle')}</p>
          <dl className="facts">
            <dt>{t('certificate.subject')}</dt>
            <dd className="mono wrap">{request.subject}</dd>
            <dt>{t('certRequest.madeOn')}</dt>
            <dd>{formatDateTime(request.createdAt, i18n.language)}</dd>
            <dt>{t('certRequest.keyFingerprint')}</dt>
            <dd className="mono wrap">{request.keyFingerprintSha256}</dd>
          </dl>
        </li>
      ))}
    </ul>
  )
}
