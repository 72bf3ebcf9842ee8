/**
 * The way forward an error panel offers when the ledger as a whole is missing, empty or
 * damaged (storage.ledger-lost): a backup first, else a new, empty ledger once the user has
 * confirmed (the same as `vkey ledger new`: the damaged files are kept aside, a ledger that
 * reads is never replaced). The app starts again on the new ledger.
 */
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { toErrorView, unwrap, vkey, type ErrorView } from '../api'
import { Spinner } from './Spinner'

export function LedgerRecovery() {
  const { t } = useTranslation()
  const [confirmed, setConfirmed] = useState(false)
  const [busy, setBusy] = useState(false)
  const [failure, setFailure] = useState<ErrorView | null>(null)

  async function start(): Promise<void> {
    setBusy(true)
    setFailure(null)
    try {
      await unwrap(vkey().startNewLedger({ confirm: true }))
      window.location.reload()
    } catch (thrown) {
      setFailure(toErrorView(thrown))
      setBusy(false)
    }
  }

  return (
    <div className="ledger-recovery" data-testid="ledger-recovery">
      <p>
        <label>
          <input type="checkbox" className="checkbox" checked={confirmed} disabled={busy} onChange={(event) => setConfirmed(event.target.checked)} />{' '}
          {t('ledgerRecovery.confirm')}
        </label>
      </p>
      <button type="button" className="button button--danger button--small" disabled={!confirmed || busy} onClick={() => void start()}>
        {busy && <Spinner />} {t('ledgerRecovery.start')}
      </button>
      {failure && (
        <p className="notice notice--error" role="alert">
          {failure.message}
        </p>
      )}
    </div>
  )
}
