/**
 * Settings → Request a certificate: the subject (prefilled from the last request or the
 * current certificate, checked with the shared zod schema), then the save dialog for the CSR
 * and the next step, then the import of the signed certificate Stellantis sends back.
 * The key is made and sealed in the main process: the page never sees it.
 */
import { useEffect, useId, useRef, useState, type FormEvent } from 'react'
import { useTranslation } from 'react-i18next'
import { CsrSubjectFields, PARTNER_OU, type PendingRequestView } from '../../../shared/cert-request'
import { toErrorView, unwrap, vkey, type ErrorView } from '../api'
import { ErrorPanel } from './ErrorPanel'
import { PendingRequests } from './PendingRequests'
import { Spinner } from './Spinner'

type FieldName = keyof CsrSubjectFields
const FIELDS: FieldName[] = ['email', 'country', 'state', 'locality', 'organization']
type Form = Record<FieldName, string>
const EMPTY: Form = { email: '', country: '', state: '', locality: '', organization: '' }

export interface CertificateRequestWizardProps {
  profile: string
  onClose: () => void
  /** Called after a request was made or a certificate imported, so the lists refresh. */
  onChanged: () => Promise<unknown>
}

export function CertificateRequestWizard({ profile, onClose, onChanged }: CertificateRequestWizardProps) {
  const { t } = useTranslation()
  const titleId = useId()
  const headingRef = useRef<HTMLHeadingElement>(null)
  const [login, setLogin] = useState('')
  const [form, setForm] = useState<Form>(EMPTY)
  const [step, setStep] = useState<'details' | 'send' | 'done'>('details')
  const [made, setMade] = useState<{ fileName: string; pending: PendingRequestView } | null>(null)
  const [error, setError] = useState<ErrorView | null>(null)

  useEffect(() => {
    // After the navigation's own focus move (App.go), so keyboard users land in the wizard.
    const frame = requestAnimationFrame(() => {
      headingRef.current?.focus()
      headingRef.current?.scrollIntoView({ block: 'start' })
    })
    unwrap(vkey().certificateRequests({ profile }))
      .then(({ login: value, draft }) => {
        setLogin(value)
        setForm({ ...EMPTY, ...Object.fromEntries(Object.entries(draft).filter(([, v]) => v !== undefined)) })
      })
      .catch((failure: unknown) => setError(toErrorView(failure)))
    return () => cancelAnimationFrame(frame)
  }, [profile])

  const steps = ['details', 'send', 'done'] as const
  return (
    <section className="card wizard" aria-labelledby={titleId} data-testid="cert-request-wizard">
      <h3 id={titleId} className="card__title" tabIndex={-1} ref={headingRef}>
        {t('certRequest.title')}
      </h3>
      <ol className="wizard__steps">
        {steps.map((name, index) => (
          <li key={name} className="wizard__step" aria-current={step === name ? 'step' : undefined}>
            <span className="wizard__number">{index + 1}</span> {t(`certRequest.step.${name}`)}
          </li>
        ))}
      </ol>
      {step === 'details' && (
        <DetailsStep
          profile={profile}
          login={login}
          form={form}
          setForm={setForm}
          onError={setError}
          onCancel={onClose}
          onMade={async (result) => {
            setMade(result)
            setStep('send')
            await onChanged()
          }}
        />
      )}
      {step === 'send' && made && (
        <SendStep
          profile={profile}
          made={made}
          onError={setError}
          onClose={onClose}
          onImported={async () => {
            setStep('done')
            await onChanged()
          }}
        />
      )}
      {step === 'done' && (
        <div className="stack">
          <p className="notice notice--ok" role="status">
            {t('certRequest.imported')}
          </p>
          <div className="button-row">
            <button type="button" className="button button--primary" onClick={onClose}>
              {t('certRequest.close')}
            </button>
          </div>
        </div>
      )}
      {error && <ErrorPanel error={error} onDismiss={() => setError(null)} />}
    </section>
  )
}

interface DetailsStepProps {
  profile: string
  login: string
  form: Form
  setForm: (form: Form) => void
  onError: (error: ErrorView | null) => void
  onCancel: () => void
  onMade: (result: { fileName: string; pending: PendingRequestView }) => Promise<void>
}

function DetailsStep({ profile, login, form, setForm, onError, onCancel, onMade }: DetailsStepProps) {
  const { t } = useTranslation()
  const id = useId()
  const [invalid, setInvalid] = useState<FieldName[]>([])
  const [busy, setBusy] = useState(false)
  const [cancelled, setCancelled] = useState(false)

  async function submit(event: FormEvent): Promise<void> {
    event.preventDefault()
    onError(null)
    setCancelled(false)
    const parsed = CsrSubjectFields.safeParse(form)
    if (!parsed.success) {
      setInvalid([...new Set(parsed.error.issues.map((issue) => issue.path[0] as FieldName))])
      return
    }
    setInvalid([])
    setBusy(true)
    try {
      const result = await unwrap(vkey().requestCertificate({ profile, fields: parsed.data }))
      if (result.saved && result.pending) await onMade({ fileName: result.fileName ?? '', pending: result.pending })
      else setCancelled(true)
    } catch (failure) {
      onError(toErrorView(failure))
    } finally {
      setBusy(false)
    }
  }

  return (
    <form className="stack" onSubmit={(event) => void submit(event)} noValidate>
      <p className="muted">{t('certRequest.lead')}</p>
      <dl className="facts facts--two">
        <dt>{t('certRequest.commonName')}</dt>
        <dd className="mono" data-testid="csr-cn">
          CN={login}
        </dd>
        <dt>{t('certRequest.unit')}</dt>
        <dd className="mono">OU={PARTNER_OU}</dd>
      </dl>
      <div className="form-grid">
        {FIELDS.map((field) => (
          <div className="field" key={field}>
            <label className="label" htmlFor={`${id}-${field}`}>
              {t(`certRequest.field.${field}`)}
            </label>
            <input
              id={`${id}-${field}`}
              className="input"
              type={field === 'email' ? 'email' : 'text'}
              value={form[field]}
              maxLength={field === 'country' ? 2 : 128}
              autoComplete="off"
              aria-invalid={invalid.includes(field) || undefined}
              aria-describedby={invalid.includes(field) ? `${id}-${field}-error` : `${id}-${field}-help`}
              onChange={(event) => setForm({ ...form, [field]: event.target.value })}
            />
            {invalid.includes(field) ? (
              <p id={`${id}-${field}-error`} className="field-error">
                {t(`certRequest.invalid.${field}`)}
              </p>
            ) : (
              <p id={`${id}-${field}-help`} className="help">
                {t(`certRequest.help.${field}`)}
              </p>
            )}
          </div>
        ))}
      </div>
      <p className="inline-status" role="status">
        {cancelled ? t('certRequest.cancelled') : ''}
      </p>
      <div className="button-row">
        <button type="submit" className="button button--primary" disabled={busy || !login}>
          {busy && <Spinner />} {t('certRequest.make')}
        </button>
        <button type="button" className="button button--ghost" onClick={onCancel}>
          {t('common.cancel')}
        </button>
      </div>
    </form>
  )
}

interface SendStepProps {
  profile: string
  made: { fileName: string; pending: PendingRequestView }
  onError: (error: ErrorView | null) => void
  onClose: () => void
  onImported: () => Promise<void>
}

function SendStep({ profile, made, onError, onClose, onImported }: SendStepProps) {
  const { t } = useTranslation()
  const [busy, setBusy] = useState(false)

  async function importAnswer(): Promise<void> {
    onError(null)
    try {
      const { files } = await unwrap(vkey().chooseFiles({ purpose: 'certificate' }))
      const file = files[0]
      if (!file) return
      setBusy(true)
      await unwrap(vkey().importCertificate({ profile, certificate: file.grant }))
      await onImported()
    } catch (failure) {
      onError(toErrorView(failure))
    } finally {
      setBusy(false)
    }
  }

  return (
    <div className="stack">
      <p className="notice notice--ok" role="status" data-testid="csr-saved">
        {t('certRequest.saved', { file: made.fileName })}
      </p>
      <div className="next-step">
        <h4 className="subheading">{t('certRequest.nextTitle')}</h4>
        <p>{t('certRequest.next', { email: made.pending.fields.email })}</p>
        <p className="muted">{t('certRequest.oldKeepsWorking')}</p>
      </div>
      <PendingRequests pending={[made.pending]} />
      <div className="button-row">
        <button type="button" className="button button--primary" onClick={() => void importAnswer()} disabled={busy}>
          {busy && <Spinner />} {t('certRequest.importAnswer')}
        </button>
        <button type="button" className="button button--ghost" onClick={onClose}>
          {t('certRequest.later')}
        </button>
      </div>
    </div>
  )
}
