/**
 * Why a token request could not go through, from the error undici or TLS gave: the server's
 * certificate refused, ours refused, no connection (nothing sent: safe to retry), or the
 * connection lost after the request was sent (never retried: a token may exist). Each
 * becomes a VkError naming the server and the next step.
 */
import { VkError } from '../../shared/errors'

export interface ErrorLike {
  code?: unknown
  message?: unknown
  cause?: unknown
  socket?: { bytesRead?: number } | null
}

export function errorChain(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = []
  let current: unknown = error
  while (current !== null && typeof current === 'object' && chain.length < 5) {
    chain.push(current as ErrorLike)
    current = (current as ErrorLike).cause
  }
  return chain
}

export function codesOf(error: unknown): string[] {
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
export const CLIENT_CERT_ALERT =
  /ALERT_(BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|UNSUPPORTED_CERTIFICATE|UNKNOWN_CA|ACCESS_DENIED|HANDSHAKE_FAILURE|CERTIFICATE_REQUIRED|DECRYPT_ERROR)$/

export const CLIENT_REFUSED_MESSAGE =
  'The server closed the connection: the partner certificate was probably refused. Check the profile uses the certificate Stellantis signed for this MZP login, with its own key, and that it has not expired.'

export interface Failure {
  error: VkError
  /** Safe to send again: the server cannot have processed the request. */
  retryable: boolean
  /** Wait at least this long before the next try (Retry-After). */
  retryAfterMs?: number
}

/** Why a request could not go through: connect phase (nothing sent) or later. */
export function transportError(
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

/** The request was sent: never repeated, as a token may have been issued (each error says so: `unanswered`). */
function afterSendFailure({ codes, origin, cause }: FailureFacts, phase: 'request' | 'body', timeouts: { headers: number; body: number }): Failure {
  const has = (c: string): boolean => codes.includes(c)
  const firstSsl = codes.find((c) => c.startsWith('ERR_SSL_'))
  if (has('UND_ERR_HEADERS_TIMEOUT')) {
    return {
      retryable: false,
      error: new VkError(
        'network.timeout',
        `PSA did not answer within ${Math.round(timeouts.headers / 1000)} s after the request was sent. It was not repeated, as a token may have been issued: wait a minute, then try again.`,
        { unanswered: true },
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
        { unanswered: true },
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
        { unanswered: true },
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
      { unanswered: true },
      cause,
    ),
  }
}

/**
 * The user's cancel. `sent`: the try under way had reached PSA, which may then have issued a
 * key (`unanswered`, as for a request that got no answer); false when nothing was sent, or
 * PSA's last answer issued nothing (a cancel while waiting to retry).
 */
export function cancelled(sent: boolean): VkError {
  return new VkError('cancelled', 'The token request was cancelled.', { unanswered: sent })
}
