/**
 * The shell: a left navigation and one screen at a time. The first run (no profile yet)
 * opens Settings, which shows the welcome panel; otherwise the app opens on Vehicles.
 */
import { useCallback, useEffect, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { IssuedKey, ProfileView } from '../../shared/ipc/contract'
import { toErrorView, unwrap, vkey, type ErrorView } from './api'
import { useBatchProgress } from './batch'
import { ErrorPanel } from './components/ErrorPanel'
import { NavIcon } from './components/NavIcon'
import { QueueBanner } from './components/QueueBanner'
import type { RequestTrigger } from './components/CertificateRequests'
import { RenewalBanner } from './components/RenewalBanner'
import { Spinner } from './components/Spinner'
import { isVaultRecoverable, VaultRecovery } from './components/VaultRecovery'
import { activeProfile } from './connection'
import { HistoryScreen } from './screens/HistoryScreen'
import { RequestScreen } from './screens/RequestScreen'
import { SettingsScreen } from './screens/SettingsScreen'
import { TokenScreen } from './screens/TokenScreen'
import { VehiclesScreen } from './screens/VehiclesScreen'

export type Screen = 'vehicles' | 'request' | 'token' | 'history' | 'settings'

const NAV: Screen[] = ['vehicles', 'request', 'token', 'history', 'settings']

export function App() {
  const { t } = useTranslation()
  const [screen, setScreen] = useState<Screen | null>(null)
  const [profiles, setProfiles] = useState<ProfileView[] | null>(null)
  const [selectedId, setSelectedId] = useState<string | null>(null)
  const [loadError, setLoadError] = useState<ErrorView | null>(null)
  const [renewal, setRenewal] = useState<RequestTrigger | null>(null)
  /** The key the request screen just received, for the token screen to show; dropped as soon as that screen is left. */
  const [issued, setIssued] = useState<IssuedKey | null>(null)
  const mainRef = useRef<HTMLElement>(null)
  const batch = useBatchProgress()

  // "Renew now" opens the wizard once: leaving Settings forgets it.
  useEffect(() => {
    if (screen !== 'settings') setRenewal(null)
    if (screen !== 'token') setIssued(null)
  }, [screen])

  const reloadProfiles = useCallback(async (): Promise<ProfileView[]> => {
    const { profiles: list } = await unwrap(vkey().listProfiles(undefined))
    setProfiles(list)
    return list
  }, [])

  useEffect(() => {
    reloadProfiles()
      .then((list) => setScreen(list.length === 0 ? 'settings' : 'vehicles'))
      .catch((error: unknown) => setLoadError(toErrorView(error)))
  }, [reloadProfiles])

  // After a vault reset: profiles kept their settings and need their password and certificate again.
  const recovered = useCallback(() => {
    setLoadError(null)
    reloadProfiles()
      .then(() => setScreen('settings'))
      .catch((error: unknown) => setLoadError(toErrorView(error)))
  }, [reloadProfiles])

  const go = useCallback((next: Screen) => {
    setScreen(next)
    // Move focus to the new screen's heading so keyboard and screen-reader users land there.
    requestAnimationFrame(() => mainRef.current?.querySelector<HTMLElement>('h1')?.focus())
  }, [])

  const selectVehicle = useCallback(
    (id: string, target: Screen = 'request') => {
      setSelectedId(id)
      go(target)
    },
    [go],
  )

  const active = activeProfile(profiles)

  function isDisabled(item: Screen): boolean {
    return (item === 'request' || item === 'token') && selectedId === null
  }

  return (
    <div className="shell">
      <Sidebar screen={screen} active={active} profiles={profiles} isDisabled={isDisabled} onGo={go} />
      <main className="content" ref={mainRef}>
        {loadError && isVaultRecoverable(loadError.code) && <VaultRecovery error={loadError} onDone={recovered} />}
        {loadError && !isVaultRecoverable(loadError.code) && <ErrorPanel error={loadError} />}
        {!loadError && screen === null && (
          <p className="loading">
            <Spinner /> {t('common.loading')}
          </p>
        )}
        {screen !== null && (
          <RenewalBanner
            profiles={profiles}
            onRenew={(name) => {
              setRenewal({ profile: name, nonce: Date.now() })
              go('settings')
            }}
          />
        )}
        {screen !== null && screen !== 'settings' && <QueueBanner refreshKey={screen} />}
        {screen === 'vehicles' && (
          <VehiclesScreen
            profiles={profiles ?? []}
            onSelect={(id) => selectVehicle(id, 'request')}
            onOpenToken={(id) => selectVehicle(id, 'token')}
            onOpenSettings={() => go('settings')}
            batch={batch}
          />
        )}
        {screen === 'request' && selectedId && (
          <RequestScreen
            handoverId={selectedId}
            onIssued={(key) => {
              setIssued(key)
              selectVehicle(key.id, 'token')
            }}
            onBack={() => go('vehicles')}
            onOpenSettings={() => go('settings')}
          />
        )}
        {screen === 'token' && selectedId && (
          <TokenScreen key={selectedId} handoverId={selectedId} issued={issued ?? undefined} profiles={profiles ?? []} onRequestAgain={() => go('request')} />
        )}
        {screen === 'history' && <HistoryScreen onOpen={(id, hasToken) => selectVehicle(id, hasToken ? 'token' : 'request')} />}
        {screen === 'settings' && profiles && (
          <SettingsScreen profiles={profiles} reloadProfiles={reloadProfiles} onDone={() => go('vehicles')} requestFor={renewal} />
        )}
      </main>
    </div>
  )
}

/** The active profile in the side panel: its name, and its environment when the name does not already say it. */
function ProfileChip({ profile }: { profile: ProfileView }) {
  const { t } = useTranslation()
  const environment = t(`environment.${profile.environment}`)
  // "Simulator" named after its environment reads once, in either language.
  const name = profile.name.trim().toLowerCase()
  const sameWords = ['en', 'fr'].some((lng) => t(`environment.${profile.environment}`, { lng }).toLowerCase() === name)
  return (
    <p className="profile-chip" data-testid="profile-chip">
      <span className="profile-chip__label">{t('nav.activeProfile')}</span>
      <span className="profile-chip__name">{profile.name}</span>
      {!sameWords && <span className="profile-chip__env">{environment}</span>}
    </p>
  )
}

interface SidebarProps {
  screen: Screen | null
  active: ProfileView | undefined
  profiles: ProfileView[] | null
  isDisabled: (item: Screen) => boolean
  onGo: (item: Screen) => void
}

/** The navigation: the screens, and the active profile at the foot. */
function Sidebar({ screen, active, profiles, isDisabled, onGo }: SidebarProps) {
  const { t } = useTranslation()
  return (
    <nav className="sidebar" aria-label={t('nav.label')}>
      <div className="brand">
        <span className="brand__mark" aria-hidden="true">
          VK
        </span>
        <span className="brand__name">VK Depot</span>
      </div>
      <ul className="nav">
        {NAV.map((item) => (
          <li key={item}>
            <button
              type="button"
              className="nav__item"
              aria-current={screen === item ? 'page' : undefined}
              disabled={isDisabled(item)}
              onClick={() => onGo(item)}
              data-screen={item}
            >
              <NavIcon name={item} />
              {t(`nav.${item}`)}
            </button>
          </li>
        ))}
      </ul>
      <div className="sidebar__footer">
        {active ? <ProfileChip profile={active} /> : profiles && <p className="profile-chip profile-chip--empty">{t('nav.noProfile')}</p>}
      </div>
    </nav>
  )
}
