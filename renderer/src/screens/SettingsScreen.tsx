/**
 * Settings: the first-run welcome (simulator or a real connection), connection profiles with
 * their certificates, the fleet (FleetSettings), and preferences (language, clipboard clearing).
 */
import { useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { ProfileView, Settings } from '../../../shared/ipc/contract'
import { toErrorView, unwrap, vkey, type ErrorView } from '../api'
import { CertificateImport } from '../components/CertificateImport'
import { CertificateRequests, type RequestTrigger } from '../components/CertificateRequests'
import { CertificateSummary } from '../components/CertificateSummary'
import { ErrorPanel } from '../components/ErrorPanel'
import { FleetSettings } from '../components/FleetSettings'
import { ProfileForm } from '../components/ProfileForm'
import { Spinner } from '../components/Spinner'
import { applyLocaleSetting, type LocaleSetting } from '../i18n'

export interface SettingsScreenProps {
  profiles: ProfileView[]
  reloadProfiles: () => Promise<ProfileView[]>
  onDone: () => void
  /** Set by the renewal banner's "Renew now": opens that profile's certificate request wizard. */
  requestFor?: RequestTrigger | null
}

export function SettingsScreen({ profiles, reloadProfiles, onDone, requestFor }: SettingsScreenProps) {
  const { t } = useTranslation()
  const [adding, setAdding] = useState(false)
  const [error, setError] = useState<ErrorView | null>(null)
  const [startingSimulator, setStartingSimulator] = useState(false)
  const firstRun = profiles.length === 0

  async function trySimulator(): Promise<void> {
    setStartingSimulator(true)
    setError(null)
    try {
      await unwrap(vkey().trySimulator(undefined))
      await reloadProfiles()
    } catch (failure) {
      setError(toErrorView(failure))
    } finally {
      setStartingSimulator(false)
    }
  }

  return (
    <div className="screen">
      <header className="screen__header">
        <h1 tabIndex={-1}>{firstRun ? t('firstRun.title') : t('settings.title')}</h1>
        <p className="screen__lead">{firstRun ? t('firstRun.lead') : t('settings.lead')}</p>
      </header>

      {firstRun && (
        <div className="first-run" data-testid="first-run">
          <section className="card card--feature" aria-labelledby="simulator-title">
            <h2 id="simulator-title" className="card__title">
              {t('firstRun.simulatorTitle')}
            </h2>
            <p>{t('firstRun.simulatorText')}</p>
            <button type="button" className="button button--primary button--hero" onClick={() => void trySimulator()} disabled={startingSimulator}>
              {startingSimulator && <Spinner />} {t('firstRun.trySimulator')}
            </button>
          </section>
          <section className="card" aria-labelledby="real-title">
            <h2 id="real-title" className="card__title">
              {t('firstRun.realTitle')}
            </h2>
            <p className="muted">{t('firstRun.realText')}</p>
            <ProfileForm makeDefault onSaved={() => void reloadProfiles()} />
          </section>
        </div>
      )}

      {error && <ErrorPanel error={error} onDismiss={() => setError(null)} />}

      {!firstRun && (
        <section aria-labelledby="profiles-title" className="stack">
          <div className="section-header">
            <h2 id="profiles-title" className="section-title">
              {t('settings.profiles')}
            </h2>
            {!adding && (
              <button type="button" className="button button--secondary button--small" onClick={() => setAdding(true)}>
                {t('settings.addProfile')}
              </button>
            )}
          </div>
          {adding && (
            <div className="card">
              <h3 className="card__title">{t('settings.newProfile')}</h3>
              <ProfileForm
                onSaved={() => {
                  setAdding(false)
                  void reloadProfiles()
                }}
                onCancel={() => setAdding(false)}
              />
            </div>
          )}
          {profiles.map((profile) => (
            <ProfileCard key={profile.name} profile={profile} reloadProfiles={reloadProfiles} onError={setError} requestFor={requestFor} />
          ))}
          <div className="button-row">
            <button type="button" className="button button--primary" onClick={onDone}>
              {t('settings.goToVehicles')}
            </button>
          </div>
        </section>
      )}

      {!firstRun && <FleetSettings />}
      <Preferences />
    </div>
  )
}

interface ProfileCardProps {
  profile: ProfileView
  reloadProfiles: () => Promise<ProfileView[]>
  onError: (error: ErrorView) => void
  requestFor?: RequestTrigger | null | undefined
}

function ProfileCard({ profile, reloadProfiles, onError, requestFor }: ProfileCardProps) {
  const { t } = useTranslation()
  const [editing, setEditing] = useState(false)
  const [confirmRemove, setConfirmRemove] = useState(false)
  const titleId = `profile-${profile.name.replace(/[^A-Za-z0-9_-]/g, '_')}`

  async function act(action: () => Promise<unknown>): Promise<void> {
    try {
      await action()
      await reloadProfiles()
    } catch (failure) {
      onError(toErrorView(failure))
    }
  }

  return (
    <article className={`card profile-card${profile.isDefault ? ' profile-card--active' : ''}`} aria-labelledby={titleId} data-profile={profile.name}>
      <header className="profile-card__header">
        <h3 id={titleId} className="card__title">
          {profile.name}
        </h3>
        <span className="pill pill--neutral">{t(`environment.${profile.environment}`)}</span>
        {profile.isDefault && <span className="pill pill--accent">{t('settings.active')}</span>}
        <div className="profile-card__actions">
          {!profile.isDefault && (
            <button
              type="button"
              className="button button--secondary button--small"
              onClick={() => void act(() => unwrap(vkey().activateProfile({ name: profile.name })))}
            >
              {t('settings.activate')}
            </button>
          )}
          {profile.environment !== 'simulator' && (
            <button type="button" className="button button--ghost button--small" aria-expanded={editing} onClick={() => setEditing((e) => !e)}>
              {t('settings.edit')}
            </button>
          )}
          {confirmRemove ? (
            <>
              <button
                type="button"
                className="button button--danger button--small"
                onClick={() => void act(() => unwrap(vkey().removeProfile({ name: profile.name })))}
              >
                {t('settings.confirmRemove')}
              </button>
              <button type="button" className="button button--ghost button--small" onClick={() => setConfirmRemove(false)}>
                {t('common.cancel')}
              </button>
            </>
          ) : (
            <button type="button" className="button button--ghost button--small" onClick={() => setConfirmRemove(true)}>
              {t('settings.remove')}
            </button>
          )}
        </div>
      </header>
      {editing ? (
        <ProfileForm
          existing={profile}
          onSaved={() => {
            setEditing(false)
            void reloadProfiles()
          }}
          onCancel={() => setEditing(false)}
        />
      ) : (
        <dl className="facts facts--two">
          <dt>{t('profile.baseUrl')}</dt>
          <dd className="mono wrap">{profile.baseUrl}</dd>
          <dt>{t('profile.clientId')}</dt>
          <dd className="mono wrap">{profile.clientId}</dd>
          <dt>{t('profile.login')}</dt>
          <dd>{profile.login}</dd>
          <dt>{t('profile.password')}</dt>
          <dd>{profile.hasPassword ? t('profile.passwordSaved') : t('profile.passwordMissing')}</dd>
          <dt>{t('profile.ca')}</dt>
          <dd>{profile.hasCa ? t('profile.caCustom') : t('profile.caSystem')}</dd>
        </dl>
      )}
      <div className="profile-card__certificate">
        <h4 className="subheading">{t('certificate.title')}</h4>
        {profile.certificate ? <CertificateSummary certificate={profile.certificate} /> : <p className="notice notice--warning">{t('certificate.none')}</p>}
        <CertificateRequests profile={profile.name} hasCertificate={Boolean(profile.certificate)} trigger={requestFor} onChanged={reloadProfiles} />
        <details className="disclosure">
          <summary>{profile.certificate ? t('certificate.replace') : t('certificate.add')}</summary>
          <CertificateImport profile={profile.name} onImported={reloadProfiles} />
        </details>
      </div>
    </article>
  )
}

function Preferences() {
  const { t } = useTranslation()
  const [settings, setSettings] = useState<Settings | null>(null)
  const [seconds, setSeconds] = useState('')
  const [error, setError] = useState<ErrorView | null>(null)
  const [message, setMessage] = useState('')

  useEffect(() => {
    unwrap(vkey().getSettings(undefined))
      .then((value) => {
        setSettings(value)
        setSeconds(String(value.clipboardClearSeconds))
      })
      .catch((failure: unknown) => setError(toErrorView(failure)))
  }, [])

  async function save(patch: Partial<Settings>): Promise<void> {
    setError(null)
    setMessage('')
    try {
      const value = await unwrap(vkey().setSettings(patch))
      setSettings(value)
      setSeconds(String(value.clipboardClearSeconds))
      if (patch.locale) await applyLocaleSetting(value.locale)
      setMessage(t('settings.saved'))
    } catch (failure) {
      setError(toErrorView(failure))
    }
  }

  const secondsNumber = Number(seconds)
  const secondsValid = Number.isInteger(secondsNumber) && secondsNumber >= 5 && secondsNumber <= 600

  return (
    <section className="card" aria-labelledby="preferences-title">
      <h2 id="preferences-title" className="card__title">
        {t('settings.preferences')}
      </h2>
      {settings && (
        <div className="form-grid">
          <div className="field">
            <label className="label" htmlFor="language">
              {t('settings.language')}
            </label>
            <select id="language" className="input select" value={settings.locale} onChange={(e) => void save({ locale: e.target.value as LocaleSetting })}>
              <option value="system">{t('settings.languageSystem')}</option>
              <option value="en" lang="en">
                English
              </option>
              <option value="fr" lang="fr">
                Français
              </option>
            </select>
          </div>
          <form
            className="field"
            onSubmit={(e) => {
              e.preventDefault()
              if (secondsValid) void save({ clipboardClearSeconds: secondsNumber })
            }}
          >
            <label className="label" htmlFor="clipboard-seconds">
              {t('settings.clipboardSeconds')}
            </label>
            <div className="field-inline">
              <input
                id="clipboard-seconds"
                className="input input--narrow"
                type="number"
                min={5}
                max={600}
                value={seconds}
                aria-invalid={!secondsValid || undefined}
                aria-describedby="clipboard-seconds-help"
                onChange={(e) => setSeconds(e.target.value)}
              />
              <button
                type="submit"
                className="button button--secondary button--small"
                disabled={!secondsValid || secondsNumber === settings.clipboardClearSeconds}
              >
                {t('common.save')}
              </button>
            </div>
            <p id="clipboard-seconds-help" className="help">
              {t('settings.clipboardHelp')}
            </p>
          </form>
        </div>
      )}
      <p className="inline-status" role="status">
        {message}
      </p>
      {error && <ErrorPanel error={error} onDismiss={() => setError(null)} />}
    </section>
  )
}
