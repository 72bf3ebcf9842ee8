/**
 * The marker a key from a test environment carries wherever a person sees it (pack pages,
 * exported QR images): a simulator or pre-production token must never pass for a car key.
 * Production keys carry none. One definition for every surface (issue #9, item 6).
 */
import type { Environment } from './profile'

const MARKS: Record<Environment, string | undefined> = {
  simulator: 'SIMULATOR — NOT A CAR KEY',
  preprod: 'PRE-PRODUCTION',
  // A custom address is not PSA's production service as VK Depot knows it: say so.
  custom: 'CUSTOM ENDPOINT — NOT PSA PRODUCTION',
  prod: undefined,
}

/** The band text for keys from `environment`, or undefined for production (and unknown values). */
export function environmentMark(environment: string | undefined): string | undefined {
  if (!environment || !Object.hasOwn(MARKS, environment)) return undefined
  return MARKS[environment as Environment]
}
