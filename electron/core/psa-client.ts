/**
 * The PSA / Stellantis virtual-key token client: one POST over mutual TLS with undici.
 *
 *   POST {baseUrl}/fleets/virtualkey/smartaccess/token?client_id=…
 *
 * One undici Agent per client (per profile) with keep-alive, explicit TLS verification
 * (NODE_TLS_REJECT_UNAUTHORIZED cannot switch it off), explicit timeouts, one overall
 * deadline per try (request-deadline.ts) and a response size cap. Retries only when the
 * request cannot have been processed (nothing sent yet, 429 after Retry-After, 503);
 * everything else reaches the server exactly once.
 * Every failure is a VkError whose message says what to do next and never contains the
 * password, the private key or a token.
 */
import { connect as tlsConnect } from 'node:tls'
import { isIP } from 'node:net'
import { Agent, buildConnector, request, type Dispatcher } from 'undici'
import { z } from 'zod'
import { VkError, type ErrorCode, type PsaErrorDetails, type RateLimitInfo } from '../../shared/errors'
import { formatLocal } from '../../shared/time'
import { DEFAULT_REQUEST_TIMEOUT_MS, DeadlineReached, RequestTracker, deadlineError, deadlineSignal, phaseInterceptor } from './request-deadline'

export interface PartnerCredentials {
  /** e.g. https://api-cert-preprod.groupe-psa.com/connectedcar/v3 */
  baseUrl: string
  clientId: string
  /** The MZP login (CN of the partner certificate). */
  login: string
  /** May contain ':'. */
  password: string
  /** Partner certificate (PEM). */
  certPem: string
  /** Its private key (unencrypted PEM). */
  keyPem: string
  /** Intermediate certificates sent after the partner certificate. */
  chainPems?: string[]
  /** The Stellantis CA that signs the server certificate; undefined = the system roots. */
  caPem?: string
}

export interface PsaClientOptions {
  /** The depot's clock: when an answer arrived is stamped with it, like every other time in the ledger. */
  now?: () => Date
  connectTimeoutMs?: number
  headersTimeoutMs?: number
  bodyTimeoutMs?: number
  /** Largest answer accepted (default 64 KiB). */
  maxResponseBytes?: number
  /** Tries in all, first included (default 3). */
  maxTries?: number
  /** First backoff delay before jitter (default 500 ms), doubled at each retry. */
  retryBaseDelayMs?: number
  /** Longest Retry-After the client waits for by itself (default 30 s). */
  maxRetryAfterSeconds?: number
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  /** [0, 1) for the jitter (default Math.random). */
  random?: () => number
  /** Connections per origin (default 4). */
  connections?: number
  /** How long to check whether the server refuses the partner certificate after a silent close (default 2000 ms). */
  probeTimeoutMs?: number
  /**
   * Overall deadline for one request, connection to last byte, whatever the server does
   * (default 30 s; a profile's requestTimeoutSeconds sets it).
   */
  requestTimeoutMs?: number
  /** Called each time a request has been written to the server (from then on a token may exist). */
  onRequestSent?: () => void
  /** Called when a try that had been sent ends, whatever its outcome. */
  onRequestSettled?: () => void
}

export interface TokenRequestInput {
  /** base64, from the phone SDK. */
  carData: string
  /** base64, from the phone SDK. */
  carDataSignature: string
  /** Positive whole seconds; sent as a JSON string. */
  durationSeconds: number
}

export interface RetryInfo {
  /** The try that failed (1-based). */
  attempt: number
  /** The try about to start. */
  nextAttempt: number
  maxTries: number
  /** Wait before the next try. */
  delayMs: number
  /** Why: the error code of the failed try. */
  code: ErrorCode
  status?: number
}

export interface TokenResult {
  accessToken: string
  tokenType: string
  /** ISO-8601 UTC end of validity, as PSA sent it. */
  expires: string
  expiresIn: number
  tokenSignature: string
  rateLimit: RateLimitInfo
  /** Tries it took (1 = first try). */
  attempts: number
  /** ISO time the answer arrived. */
  receivedAt: string
}

export const TOKEN_ENDPOINT_PATH = '/fleets/virtualkey/smartaccess/token'

const DEFAULTS = {
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 30_000,
  bodyTimeoutMs: 30_000,
  maxResponseBytes: 64 * 1024,
  maxTries: 3,
  retryBaseDelayMs: 500,
  maxRetryAfterSeconds: 30,
  connections: 4,
  probeTimeoutMs: 2_000,
  requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
}

/** `Basic base64(utf8(login:password))`. */
export function basicAuthorization(login: string, password: string): string {
  return `Basic ${Buffer.from(`${login}:${password}`, 'utf8').toString('base64')}`
}

/** The token URL for a base URL and client id (client id percent-encoded). */
export function tokenUrl(baseUrl: string, clientId: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${TOKEN_ENDPOINT_PATH}?client_id=${encodeURIComponent(clientId)}`
}

/** The request exactly as documented: URL, headers and body bytes. Also used by the benchmark's bare-undici baseline. */
export function buildTokenRequest(
  creds: Pick<PartnerCredentials, 'baseUrl' | 'clientId' | 'login' | 'password'>,
  input: TokenRequestInput,
): { url: string; method: 'POST'; headers: Record<string, string>; body: string } {
  if (!Number.isSafeInteger(input.durationSeconds) || input.durationSeconds <= 0) {
    throw new VkError('input.duration', 'The token duration must be a positive whole number of seconds (for example 3600 for one hour).', { field: 'duration' })
  }
  for (const [field, value] of [
    ['carData', input.carData],
    ['carDataSignature', input.carDataSignature],
  ] as const) {
    if (typeof value !== 'string' || value.trim() === '') {
      throw new VkError(
        'input.field',
        `${field === 'carData' ? 'CarData' : 'CarData_signature'} is empty: import the vehicle's CarData and its signature from the phone again.`,
        { field },
      )
    }
  }
  return {
    url: tokenUrl(creds.baseUrl, creds.clientId),
    method: 'POST',
    headers: {
      accept: 'application/json',
      'content-type': 'application/json',
      authorization: basicAuthorization(creds.login, creds.password),
    },
    body: JSON.stringify({
      carToken: { CarData: input.carData, CarData_signature: input.carDataSignature },
      duration: String(input.durationSeconds),
    }),
  }
}

const isoUtc = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/
const tokenAnswerSchema = z.object({
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

type Headers = Record<string, string | string[] | undefined>

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name.toLowerCase()]
  return Array.isArray(value) ? value[0] : value
}

function intHeader(headers: Headers, name: string): number | undefined {
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
function parseErrorBody(status: number, body: Buffer): PsaErrorDetails {
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

function statusError(status: number, psa: PsaErrorDetails, rateLimit: RateLimitInfo): VkError {
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

interface ErrorLike {
  code?: unknown
  message?: unknown
  cause?: unknown
  socket?: { bytesRead?: number } | null
}

function errorChain(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = []
  let current: unknown = error
  while (current !== null && typeof current === 'object' && chain.length < 5) {
    chain.push(current as ErrorLike)
    current = (current as ErrorLike).cause
  }
  return chain
}

function codesOf(error: unknown): string[] {
  return errorChain(error)
    .map((e) => e.code)
    .filter((c): c is string => typeof c === 'string')
}

const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'CERT_CHAIN_TOO_LONG',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
])
const RETRYABLE_CONNECT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH'])
/** Alerts a server sends when it does not accept the client certificate. */
const CLIENT_CERT_ALERT =
  /ALERT_(BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|UNSUPPORTED_CERTIFICATE|UNKNOWN_CA|ACCESS_DENIED|HANDSHAKE_FAILURE|CERTIFICATE_REQUIRED|DECRYPT_ERROR)$/

const CLIENT_REFUSED_MESSAGE =
  'The server closed the connection: the partner certificate was probably refused. Check the profile uses the certificate Stellantis signed for this MZP login, with its own key, and that it has not expired.'

interface Failure {
  error: VkError
  /** Safe to send again: the server cannot have processed the request. */
  retryable: boolean
  /** Wait at least this long before the next try (Retry-After). */
  retryAfterMs?: number
}

/** Why a request could not go through: connect phase (nothing sent) or later. */
function transportError(
  error: unknown,
  phase: 'connect' | 'request' | 'body',
  origin: string,
  timeouts: { connect: number; headers: number; body: number },
): Failure {
  const facts: FailureFacts = { codes: codesOf(error), origin, cause: { cause: error } }
  return certificateFailure(facts) ?? (phase === 'connect' ? connectFailure(facts, timeouts) : afterSendFailure(facts, phase, timeouts))
}

/** What transportError knows of one failure: the error codes down its cause chain, the server, the cause to keep. */
interface FailureFacts {
  codes: string[]
  origin: string
  cause: { cause: unknown }
}

/** The server's certificate was refused, or the server refused ours: never worth a retry. */
function certificateFailure({ codes, origin, cause }: FailureFacts): Failure | undefined {
  const has = (c: string): boolean => codes.includes(c)
  const firstSsl = codes.find((c) => c.startsWith('ERR_SSL_'))
  if (codes.some((c) => UNTRUSTED.has(c))) {
    return {
      retryable: false,
      error: new VkError(
        'tls.server-untrusted',
        `The server's certificate at ${origin} is not signed by a trusted CA: check the profile's Stellantis CA certificate (and the base URL).`,
        {},
        cause,
      ),
    }
  }
  if (has('CERT_HAS_EXPIRED')) {
    return {
      retryable: false,
      error: new VkError(
        'tls.server-expired',
        `The server's certificate at ${origin} has expired (or this computer's clock is wrong): check the date and time here, then the base URL.`,
        {},
        cause,
      ),
    }
  }
  if (has('CERT_NOT_YET_VALID')) {
    return {
      retryable: false,
      error: new VkError('tls.server-expired', `The server's certificate at ${origin} is not valid yet: check this computer's date and time.`, {}, cause),
    }
  }
  if (has('ERR_TLS_CERT_ALTNAME_INVALID')) {
    return {
      retryable: false,
      error: new VkError('tls.server-host', `The server's certificate is not issued for ${origin}: check the host name in the profile's base URL.`, {}, cause),
    }
  }
  if (firstSsl && CLIENT_CERT_ALERT.test(firstSsl)) {
    return { retryable: false, error: new VkError('tls.client-refused', CLIENT_REFUSED_MESSAGE, {}, cause) }
  }
  return undefined
}

/** The connect phase failed: nothing was sent, so some of these may be retried. */
function connectFailure({ codes, origin, cause }: FailureFacts, timeouts: { connect: number }): Failure {
  const has = (c: string): boolean => codes.includes(c)
  const firstSsl = codes.find((c) => c.startsWith('ERR_SSL_'))
  const retryable = codes.some((c) => RETRYABLE_CONNECT.has(c))
  if (has('UND_ERR_CONNECT_TIMEOUT') || has('ETIMEDOUT')) {
    return {
      retryable,
      error: new VkError(
        'network.timeout',
        `Could not connect to ${origin} within ${Math.round(timeouts.connect / 1000)} s: check the network connection (and any proxy or firewall), then try again.`,
        {},
        cause,
      ),
    }
  }
  if (has('ENOTFOUND') || has('EAI_AGAIN')) {
    return {
      retryable,
      error: new VkError(
        'network.unreachable',
        `The server name in ${origin} could not be found: check the profile's base URL and this computer's network connection.`,
        {},
        cause,
      ),
    }
  }
  if (has('ECONNREFUSED')) {
    return {
      retryable,
      error: new VkError(
        'network.unreachable',
        `Nothing answered at ${origin} (connection refused): check the profile's base URL and port, and that the service is up.`,
        {},
        cause,
      ),
    }
  }
  if (has('EHOSTUNREACH') || has('ENETUNREACH')) {
    return {
      retryable,
      error: new VkError('network.unreachable', `${origin} cannot be reached from this computer: check the network connection.`, {}, cause),
    }
  }
  if (has('ECONNRESET') || has('EPIPE')) {
    // Reset during the handshake: with mutual TLS this is how many servers refuse a client certificate.
    return { retryable: false, error: new VkError('tls.client-refused', CLIENT_REFUSED_MESSAGE, {}, cause) }
  }
  if (firstSsl || codes.some((c) => c.startsWith('ERR_TLS_'))) {
    return {
      retryable: false,
      error: new VkError(
        'tls.failure',
        `The secure connection to ${origin} failed (${firstSsl ?? codes.find((c) => c.startsWith('ERR_TLS_'))}): check the base URL; the server may need a newer TLS version.`,
        {},
        cause,
      ),
    }
  }
  return {
    retryable: false,
    error: new VkError('network.unreachable', `Could not connect to ${origin}: check the network connection and the profile's base URL.`, {}, cause),
  }
}

/** The request was sent: never repeated, as a token may have been issued. */
function afterSendFailure({ codes, origin, cause }: FailureFacts, phase: 'request' | 'body', timeouts: { headers: number; body: number }): Failure {
  const has = (c: string): boolean => codes.includes(c)
  const firstSsl = codes.find((c) => c.startsWith('ERR_SSL_'))
  if (has('UND_ERR_HEADERS_TIMEOUT')) {
    return {
      retryable: false,
      error: new VkError(
        'network.timeout',
        `PSA did not answer within ${Math.round(timeouts.headers / 1000)} s after the request was sent. It was not repeated, as a token may have been issued: wait a minute, then try again.`,
        {},
        cause,
      ),
    }
  }
  if (has('UND_ERR_BODY_TIMEOUT')) {
    return {
      retryable: false,
      error: new VkError(
        'network.timeout',
        `PSA's answer stalled for ${Math.round(timeouts.body / 1000)} s. It was not repeated, as a token may have been issued: wait a minute, then try again.`,
        {},
        cause,
      ),
    }
  }
  if (firstSsl || codes.some((c) => c.startsWith('ERR_TLS_'))) {
    return {
      retryable: false,
      error: new VkError(
        'tls.failure',
        `The secure connection to ${origin} failed after the request was sent (${firstSsl ?? codes.find((c) => c.startsWith('ERR_TLS_'))}). Try again; if it repeats, check the partner certificate.`,
        {},
        cause,
      ),
    }
  }
  return {
    retryable: false,
    error: new VkError(
      'network.lost',
      phase === 'body'
        ? `The connection to ${origin} was lost while the answer was arriving. It was not repeated, as a token may have been issued: wait a minute, then try again.`
        : `The connection to ${origin} was lost after the request was sent, before any answer. It was not repeated, as a token may have been issued: wait a minute, then try again.`,
      {},
      cause,
    ),
  }
}

function cancelled(): VkError {
  return new VkError('cancelled', 'The token request was cancelled.')
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled())
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    function onAbort(): void {
      clearTimeout(timer)
      reject(cancelled())
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

async function readCapped(
  body: AsyncIterable<Buffer> & { destroy?: (error?: Error) => unknown },
  max: number,
  contentLength: number | undefined,
  origin: string,
): Promise<Buffer> {
  const tooLarge = (): VkError =>
    new VkError(
      'server.too-large',
      `The answer from ${origin} is larger than ${Math.round(max / 1024)} KiB, far more than a token: check the profile's base URL points at the PSA token service.`,
    )
  if (contentLength !== undefined && contentLength > max) {
    body.destroy?.()
    throw tooLarge()
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += chunk.length
    if (size > max) {
      body.destroy?.()
      throw tooLarge()
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

type ProbeResult = 'accepted' | 'refused' | 'unknown'

export class PsaClient {
  private readonly creds: PartnerCredentials
  private readonly agent: Agent
  /** The agent with the phase interceptor (see request-deadline.ts). */
  private readonly dispatcher: Dispatcher
  private readonly url: URL
  private readonly origin: string
  private readonly opts: Required<Omit<PsaClientOptions, 'sleep' | 'random' | 'onRequestSent' | 'onRequestSettled' | 'now'>> &
    Pick<PsaClientOptions, 'sleep' | 'random' | 'onRequestSent' | 'onRequestSettled' | 'now'>
  private readonly tls: { cert: string; key: string; ca: string[] | undefined; servername: string | undefined }
  private readonly connectErrors = new WeakSet<object>()
  private closed = false
  /** Tries stopped before undici let go of them (a handshake that never ended): close() does not wait for those. */
  private readonly stragglers = new Set<Promise<unknown>>()

  constructor(creds: PartnerCredentials, options: PsaClientOptions = {}) {
    let url: URL
    try {
      url = new URL(creds.baseUrl)
    } catch {
      throw new VkError(
        'config.profile',
        "The profile's base URL is not a valid URL: use https://api-cert-preprod.groupe-psa.com/connectedcar/v3 or the production one.",
        { field: 'baseUrl' },
      )
    }
    if (url.protocol !== 'https:') {
      throw new VkError('config.profile', "The profile's base URL must start with https:// (the token service uses mutual TLS).", { field: 'baseUrl' })
    }
    if (!creds.clientId)
      throw new VkError('config.profile', 'The profile has no client id: add the client id Stellantis gave for this application.', { field: 'clientId' })
    if (!creds.login) throw new VkError('config.profile', 'The profile has no MZP login: add it (it is the CN of the partner certificate).', { field: 'login' })
    if (creds.login.includes(':')) throw new VkError('config.profile', 'The MZP login cannot contain ":": check the login in the profile.', { field: 'login' })
    if (!creds.password)
      throw new VkError('config.profile', 'The profile has no password: add the password that goes with the MZP login.', { field: 'password' })
    if (!creds.certPem?.trim() || !creds.keyPem?.trim()) {
      throw new VkError(
        'config.no-certificate',
        'The profile has no partner certificate and key: import the certificate Stellantis signed (.p12/.pfx or PEM with its key).',
        { field: 'certificate' },
      )
    }
    this.creds = creds
    this.url = url
    this.origin = url.host
    this.opts = {
      ...(options.now ? { now: options.now } : {}),
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      headersTimeoutMs: options.headersTimeoutMs ?? DEFAULTS.headersTimeoutMs,
      bodyTimeoutMs: options.bodyTimeoutMs ?? DEFAULTS.bodyTimeoutMs,
      maxResponseBytes: options.maxResponseBytes ?? DEFAULTS.maxResponseBytes,
      maxTries: Math.max(1, Math.floor(options.maxTries ?? DEFAULTS.maxTries)),
      retryBaseDelayMs: options.retryBaseDelayMs ?? DEFAULTS.retryBaseDelayMs,
      maxRetryAfterSeconds: options.maxRetryAfterSeconds ?? DEFAULTS.maxRetryAfterSeconds,
      connections: options.connections ?? DEFAULTS.connections,
      probeTimeoutMs: options.probeTimeoutMs ?? DEFAULTS.probeTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      sleep: options.sleep,
      random: options.random,
      onRequestSent: options.onRequestSent,
      onRequestSettled: options.onRequestSettled,
    }
    const hostname = url.hostname.replace(/^\[|\]$/g, '')
    this.tls = {
      cert: [creds.certPem, ...(creds.chainPems ?? [])].join('\n'),
      key: creds.keyPem,
      ca: creds.caPem !== undefined ? [creds.caPem] : undefined,
      servername: isIP(hostname) ? undefined : hostname,
    }
    const base = buildConnector({ ...this.tlsOptions(), timeout: this.opts.connectTimeoutMs })
    const connectErrors = this.connectErrors
    this.agent = new Agent({
      connect: (opts, callback) => {
        base(opts, (...args) => {
          if (args[0]) connectErrors.add(args[0])
          callback(...args)
        })
      },
      connections: this.opts.connections,
      headersTimeout: this.opts.headersTimeoutMs,
      bodyTimeout: this.opts.bodyTimeoutMs,
      keepAliveTimeout: 4_000,
    })
    this.dispatcher = this.agent.compose(phaseInterceptor)
  }

  /** Asks PSA for a token. Throws VkError; never returns a half token. */
  async requestToken(input: TokenRequestInput, options: { signal?: AbortSignal; onRetry?: (info: RetryInfo) => void } = {}): Promise<TokenResult> {
    if (this.closed) throw new VkError('internal', 'This PSA client was closed: create a new one for the profile.')
    const req = buildTokenRequest(this.creds, input)
    const { signal } = options
    const sleep = this.opts.sleep ?? defaultSleep
    const random = this.opts.random ?? Math.random
    const maxTries = this.opts.maxTries

    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw cancelled()
      let failure: Failure
      try {
        const result = await this.once(req, signal)
        return { ...result, attempts: attempt }
      } catch (error) {
        if (signal?.aborted) throw cancelled()
        if (!(error instanceof FailureSignal)) throw error
        failure = error.failure
      }
      const status = failure.error.details.psa?.status
      if (!failure.retryable) throw failure.error
      if (failure.retryAfterMs !== undefined && failure.retryAfterMs > this.opts.maxRetryAfterSeconds * 1000) {
        throw failure.error // its message says when to try again
      }
      if (attempt >= maxTries) {
        throw new VkError(failure.error.code, `${failure.error.message} (Tried ${attempt} times.)`, failure.error.details, { cause: failure.error.cause })
      }
      const backoff = this.opts.retryBaseDelayMs * 2 ** (attempt - 1) * (0.5 + 0.5 * random())
      const delayMs = Math.max(Math.round(backoff), failure.retryAfterMs ?? 0)
      options.onRetry?.({ attempt, nextAttempt: attempt + 1, maxTries, delayMs, code: failure.error.code, ...(status !== undefined ? { status } : {}) })
      try {
        await sleep(delayMs, signal)
      } catch (error) {
        if (signal?.aborted || (error instanceof VkError && error.code === 'cancelled')) throw cancelled()
        throw error
      }
    }
  }

  /** One try. Resolves with the token or rejects with a FailureSignal (or 'cancelled' handled by the caller). */
  private async once(req: ReturnType<typeof buildTokenRequest>, signal: AbortSignal | undefined): Promise<Omit<TokenResult, 'attempts'>> {
    const tracker = new RequestTracker(this.opts.onRequestSent)
    const limit = deadlineSignal(this.opts.requestTimeoutMs, signal)
    // undici only aborts a request once its connection is up: a handshake that never ends
    // would hold it until the connect timeout, so the try stops here at once instead.
    const exchange = this.exchange(req, signal, limit.signal, tracker)
    let settled = false
    const done = exchange.then(
      () => (settled = true),
      () => (settled = true),
    )
    const stop = stopped(limit.signal)
    try {
      return await Promise.race([exchange, stop.promise])
    } catch (error) {
      if (limit.deadline.aborted && !signal?.aborted && limit.deadline.reason instanceof DeadlineReached) {
        throw new FailureSignal(deadlineError(tracker, this.opts.requestTimeoutMs, this.origin))
      }
      throw error
    } finally {
      limit.clear()
      stop.dispose()
      if (tracker.wasSent) this.opts.onRequestSettled?.()
      if (!settled) {
        this.stragglers.add(done)
        void done.then(() => this.stragglers.delete(done))
      }
    }
  }

  /** The HTTP exchange of one try, aborted by `combined` (the user's cancel or the deadline). */
  private async exchange(
    req: ReturnType<typeof buildTokenRequest>,
    signal: AbortSignal | undefined,
    combined: AbortSignal,
    tracker: RequestTracker,
  ): Promise<Omit<TokenResult, 'attempts'>> {
    const timeouts = { connect: this.opts.connectTimeoutMs, headers: this.opts.headersTimeoutMs, body: this.opts.bodyTimeoutMs }
    let response: Awaited<ReturnType<typeof request>>
    try {
      response = await request(req.url, {
        dispatcher: this.dispatcher,
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal: combined,
        opaque: tracker,
      })
    } catch (error) {
      if (signal?.aborted || combined.aborted) throw cancelled()
      const phase = error !== null && typeof error === 'object' && this.connectErrors.has(error) ? 'connect' : 'request'
      const failure = transportError(error, phase, this.origin, timeouts)
      if (phase === 'request' && this.silentClose(error)) {
        // Closed right after the handshake with nothing answered: find out whether the server refuses our certificate.
        const probe = await this.probe(signal)
        if (signal?.aborted) throw cancelled()
        if (probe === 'refused')
          throw new FailureSignal({ retryable: false, error: new VkError('tls.client-refused', CLIENT_REFUSED_MESSAGE, {}, { cause: error }) })
      }
      throw new FailureSignal(failure)
    }

    const receivedAt = this.opts.now?.() ?? new Date()
    const rateLimit = parseRateLimit(response.headers as Headers, receivedAt)
    const lengthHeader = intHeader(response.headers as Headers, 'content-length')
    let body: Buffer
    try {
      body = await readCapped(
        response.body as unknown as AsyncIterable<Buffer> & { destroy: (e?: Error) => unknown },
        this.opts.maxResponseBytes,
        lengthHeader,
        this.origin,
      )
    } catch (error) {
      if (signal?.aborted || combined.aborted) throw cancelled()
      if (error instanceof VkError) throw new FailureSignal({ retryable: false, error })
      throw new FailureSignal(transportError(error, 'body', this.origin, timeouts))
    }

    const status = response.statusCode
    if (status >= 200 && status < 300) {
      let json: unknown
      try {
        json = JSON.parse(body.toString('utf8'))
      } catch {
        json = undefined
      }
      const parsed = tokenAnswerSchema.safeParse(json)
      if (!parsed.success) {
        const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(body)'))].slice(0, 5).join(', ')
        throw new FailureSignal({
          retryable: false,
          error: new VkError(
            'server.malformed',
            `PSA answered ${status} but the token is incomplete or malformed (${fields}); no token was kept. Try again; if it repeats, give Stellantis support the time of the request.`,
            { rateLimit },
          ),
        })
      }
      const t = parsed.data.token
      return {
        accessToken: t.access_token,
        tokenType: t.token_type,
        expires: t.expires,
        expiresIn: Number(t.expires_in),
        tokenSignature: parsed.data.token_signature,
        rateLimit,
        receivedAt: receivedAt.toISOString(),
      }
    }

    const psa = parseErrorBody(status, body)
    const error = statusError(status, psa, rateLimit)
    if (status === 429) {
      const waitSeconds = rateLimit.retryAfterSeconds ?? rateLimit.resetSeconds
      throw new FailureSignal({ retryable: true, error, ...(waitSeconds !== undefined ? { retryAfterMs: waitSeconds * 1000 } : {}) })
    }
    if (status === 503) {
      throw new FailureSignal({
        retryable: true,
        error,
        ...(rateLimit.retryAfterSeconds !== undefined ? { retryAfterMs: rateLimit.retryAfterSeconds * 1000 } : {}),
      })
    }
    throw new FailureSignal({ retryable: false, error })
  }

  /** A fresh connection closed before any answer byte: the pattern of a refused client certificate under TLS 1.3. */
  private silentClose(error: unknown): boolean {
    const chain = errorChain(error)
    const codes = codesOf(error)
    const closed = codes.includes('UND_ERR_SOCKET') || codes.includes('ECONNRESET') || codes.includes('EPIPE')
    if (!closed) return false
    const info = chain.find((e) => e.socket && typeof e.socket === 'object')?.socket
    return info === undefined || info === null || info.bytesRead === 0
  }

  /** The one set of TLS options every connection of this client uses. */
  private tlsOptions() {
    return {
      cert: this.tls.cert,
      key: this.tls.key,
      ...(this.tls.ca ? { ca: this.tls.ca } : {}),
      // Explicit: NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment must not turn verification off.
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2' as const,
      ...(this.tls.servername ? { servername: this.tls.servername } : {}),
    }
  }

  /**
   * Opens a bare TLS connection with the same certificate and sends nothing: a server that
   * accepted the certificate sends a session ticket; one that refused it closes or alerts.
   */
  private probe(signal: AbortSignal | undefined): Promise<ProbeResult> {
    return new Promise((resolve) => {
      let settled = false
      const port = Number(this.url.port || 443)
      const host = this.url.hostname.replace(/^\[|\]$/g, '')
      const socket = tlsConnect({ host, port, ...this.tlsOptions() })
      const finish = (result: ProbeResult): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        socket.destroy()
        resolve(result)
      }
      const onAbort = (): void => finish('unknown')
      const timer = setTimeout(() => finish('unknown'), this.opts.probeTimeoutMs)
      signal?.addEventListener('abort', onAbort, { once: true })
      socket.on('session', () => finish('accepted'))
      socket.on('error', (error: ErrorLike) => {
        const code = typeof error.code === 'string' ? error.code : ''
        finish(code === 'ECONNRESET' || CLIENT_CERT_ALERT.test(code) ? 'refused' : 'unknown')
      })
      socket.on('end', () => finish('refused'))
      socket.on('close', () => finish('refused'))
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.stragglers.size > 0) await this.agent.destroy()
    else await this.agent.close()
  }
}

/** A promise that rejects when `signal` aborts; dispose() stops listening. */
function stopped(signal: AbortSignal): { promise: Promise<never>; dispose: () => void } {
  let onAbort = (): void => undefined
  const promise = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(new Error('stopped'))
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
  promise.catch(() => undefined)
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) }
}

class FailureSignal extends Error {
  constructor(readonly failure: Failure) {
    super(failure.error.message)
  }
}
