/**
 * The way forward an error panel offers when the ledger as a whole is missing, empty or
 * damaged (storage.ledger-lost): a backup first, else a new, empty ledger once the user has
 * confirmed (the same as `vkey ledger new`: the damaged files are kept aside, a ledger that
 * reads is never replaced). The app starts again on the new ledger.
 */
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { unwrap, vkey, type ErrorView } from '../api'
import { useMessageAction } from '../lib/hooks'
import { Spinner } from './Spinner'

export function LedgerRecovery() {
  const { t } = useTranslation()
  const [confirmed, setConfirmed] = useState(false)
  const [failure, setFailure] = useState<ErrorView | null>(null)
  const { busy, message, run } = useMessageAction(setFailure)

  const start = (): Promise<void> =>
    run(async () => {
      const { started } = await unwrap(vkey().startNewLedger({ confirm: true }))
      // Started: the app begins again on the new ledger. Not started: the ledger reads whole after all (restored meanwhile).
      if (started) window.location.reload()
      return started ? '' : t('ledgerRecovery.nothingDone')
    })

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
      {message && (
        <p className="notice notice--ok" role="status">
          {message}
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
