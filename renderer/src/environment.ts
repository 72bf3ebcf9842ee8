/**
 * Which PSA environment a handover's key comes from, and whether it is a real car key.
 * One place for the rule, so the screens agree (token screen, handover mode).
 *
 * Merge note: the contract's handover summary gains an `environment` field (issue 11); once
 * it is there, `handoverEnvironment` returns `handover.environment` first and keeps the
 * profile look-up only as the fallback for records made before it.
 */
import type { HandoverSummary, ProfileView } from '../../shared/ipc/contract'

export type Environment = ProfileView['environment']

/** The environment of the profile the handover's key was requested with (the active profile when the record names none). */
export function handoverEnvironment(handover: Pick<HandoverSummary, 'profile'>, profiles: readonly ProfileView[]): Environment | undefined {
  const profile = handover.profile ? profiles.find((p) => p.name === handover.profile) : (profiles.find((p) => p.isDefault) ?? profiles[0])
  return profile?.environment
}

/** Keys from these environments open no customer's car: the screens say so in a band. */
export type NonProductionEnvironment = 'simulator' | 'preprod'

export function nonProduction(environment: Environment | undefined): NonProductionEnvironment | undefined {
  return environment === 'simulator' || environment === 'preprod' ? environment : undefined
}
