/**
 * Settings → Fleet: join the fleet's PostgreSQL server (address, laptop name, role, password,
 * and the administrator's CA for a private one), see whether this laptop is joined, when it
 * last synced and how many entries wait to be pushed, and leave. The password goes to the
 * main process once and is never shown again (no channel sends it back).
 */
import { useCallback, useEffect, useId, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { OutputOf } from '../../../shared/ipc/contract'
import type { FleetStatusView } from '../../../shared/ipc/fleet-contract'
import { toErrorView, unwrap, vkey, type ErrorView } from '../api'
import { formatDateTime } from '../format'
import { ErrorPanel } from './ErrorPanel'
import { Loading } from './Loading'
import { Spinner } from './Spinner'

type Grant = OutputOf<'files:choose'>['files'][number]

export function FleetSettings() {
  const { t } = useTranslation()
  const [status, setStatus] = useState<FleetStatusView | null>(null)
  const [error, setError] = useState<ErrorView | null>(null)
  const [message, setMessage] = useState('')

  const load = useCallback(async () => {
    try {
      setStatus(await unwrap(vkey().fleetStatus(undefined)))
    } catch (failure) {
      setError(toErrorView(failure))
    }
  }, [])

  useEffect(() => {
    void load()
  }, [load])

  const joined = (value: FleetStatusView) => {
    setStatus(value)
    setMessage(t('fleet.joinedMessage', { laptop: value.laptop ?? '' }))
  }
  const left = (unpushed: number) => {
    setMessage(unpushed ? t('fleet.left', { count: unpushed }) : t('fleet.leftNothing'))
    void load()
  }

  return (
    <section className="card" aria-labelledby="fleet-title" data-testid="fleet-settings">
      <h2 id="fleet-title" className="card__title">
        {t('fleet.title')}
      </h2>
      <p className="muted">{t('fleet.lead')}</p>
      {status === null ? (
        <Loading />
      ) : status.joined ? (
        <FleetStatusFacts status={status} onLeft={left} onError={setError} />
      ) : (
        <FleetJoinForm onJoined={joined} onError={setError} />
      )}
      <p className="inline-status" role="status" data-testid="fleet-message">
        {message}
      </p>
      {error && <ErrorPanel error={error} onDismiss={() => setError(null)} />}
    </section>
  )
}

function FleetStatusFacts({ status, onLeft, onError }: { status: FleetStatusView; onLeft: (unpushed: number) => void; onError: (error: ErrorView) => void }) {
  const { t, i18n } = useTranslation()
  const [confirm, setConfirm] = useState(false)

  async function leave(): Promise<void> {
    try {
      const result = await unwrap(vkey().leaveFleet(undefined))
      onLeft(result.unpushed)
    } catch (failure) {
      onError(toErrorView(failure))
    }
  }

  return (
    <>
      <dl className="facts facts--two" data-testid="fleet-status">
        <dt>{t('fleet.status')}</dt>
        <dd className="wrap">{t('fleet.joinedAs', { server: status.server ?? '', laptop: status.laptop ?? '', user: status.user ?? '' })}</dd>
        <dt>{t('fleet.tls')}</dt>
        <dd>{status.tls === 'verify' ? t('fleet.tlsVerify') : t('fleet.tlsNone')}</dd>
        <dt>{t('fleet.lastSync')}</dt>
        <dd>{status.lastSync ? formatDateTime(status.lastSync, i18n.language) : t('fleet.never')}</dd>
        <dt>{t('fleet.waiting')}</dt>
        <dd>{t('fleet.waitingCount', { count: status.waiting })}</dd>
        {status.lastError && (
          <>
            <dt>{t('fleet.lastError')}</dt>
            <dd className="wrap">
              {formatDateTime(status.lastError.at, i18n.language)}: {status.lastError.message}
            </dd>
          </>
        )}
      </dl>
      <div className="button-row">
        {confirm ? (
          <>
            <strong>{t('fleet.confirmLeave')}</strong>
            <button type="button" className="button button--danger button--small" onClick={() => void leave()}>
              {t('fleet.confirmLeaveButton')}
            </button>
            <button type="button" className="button button--ghost button--small" onClick={() => setConfirm(false)}>
              {t('common.cancel')}
            </button>
          </>
        ) : (
          <button type="button" className="button button--ghost button--small" onClick={() => setConfirm(true)}>
            {t('fleet.leave')}
          </button>
        )}
      </div>
    </>
  )
}

function FleetJoinForm({ onJoined, onError }: { onJoined: (status: FleetStatusView) => void; onError: (error: ErrorView) => void }) {
  const { t } = useTranslation()
  const id = useId()
  const [fields, setFields] = useState({ url: '', laptop: '', user: '', password: '' })
  const [ca, setCa] = useState<Grant | null>(null)
  const [busy, setBusy] = useState(false)
  const set = (key: keyof typeof fields) => (event: React.ChangeEvent<HTMLInputElement>) => setFields((current) => ({ ...current, [key]: event.target.value }))

  async function chooseCa(): Promise<void> {
    try {
      const { files } = await unwrap(vkey().chooseFiles({ purpose: 'ca' }))
      if (files[0]) setCa(files[0])
    } catch (failure) {
      onError(toErrorView(failure))
    }
  }

  async function join(event: React.FormEvent): Promise<void> {
    event.preventDefault()
    setBusy(true)
    try {
      const status = await unwrap(vkey().joinFleet({ ...fields, ...(ca ? { ca: ca.grant } : {}) }))
      setFields({ url: '', laptop: '', user: '', password: '' })
      onJoined(status)
    } catch (failure) {
      onError(toErrorView(failure))
    } finally {
      setBusy(false)
    }
  }

  const field = (key: keyof typeof fields, label: string, help?: string, type = 'text') => (
    <div className="field">
      <label className="label" htmlFor={`${id}-${key}`}>
        {label}
      </label>
      <input
        id={`${id}-${key}`}
        className={`input${key === 'url' ? ' input--mono' : ''}`}
        type={type}
        autoComplete="off"
        spellCheck={false}
        required
        value={fields[key]}
        onChange={set(key)}
        aria-describedby={help ? `${id}-${key}-help` : undefined}
      />
      {help && (
        <p id={`${id}-${key}-help`} className="help">
          {help}
        </p>
      )}
    </div>
  )

  return (
    <form className="form-grid" onSubmit={(event) => void join(event)} aria-label={t('fleet.join')}>
      {field('url', t('fleet.server'), t('fleet.serverHelp'))}
      {field('laptop', t('fleet.laptop'), t('fleet.laptopHelp'))}
      {field('user', t('fleet.user'))}
      {field('password', t('fleet.password'), t('fleet.passwordHelp'), 'password')}
      <div className="field">
        <span className="label">{t('fleet.ca')}</span>
        <div className="file-pick">
          <button type="button" className="button button--secondary button--small" onClick={() => void chooseCa()}>
            {t('fleet.chooseCa')}
          </button>
          <span className="file-pick__name">{ca?.name ?? t('fleet.noCa')}</span>
        </div>
      </div>
      <div className="button-row">
        <button type="submit" className="button button--primary" disabled={busy || Object.values(fields).some((v) => !v.trim())}>
          {busy && <Spinner />} {busy ? t('fleet.joining') : t('fleet.join')}
        </button>
      </div>
    </form>
  )
}
