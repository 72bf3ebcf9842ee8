/**
 * Shown instead of the app when the vault cannot be opened: vault.json damaged or gone
 * (config.vault-repair), or the vault key gone from the keychain (config.vault-key-lost).
 * Repair comes first and loses nothing (the same as `vkey vault repair`: it finds the key the
 * keychain still holds); a reset (the same as `vkey vault reset`) only once the user confirmed.
 */
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { toErrorView, unwrap, vkey, type ErrorView } from '../api'
import { ErrorPanel } from './ErrorPanel'
import { Spinner } from './Spinner'

/** The load errors this screen answers. */
export function isVaultRecoverable(code: string): boolean {
  return code === 'config.vault-key-lost' || code === 'config.vault-repair'
}

export function VaultRecovery({ error, onDone }: { error: ErrorView; onDone: () => void }) {
  const { t } = useTranslation()
  const [confirmed, setConfirmed] = useState(false)
  const [busy, setBusy] = useState<'repair' | 'reset' | null>(null)
  const [failure, setFailure] = useState<ErrorView | null>(null)
  const repairFirst = error.code === 'config.vault-repair'

  async function run(action: 'repair' | 'reset'): Promise<void> {
    setBusy(action)
    setFailure(null)
    try {
      if (action === 'repair') await unwrap(vkey().repairVault(undefined))
      else await unwrap(vkey().resetVault({ confirm: true }))
      onDone()
    } catch (thrown) {
      setFailure(toErrorView(thrown))
    } finally {
      setBusy(null)
    }
  }

  return (
    <div className="screen vault-recovery" data-testid="vault-recovery">
      <header className="screen__header">
        <h1 tabIndex={-1}>{t(repairFirst ? 'vaultRecovery.repairTitle' : 'vaultRecovery.title')}</h1>
      </header>
      <p>{t(repairFirst ? 'vaultRecovery.repairLead' : 'vaultRecovery.tryRepair')}</p>
      <p>
        <button
          type="button"
          className={`button ${repairFirst ? 'button--primary' : 'button--secondary'}`}
          disabled={busy !== null}
          onClick={() => void run('repair')}
        >
          {busy === 'repair' && <Spinner />} {t('vaultRecovery.repair')}
        </button>
      </p>
      {repairFirst && <h2>{t('vaultRecovery.ifRepairFails')}</h2>}
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
          <input type="checkbox" className="checkbox" checked={confirmed} disabled={busy !== null} onChange={(event) => setConfirmed(event.target.checked)} />{' '}
          {t('vaultRecovery.confirm')}
        </label>
      </p>
      <button type="button" className="button button--danger" disabled={!confirmed || busy !== null} onClick={() => void run('reset')}>
        {busy === 'reset' && <Spinner />} {t('vaultRecovery.reset')}
      </button>
      {failure && <ErrorPanel error={failure} />}
    </div>
  )
}
