/** A profile as the app and `vkey profile list --json` show it: no secret, only whether one is stored. */
import type { ProfileView } from '../../shared/ipc/contract'
import type { ProfileSummary } from './partner-profiles'

export function profileView(summary: ProfileSummary): ProfileView {
  return {
    name: summary.name,
    environment: summary.environment,
    baseUrl: summary.baseUrl,
    clientId: summary.clientId,
    login: summary.login,
    hasPassword: summary.hasPassword,
    hasCa: Boolean(summary.caPem),
    certificate: summary.certificate,
    isDefault: summary.isDefault,
  }
}
