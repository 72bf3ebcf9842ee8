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

  const field = (name: Field, label: string, value: string, onChange: (value: string) => void, input: InputProps = {}) => (
    <TextField id={`${id}-${FIELD_IDS[name]}`} label={label} value={value} onChange={onChange} missing={missing.includes(name)} input={input} />
  )

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
        {field('name', t('profile.name'), name, setName, { maxLength: 64, readOnly: existing !== undefined })}
        {environment === 'custom' && field('baseUrl', t('profile.baseUrl'), baseUrl, setBaseUrl, { type: 'url', placeholder: 'https://' })}
        {field('clientId', t('profile.clientId'), clientId, setClientId, { autoComplete: 'off', spellCheck: false })}
        {field('login', t('profile.login'), login, setLogin, { autoComplete: 'username', spellCheck: false })}
        {field('password', t('profile.password'), password, setPassword, {
          type: 'password',
          autoComplete: 'new-password',
          placeholder: existing?.hasPassword ? t('profile.passwordKeep') : '',
        })}
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

type Field = 'name' | 'baseUrl' | 'clientId' | 'login' | 'password'
/** The element ids' suffixes (kept as they were: tests and labels find the fields by them). */
const FIELD_IDS: Record<Field, string> = { name: 'name', baseUrl: 'url', clientId: 'client', login: 'login', password: 'password' }
type InputProps = Pick<React.InputHTMLAttributes<HTMLInputElement>, 'type' | 'maxLength' | 'readOnly' | 'placeholder' | 'autoComplete' | 'spellCheck'>

interface TextFieldProps {
  id: string
  label: string
  value: string
  onChange: (value: string) => void
  /** Left empty at the last submit: marked invalid, with the message below it. */
  missing: boolean
  input: InputProps
}

/** One labelled input of the form, with its "required" message. */
function TextField({ id, label, value, onChange, missing, input }: TextFieldProps) {
  const { t } = useTranslation()
  return (
    <div className="field">
      <label className="label" htmlFor={id}>
        {label}
      </label>
      <input
        id={id}
        className="input"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={missing || undefined}
        aria-describedby={missing ? `${id}-error` : undefined}
        {...input}
      />
      {missing && (
        <p id={`${id}-error`} className="field-error">
          {t('profile.required')}
        </p>
      )}
    </div>
  )
}
