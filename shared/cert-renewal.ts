/**
 * When VK Depot warns that the partner certificate must be renewed: the one definition the
 * app's banner, Settings, `vkey cert show` and the CLI's stderr line all use.
 * Pure TypeScript (no Node, no DOM).
 */

/** Warnings start this many days before expiry: 60 and 30 in amber, 10 in red. */
export const RENEWAL_WARNING_DAYS = [60, 30, 10] as const

/** `none` (more than 60 days), `notice` (≤ 60), `warning` (≤ 30), `urgent` (≤ 10), `expired`. */
export type RenewalLevel = 'none' | 'notice' | 'warning' | 'urgent' | 'expired'

export interface RenewalState {
  level: RenewalLevel
  /** amber for notice and warning, red for urgent and expired. */
  tone: 'none' | 'amber' | 'red'
  /** The threshold crossed (60, 30 or 10), when one is. */
  threshold?: (typeof RENEWAL_WARNING_DAYS)[number]
}

/** The renewal state for a certificate with `daysLeft` whole days left (negative once expired). */
export function renewalState(daysLeft: number, expired = daysLeft < 0): RenewalState {
  if (expired) return { level: 'expired', tone: 'red' }
  const [notice, warning, urgent] = RENEWAL_WARNING_DAYS
  if (daysLeft <= urgent) return { level: 'urgent', tone: 'red', threshold: urgent }
  if (daysLeft <= warning) return { level: 'warning', tone: 'amber', threshold: warning }
  if (daysLeft <= notice) return { level: 'notice', tone: 'amber', threshold: notice }
  return { level: 'none', tone: 'none' }
}
