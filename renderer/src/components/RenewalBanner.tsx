/**
 * The certificate renewal banner, on every screen: amber from 60 and 30 days before expiry,
 * red from 10 days and once expired (the thresholds are shared/cert-renewal.ts). "Renew now"
 * opens the certificate request wizard with the same subject.
 */
import { useTranslation } from 'react-i18next'
import { renewalState } from '../../../shared/cert-renewal'
import type { ProfileView } from '../../../shared/ipc/contract'
import { formatDateTime } from '../format'

export interface RenewalBannerProps {
  profiles: ProfileView[] | null
  onRenew: (profile: string) => void
}

export function RenewalBanner({ profiles, onRenew }: RenewalBannerProps) {
  const { t, i18n } = useTranslation()
  const due = (profiles ?? []).flatMap((profile) => {
    const cert = profile.certificate
    if (!cert || cert.status === 'not-yet-valid') return []
    const state = renewalState(cert.daysLeft, cert.status === 'expired')
    return state.level === 'none' ? [] : [{ profile, cert, state }]
  })
  if (!due.length) return null
  return (
    <>
      {due.map(({ profile, cert, state }) => {
        const titleId = `renewal-${profile.name.replace(/[^A-Za-z0-9_-]/g, '_')}`
        const date = formatDateTime(cert.notAfter, i18n.language)
        const expired = state.level === 'expired'
        return (
          <section
            key={profile.name}
            className={`renewal-banner renewal-banner--${state.tone}`}
            role={state.tone === 'red' ? 'alert' : 'status'}
            aria-labelledby={titleId}
            data-testid="renewal-banner"
            data-level={state.level}
            data-tone={state.tone}
          >
            <span className="renewal-banner__icon" aria-hidden="true" />
            <div className="renewal-banner__body">
              <p id={titleId} className="renewal-banner__title">
                {expired ? t('renewal.titleExpired') : t('renewal.title', { count: cert.daysLeft })}
              </p>
              <p className="renewal-banner__text">
                {expired
                  ? t('renewal.textExpired', { profile: profile.name, date })
                  : t('renewal.text', { profile: profile.name, login: cert.commonName ?? profile.login, date })}
              </p>
            </div>
            <div className="renewal-banner__actions">
              <button type="button" className={`button ${state.tone === 'red' ? 'button--danger' : 'button--primary'}`} onClick={() => onRenew(profile.name)}>
                {t('renewal.renewNow')}
              </button>
            </div>
          </section>
        )
      })}
    </>
  )
}
