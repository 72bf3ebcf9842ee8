/**
 * Profiles: the non-secret half of a partner's credentials (the password, certificate and
 * key are sealed in the vault). Pure TypeScript + zod, shared by the core, the IPC contract
 * and the renderer.
 */
import * as z from 'zod'

export const environments = ['preprod', 'prod', 'simulator', 'custom'] as const
export type Environment = (typeof environments)[number]

export const psaBaseUrls = {
  preprod: 'https://api-cert-preprod.groupe-psa.com/connectedcar/v3',
  prod: 'https://api-cert.groupe-psa.com/connectedcar/v3',
} as const

/** 1–64 letters, digits, spaces, `-`, `_`, `.`; no space at either end. */
export const profileNamePattern = /^(?! )[\p{L}\p{N} _.-]{1,64}(?<! )$/u

export const ProfileNameSchema = z
  .string()
  .regex(profileNamePattern, 'a profile name has 1 to 64 letters, digits, spaces, "-", "_" or "." and no space at either end')

/**
 * Checks the shape `https://host[:port]/…/connectedcar/v3` (no credentials, query or fragment)
 * and returns the URL without a trailing slash, or undefined when the shape is wrong.
 */
export function normalizeBaseUrl(value: string): string | undefined {
  let url: URL
  try {
    url = new URL(value.trim())
  } catch {
    return undefined
  }
  if (url.protocol !== 'https:' || !url.hostname || url.username || url.password || url.search || url.hash) return undefined
  if (/[?#]/.test(value)) return undefined // `https://h/x?` parses with an empty search
  const pathname = url.pathname.replace(/\/+$/, '')
  if (!/(^|\/)connectedcar\/v3$/.test(pathname)) return undefined
  return `${url.origin}${pathname}`
}

export const BaseUrlSchema = z
  .string()
  .refine(
    (value) => normalizeBaseUrl(value) === value,
    'the base URL is https://host[:port]/…/connectedcar/v3 with no query, fragment, credentials or trailing slash',
  )

export const EnvironmentSchema = z.enum(environments)

/** Bounds of a profile's request deadline (`vkey profile add … --timeout SECONDS`). */
export const MIN_REQUEST_TIMEOUT_SECONDS = 1
export const MAX_REQUEST_TIMEOUT_SECONDS = 300

const nonEmpty = (what: string) => z.string().trim().min(1, `${what} must not be empty`).max(256, `${what} is too long`)

export const ProfileSchema = z.object({
  name: ProfileNameSchema,
  environment: EnvironmentSchema,
  baseUrl: BaseUrlSchema,
  /** The partner application's id (query `client_id`). */
  clientId: nonEmpty('the client id').regex(/^[\x21-\x7e]+$/, 'the client id has no spaces or control characters'),
  /** The MZP login (Basic authentication user; the certificate's CN). */
  login: nonEmpty('the login').regex(/^[^:\s]+$/, 'the login has no ":" and no spaces'),
  /** The Stellantis CA certificate that verifies the server, PEM (public). */
  caPem: z.string().includes('-----BEGIN CERTIFICATE-----', { message: 'the CA certificate must be PEM ("-----BEGIN CERTIFICATE-----")' }).optional(),
  /** Overall deadline for one PSA request, in seconds (absent = 30 s). */
  requestTimeoutSeconds: z.number().int().min(MIN_REQUEST_TIMEOUT_SECONDS).max(MAX_REQUEST_TIMEOUT_SECONDS).optional(),
  createdAt: z.string().datetime(),
  updatedAt: z.string().datetime(),
})

export type Profile = z.infer<typeof ProfileSchema>

/** What a caller gives to save a profile: the store sets the timestamps. */
export const ProfileInputSchema = ProfileSchema.extend({
  createdAt: z.string().datetime().optional(),
  updatedAt: z.string().datetime().optional(),
})
export type ProfileInput = z.infer<typeof ProfileInputSchema>
