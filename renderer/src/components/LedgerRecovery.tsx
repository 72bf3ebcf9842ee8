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
  const [nothingDone, setNothingDone] = useState(false)

  async function start(): Promise<void> {
    setBusy(true)
    setFailure(null)
    try {
      const { started } = await unwrap(vkey().startNewLedger({ confirm: true }))
      // Started: the app begins again on the new ledger. Not started: the ledger reads whole after all (restored meanwhile).
      if (started) window.location.reload()
      else setNothingDone(true)
    } catch (thrown) {
      setFailure(toErrorView(thrown))
    } finally {
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
      {nothingDone && (
        <p className="notice notice--ok" role="status">
          {t('ledgerRecovery.nothingDone')}
        </p>
      )}
      {failure && (
        <p className="notice notice--error" role="alert">
          {failure.message}
        </p>
      )}
    </div>
  )
}
