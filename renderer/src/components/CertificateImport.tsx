/**
 * Certificate import for one profile: a PKCS#12 (or PEM certificate plus an optional PEM
 * key), its passphrase, then the CA that signs PSA's server certificate if needed.
 * Files are chosen through the main side's dialog; the page only ever holds grants.
 */
import { useId, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { CertificateView, OutputOf } from '../../../shared/ipc/contract'
import { toErrorView, unwrap, vkey, type ErrorView } from '../api'
import { ErrorPanel } from './ErrorPanel'

type Grant = OutputOf<'files:choose'>['files'][number]

export interface CertificateImportProps {
  profile: string
  onImported: () => Promise<unknown>
}

export function CertificateImport({ profile, onImported }: CertificateImportProps) {
  const { t } = useTranslation()
  const id = useId()
  const [certificate, setCertificate] = useState<Grant | null>(null)
  const [key, setKey] = useState<Grant | null>(null)
  const [passphrase, setPassphrase] = useState('')
  const [error, setError] = useState<ErrorView | null>(null)
  const [message, setMessage] = useState('')
  const [busy, setBusy] = useState(false)

  async function choose(purpose: 'certificate' | 'key'): Promise<void> {
    setError(null)
    try {
      const { files } = await unwrap(vkey().chooseFiles({ purpose }))
      const file = files[0]
      if (!file) return
      if (purpose === 'certificate') setCertificate(file)
      else setKey(file)
    } catch (failure) {
      setError(toErrorView(failure))
    }
  }

  async function importCertificate(): Promise<void> {
    if (!certificate) return
    setBusy(true)
    setError(null)
    setMessage('')
    try {
      const imported = await unwrap(
        vkey().importCertificate({
          profile,
          certificate: certificate.grant,
          ...(key ? { key: key.grant } : {}),
          ...(passphrase ? { passphrase } : {}),
        }),
      )
      setCertificate(null)
      setKey(null)
      setPassphrase('')
      setMessage(t(importedMessageKey(imported.status)))
      await onImported()
    } catch (failure) {
      setError(toErrorView(failure))
    } finally {
      setBusy(false)
    }
  }

  async function importCa(): Promise<void> {
    setError(null)
    setMessage('')
    try {
      const { files } = await unwrap(vkey().chooseFiles({ purpose: 'ca' }))
      const file = files[0]
      if (!file) return
      await unwrap(vkey().importCa({ profile, ca: file.grant }))
      setMessage(t('certificate.caImported', { file: file.name }))
      await onImported()
    } catch (failure) {
      setError(toErrorView(failure))
    }
  }

  return (
    <div className="certificate-import">
      <div className="file-picks">
        <div className="file-pick">
          <button type="button" className="button button--secondary button--small" onClick={() => void choose('certificate')}>
            {t('certificate.chooseCertificate')}
          </button>
          <span className="file-pick__name">{certificate?.name ?? t('certificate.noFile')}</span>
        </div>
        <div className="file-pick">
          <button type="button" className="button button--secondary button--small" onClick={() => void choose('key')}>
            {t('certificate.chooseKey')}
          </button>
          <span className="file-pick__name">{key?.name ?? t('certificate.keyOptional')}</span>
        </div>
      </div>
      <div className="field-row">
        <div className="field">
          <label className="label" htmlFor={`${id}-passphrase`}>
            {t('certificate.passphrase')}
          </label>
          <input
            id={`${id}-passphrase`}
            className="input"
            type="password"
            autoComplete="off"
            value={passphrase}
            onChange={(e) => setPassphrase(e.target.value)}
          />
        </div>
        <button
          type="button"
          className="button button--primary button--small field-row__action"
          disabled={!certificate || busy}
          onClick={() => void importCertificate()}
        >
          {t('certificate.import')}
        </button>
        <button type="button" className="button button--ghost button--small field-row__action" onClick={() => void importCa()}>
          {t('certificate.importCa')}
        </button>
      </div>
      <p className="inline-status" role="status">
        {message}
      </p>
      {error && <ErrorPanel error={error} onDismiss={() => setError(null)} />}
    </div>
  )
}

/** What an import says: an expired or not-yet-valid certificate is kept, but requests stay blocked, and it says so at once. */
function importedMessageKey(status: CertificateView['status']): string {
  if (status === 'expired') return 'certificate.importedExpired'
  if (status === 'not-yet-valid') return 'certificate.importedNotYetValid'
  return 'certificate.imported'
}
