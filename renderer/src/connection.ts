/** Whether the app can request keys at all: an active profile with a partner certificate. */
import type { ProfileView } from '../../shared/ipc/contract'

/** The profile requests go through: the default one, else the first. */
export function activeProfile(profiles: readonly ProfileView[] | null | undefined): ProfileView | undefined {
  return profiles?.find((p) => p.isDefault) ?? profiles?.[0]
}

/** What is missing before a key can be requested, or undefined when nothing is. */
export function missingConnection(profiles: readonly ProfileView[] | null | undefined): 'profile' | 'certificate' | undefined {
  const profile = activeProfile(profiles)
  if (!profile) return 'profile'
  return profile.certificate ? undefined : 'certificate'
}
