/**
 * Create or edit a connection profile. The password field is write-only: the view only
 * knows whether one is saved, and an empty field keeps the saved one.
 */
import { useId, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { ProfileView } from '../../../shared/ipc/contract'
import { toErrorView, unwrap, vkey, type ErrorView } from '../api'
import { ErrorPanel } from './ErrorPanel'

type Environment = 'preprod' | 'prod' | 'custom'

export interface ProfileFormProps {
  existing?: ProfileView
  makeDefault?: boolean
  onSaved: (profile: ProfileView) => void
  onCancel?: () => void
}

export function ProfileForm({ existing, makeDefault, onSaved, onCancel }: ProfileFormProps) {
  const { t } = useTranslation()
  const id = useId()
  const [name, setName] = useState(existing?.name ?? '')
  const [environment, setEnvironment] = useState<Environment>(existing && existing.environment !== 'simulator' ? existing.environment : 'preprod')
  const [baseUrl, setBaseUrl] = useState(existing?.environment === 'custom' ? existing.baseUrl : '')
  const [clientId, setClientId] = useState(existing?.clientId ?? '')
  const [login, setLogin] = useState(existing?.login ?? '')
  const [password, setPassword] = useState('')
  const [missing, setMissing] = useState<string[]>([])
  const [error, setError] = useState<ErrorView | null>(null)
  const [saving, setSaving] = useState(false)

  async function submit(event: React.FormEvent): Promise<void> {
    event.preventDefault()
    const empty = [
      ['name', name],
      ['clientId', clientId],
      ['login', login],
      ...(environment === 'custom' ? [['baseUrl', baseUrl]] : []),
      ...(existing?.hasPassword ? [] : [['password', password]]),
    ]
      .filter(([, value]) => !value?.trim())
      .map(([field]) => field ?? '')
    setMissing(empty)
    if (empty.length > 0) return
    setSaving(true)
    setError(null)
    try {
      const saved = await unwrap(
        vkey().saveProfile({
          name: name.trim(),
          environment,
          ...(environment === 'custom' ? { baseUrl: baseUrl.trim() } : {}),
          clientId: clientId.trim(),
          login: login.trim(),
          ...(password ? { password } : {}),
          ...(makeDefault ? { makeDefault: true } : {}),
        }),
      )
      setPassword('')
      onSaved(saved)
    } catch (failure) {
      setError(toErrorView(failure))
    } finally {
      setSaving(false)
    }
  }

  const fieldProps = (field: string) => ({
    'aria-invalid': missing.includes(field) || undefined,
    'aria-describedby': missing.includes(field) ? `${id}-${field}-error` : undefined,
  })
  const fieldError = (field: string) =>
    missing.includes(field) ? (
      <p id={`${id}-${field}-error`} className="field-error">
        {t('profile.required')}
      </p>
    ) : null

  return (
    <form className="profile-form" onSubmit={(event) => void submit(event)} noValidate>
      <fieldset className="fieldset">
        <legend className="label">{t('profile.environment')}</legend>
        <div className="segmented">
          {(['preprod', 'prod', 'custom'] as const).map((env) => (
            <label key={env} className="segmented__option">
              <input type="radio" name={`${id}-env`} value={env} checked={environment === env} onChange={() => setEnvironment(env)} />
              <span>{t(`environment.${env}`)}</span>
            </label>
          ))}
        </div>
      </fieldset>
      <div className="form-grid">
        <div className="field">
          <label className="label" htmlFor={`${id}-name`}>
            {t('profile.name')}
          </label>
          <input id={`${id}-name`} className="input" value={name} maxLength={64} readOnly={existing !== undefined} onChange={(e) => setName(e.target.value)} {...fieldProps('name')} />
          {fieldError('name')}
        </div>
        {environment === 'custom' && (
          <div className="field">
            <label className="label" htmlFor={`${id}-url`}>
              {t('profile.baseUrl')}
            </label>
            <input id={`${id}-url`} className="input" type="url" value={baseUrl} placeholder="https://" onChange={(e) => setBaseUrl(e.target.value)} {...fieldProps('baseUrl')} />
            {fieldError('baseUrl')}
          </div>
        )}
        <div className="field">
          <label className="label" htmlFor={`${id}-client`}>
            {t('profile.clientId')}
          </label>
          <input id={`${id}-client`} className="input" value={clientId} autoComplete="off" spellCheck={false} onChange={(e) => setClientId(e.target.value)} {...fieldProps('clientId')} />
          {fieldError('clientId')}
        </div>
        <div className="field">
          <label className="label" htmlFor={`${id}-login`}>
            {t('profile.login')}
          </label>
          <input id={`${id}-login`} className="input" value={login} autoComplete="username" spellCheck={false} onChange={(e) => setLogin(e.target.value)} {...fieldProps('login')} />
          {fieldError('login')}
        </div>
        <div className="field">
          <label className="label" htmlFor={`${id}-password`}>
            {t('profile.password')}
          </label>
          <input
            id={`${id}-password`}
            className="input"
            type="password"
            value={password}
            autoComplete="new-password"
            placeholder={existing?.hasPassword ? t('profile.passwordKeep') : ''}
            onChange={(e) => setPassword(e.target.value)}
            {...fieldProps('password')}
          />
          {fieldError('password')}
        </div>
      </div>
      {error && <ErrorPanel error={error} onDismiss={() => setError(null)} />}
      <div className="button-row">
        <button type="submit" className="button button--primary" disabled={saving}>
          {t('profile.save')}
        </button>
        {onCancel && (
          <button type="button" className="button button--ghost" onClick={onCancel}>
            {t('common.cancel')}
          </button>
        )}
      </div>
    </form>
  )
}
