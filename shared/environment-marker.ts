/**
 * Keys that are not production keys say so wherever a person sees them, and this module is
 * the one definition of how: the words of the mark (exported QR images, pack pages, the
 * CLI's list/show), the `env` value the handover QR payload carries, which environments the
 * app's screens band, and which environment a handover's key comes from on those screens.
 * Pure TypeScript.
 *
 * - simulator: "SIMULATOR — NOT A CAR KEY" (the simulator's keys open nothing)
 * - preprod:   "PRE-PRODUCTION"
 * - custom:    "CUSTOM ENDPOINT — NOT PSA PRODUCTION" (a base URL typed by hand: not known to be production)
 * - prod:      no mark, no `env` in the QR payload
 * - unknown (the profile that issued it is gone): "ENVIRONMENT UNKNOWN" in the CLI, no mark on
 *   images, no `env` in the QR payload
 */
import type { Environment } from './profile'

/** `env` values of the QR payload (production has none). */
export const MARKED_ENVIRONMENTS = ['simulator', 'preprod', 'custom'] as const
export type MarkedEnvironment = (typeof MARKED_ENVIRONMENTS)[number]

const MARKS: Record<Environment, string | undefined> = {
  simulator: 'SIMULATOR — NOT A CAR KEY',
  preprod: 'PRE-PRODUCTION',
  // A custom address is not PSA's production service as VK Depot knows it: say so.
  custom: 'CUSTOM ENDPOINT — NOT PSA PRODUCTION',
  prod: undefined,
}

/** The mark for keys from `environment` (images, pack pages), or undefined for production and unknown values. */
export function environmentMark(environment: string | undefined): string | undefined {
  if (!environment || !Object.hasOwn(MARKS, environment)) return undefined
  return MARKS[environment as Environment]
}

/** The band text for the CLI: the mark, or "ENVIRONMENT UNKNOWN" when the issuing profile is gone; undefined for production. */
export function environmentBand(environment: Environment | undefined): string | undefined {
  return environment === undefined ? 'ENVIRONMENT UNKNOWN' : MARKS[environment]
}

/** The QR payload's `env` for this environment (undefined: leave the key out). */
export function payloadEnvironment(environment: Environment | undefined): MarkedEnvironment | undefined {
  return environment !== undefined && environment !== 'prod' ? environment : undefined
}

/** Keys from these environments open no customer's car: the app's screens say so in a band. */
export type NonProductionEnvironment = 'simulator' | 'preprod'

export function nonProduction(environment: Environment | undefined): NonProductionEnvironment | undefined {
  return environment === 'simulator' || environment === 'preprod' ? environment : undefined
}

/**
 * The environment a handover's key comes from, on the app's screens: the one the main side
 * stamped on the record (core/handover-environment.ts), else the profile it names, else
 * the active profile's when it names none; undefined when that profile is gone.
 */
export function handoverEnvironment(
  handover: { profile?: string | undefined; environment?: Environment | undefined },
  profiles: readonly { name: string; environment: Environment; isDefault: boolean }[],
): Environment | undefined {
  if (handover.environment) return handover.environment
  const profile = handover.profile ? profiles.find((p) => p.name === handover.profile) : (profiles.find((p) => p.isDefault) ?? profiles[0])
  return profile?.environment
}
