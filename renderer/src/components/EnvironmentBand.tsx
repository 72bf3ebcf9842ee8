import { useTranslation } from 'react-i18next'
import { nonProduction } from '../../../shared/environment-marker'
import type { Environment } from '../../../shared/profile'

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
