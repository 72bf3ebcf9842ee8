/**
 * Shown instead of the app when the vault key has left the keychain (error
 * config.vault-key-lost): explains what a reset keeps and drops, and runs it (the same as
 * `vkey vault reset`) once the user has confirmed.
 */
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { toErrorView, unwrap, vkey, type ErrorView } from '../api'
import { ErrorPanel } from './ErrorPanel'
import { Spinner } from './Spinner'

export function VaultRecovery({ error, onDone }: { error: ErrorView; onDone: () => void }) {
  const { t } = useTranslation()
  const [confirmed, setConfirmed] = useState(false)
  const [busy, setBusy] = useState(false)
  const [failure, setFailure] = useState<ErrorView | null>(null)

  async function reset(): Promise<void> {
    setBusy(true)
    setFailure(null)
    try {
      await unwrap(vkey().resetVault({ confirm: true }))
      onDone()
    } catch (thrown) {
      setFailure(toErrorView(thrown))
    } finally {
      setBusy(false)
    }
  }

  return (
    <div className="screen vault-recovery" data-testid="vault-recovery">
      <header className="screen__header">
        <h1 tabIndex={-1}>{t('vaultRecovery.title')}</h1>
      </header>
      <p>{t('vaultRecovery.lead')}</p>
      <ul>
        <li>{t('vaultRecovery.keeps')}</li>
        <li>{t('vaultRecovery.drops')}</li>
        <li>{t('vaultRecovery.after')}</li>
      </ul>
      {/* The core's own words name the files and the keychain entry: for whoever supports the depot, not the first thing to read. */}
      <details className="support-details">
        <summary>{t('vaultRecovery.details')}</summary>
        <p className="error-panel__detail">{error.message}</p>
      </details>
      <p>
        <label>
          <input type="checkbox" className="checkbox" checked={confirmed} disabled={busy} onChange={(event) => setConfirmed(event.target.checked)} />{' '}
          {t('vaultRecovery.confirm')}
        </label>
      </p>
      <button type="button" className="button button--danger" disabled={!confirmed || busy} onClick={() => void reset()}>
        {busy && <Spinner />} {t('vaultRecovery.reset')}
      </button>
      {failure && <ErrorPanel error={failure} />}
    </div>
  )
}
