import { useTranslation } from 'react-i18next'
import { nonProduction } from '../../../shared/environment-marker'
import type { Environment } from '../../../shared/profile'
import { formatDateTime } from '../format'

/** "SIMULATOR — NOT A CAR KEY" / "PRE-PRODUCTION" across a key from a non-production environment; nothing for production. */
export function EnvironmentBand({ environment, large = false }: { environment: Environment | undefined; large?: boolean }) {
  const { t } = useTranslation()
  const kind = nonProduction(environment)
  if (!kind) return null
  return (
    <p className={`env-band env-band--${kind}${large ? ' env-band--large' : ''}`} role="note" data-testid="environment-band" data-environment={kind}>
      {t(`band.${kind}`)}
    </p>
  )
}

/**
 * A production key carries no band (its code stays clean for the driver's phone), so the token
 * screen says in words what it is: a real car key until it expires, that PSA cannot revoke. A
 * custom address gets no band in the app either and may be PSA behind a proxy: it says the same
 * with an "if". Nothing for the simulator and pre-production (their band says what they are) nor
 * for an unknown environment (its profile is gone).
 */
export function LiveKeyNote({ environment, vin, expires }: { environment: Environment | undefined; vin: string; expires: string }) {
  const { t, i18n } = useTranslation()
  if (environment !== 'prod' && environment !== 'custom') return null
  const end = formatDateTime(expires, i18n.language)
  return (
    <p className="notice notice--warning" role="note" data-testid="live-key-note">
      {t(environment === 'prod' ? 'token.liveKey' : 'token.liveKeyCustom', { vin, end })}
    </p>
  )
}
