/**
 * Keys that are not production keys say so wherever a person sees them: the words of the
 * band (CLI list/show, the app's handover mode, pack pages, exported images) and the `env`
 * value the handover QR payload carries. One definition for all of them. Pure TypeScript.
 *
 * - simulator: "SIMULATOR — NOT A CAR KEY" (the simulator's keys open nothing)
 * - preprod:   "PRE-PRODUCTION"
 * - custom:    "CUSTOM SERVER" (a base URL typed by hand: not known to be production)
 * - prod:      no band, no `env` in the QR payload
 * - unknown (the profile that issued it is gone): "ENVIRONMENT UNKNOWN", no `env` in the QR
 */
import type { Environment } from './profile'

/** `env` values of the QR payload (production has none). */
export const MARKED_ENVIRONMENTS = ['simulator', 'preprod', 'custom'] as const
export type MarkedEnvironment = (typeof MARKED_ENVIRONMENTS)[number]

const BANDS: Record<Environment, string | undefined> = {
  simulator: 'SIMULATOR — NOT A CAR KEY',
  preprod: 'PRE-PRODUCTION',
  custom: 'CUSTOM SERVER',
  prod: undefined,
}

/** The band text for a key from this environment, or undefined for production. */
export function environmentBand(environment: Environment | undefined): string | undefined {
  return environment === undefined ? 'ENVIRONMENT UNKNOWN' : BANDS[environment]
}

/** The QR payload's `env` for this environment (undefined: leave the key out). */
export function payloadEnvironment(environment: Environment | undefined): MarkedEnvironment | undefined {
  return environment !== undefined && environment !== 'prod' ? environment : undefined
}
