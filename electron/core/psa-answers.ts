/**
 * What comes back from the token endpoint: the answer's schema, the rate-limit headers, and
 * an HTTP error status turned into a VkError that says what to do next and carries PSA's
 * reference (code, uuid, time) for Stellantis support. Pure: no network.
 */
import * as z from 'zod'
import { VkError, type PsaErrorDetails, type RateLimitInfo } from '../../shared/errors'
import { formatLocal } from '../../shared/time'

const isoUtc = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/
export const tokenAnswerSchema = z.object({
  token: z.object({
    access_token: z.string().min(1),
    expires: z
      .string()
      .regex(isoUtc)
      .refine((v) => !Number.isNaN(Date.parse(v))),
    expires_in: z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]),
    token_type: z.string().refine((v) => v.toLowerCase() === 'bearer'),
  }),
  token_signature: z.string().min(1),
})

export type Headers = Record<string, string | string[] | undefined>

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name.toLowerCase()]
  return Array.isArray(value) ? value[0] : value
}

export function intHeader(headers: Headers, name: string): number | undefined {
  const raw = header(headers, name)?.trim()
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined
  return Number(raw)
}

/** X-RateLimit-* and Retry-After as numbers (seconds for reset and retry-after). */
export function parseRateLimit(headers: Headers, now: Date = new Date()): RateLimitInfo {
  const info: RateLimitInfo = {}
  const dayLimit = intHeader(headers, 'x-ratelimit-limit-1')
  const dayRemaining = intHeader(headers, 'x-ratelimit-remaining-1')
  const burstLimit = intHeader(headers, 'x-ratelimit-limit-2')
  const burstRemaining = intHeader(headers, 'x-ratelimit-remaining-2')
  if (dayLimit !== undefined) info.dayLimit = dayLimit
  if (dayRemaining !== undefined) info.dayRemaining = dayRemaining
  if (burstLimit !== undefined) info.burstLimit = burstLimit
  if (burstRemaining !== undefined) info.burstRemaining = burstRemaining
  const reset = intHeader(headers, 'x-ratelimit-reset')
  if (reset !== undefined) {
    // Seconds to wait, or (when it looks like one) an epoch time in seconds.
    info.resetSeconds = reset > 1_000_000_000 ? Math.max(0, reset - Math.floor(now.getTime() / 1000)) : reset
  }
  const retryAfter = header(headers, 'retry-after')?.trim()
  if (retryAfter !== undefined && retryAfter !== '') {
    if (/^\d+$/.test(retryAfter)) info.retryAfterSeconds = Number(retryAfter)
    else {
      const at = Date.parse(retryAfter)
      if (!Number.isNaN(at)) info.retryAfterSeconds = Math.max(0, Math.ceil((at - now.getTime()) / 1000))
    }
  }
  return info
}

/** code / uuid / message / timestamp from an error body, tolerating anything. */
export function parseErrorBody(status: number, body: Buffer): PsaErrorDetails {
  const psa: PsaErrorDetails = { status }
  let json: unknown
  try {
    json = JSON.parse(body.toString('utf8'))
  } catch {
    return psa
  }
  if (typeof json !== 'object' || json === null) return psa
  const o = json as Record<string, unknown>
  if (typeof o.code === 'number' || (typeof o.code === 'string' && o.code.length <= 40)) psa.code = o.code
  if (typeof o.uuid === 'string') psa.uuid = o.uuid.slice(0, 100)
  if (typeof o.message === 'string') psa.message = o.message.slice(0, 500)
  if (typeof o.timestamp === 'string') psa.timestamp = o.timestamp.slice(0, 60)
  return psa
}

function reference(psa: PsaErrorDetails): string {
  const parts: string[] = []
  if (psa.code !== undefined) parts.push(`code ${psa.code}`)
  if (psa.uuid) parts.push(`uuid ${psa.uuid}`)
  if (psa.timestamp) parts.push(`at ${psa.timestamp}`)
  return parts.length > 0 ? ` PSA reference: ${parts.join(', ')}.` : ''
}

export function statusError(status: number, psa: PsaErrorDetails, rateLimit: RateLimitInfo): VkError {
  const ref = reference(psa)
  const details = { psa, rateLimit }
  switch (status) {
    case 400:
      return new VkError(
        'psa.bad-request',
        `PSA rejected the request as invalid (400). Check that the CarData and its signature were imported unchanged from the phone and that the duration is allowed; if they are, give Stellantis support the reference.${ref}`,
        details,
      )
    case 401:
      return new VkError(
        'psa.unauthorized',
        `PSA did not accept the credentials (401): check the MZP login, the password and the client id in the profile.${ref}`,
        details,
      )
    case 403:
      return new VkError(
        'psa.forbidden',
        `PSA refused access (403): the client id may not be enabled for virtual keys, or the partner certificate does not belong to this MZP login. Check the profile's client id and that the certificate's CN is its login; otherwise ask Stellantis to enable the service.${ref}`,
        details,
      )
    case 404:
      return new VkError('psa.not-found', `The token service was not found (404): check the profile's base URL (it ends with /connectedcar/v3).${ref}`, details)
    case 408:
      return new VkError(
        'psa.timeout',
        `PSA timed out waiting for the request (408). It was not repeated automatically: check the network connection, then try again.${ref}`,
        details,
      )
    case 429: {
      const wait = rateLimit.retryAfterSeconds ?? rateLimit.resetSeconds
      const when = wait !== undefined ? `Try again in ${wait} s (after ${formatLocal(new Date(Date.now() + wait * 1000))}).` : 'Wait a minute, then try again.'
      return new VkError('psa.rate-limited', `PSA's rate limit was reached (429). ${when}${ref}`, details)
    }
    case 500:
      return new VkError(
        'server.error',
        `PSA had an internal error (500). The request was sent once and not repeated: try again in a few minutes, and if it keeps failing give Stellantis support the reference.${ref}`,
        details,
      )
    case 502:
      return new VkError(
        'server.bad-gateway',
        `PSA's gateway got no valid answer from the token service (502). Try again in a few minutes; if it keeps failing give Stellantis support the reference.${ref}`,
        details,
      )
    case 503:
      return new VkError(
        'server.unavailable',
        `PSA's token service is unavailable (503). Try again later; if it lasts, check the Stellantis developer portal for an outage.${ref}`,
        details,
      )
    case 504:
      return new VkError(
        'server.gateway-timeout',
        `PSA's gateway timed out (504): a token may or may not have been issued. Wait a minute before trying again; give Stellantis support the reference if it repeats.${ref}`,
        details,
      )
    default:
      if (status >= 400 && status < 500) {
        return new VkError(
          'psa.refused',
          `PSA refused the request with status ${status}. Check the profile's base URL and credentials; give Stellantis support the reference.${ref}`,
          details,
        )
      }
      return new VkError(
        'server.status',
        `PSA answered with unexpected status ${status}. Check the profile's base URL; if it is right, try again later and give Stellantis support the reference.${ref}`,
        details,
      )
  }
}
