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
import type { Readable } from 'node:stream'
import { connect as tlsConnect } from 'node:tls'
import { isIP } from 'node:net'
import type { Dispatcher } from 'undici'
import { VkError, type ErrorCode, type RateLimitInfo } from '../../shared/errors'
import { intHeader, parseErrorBody, parseRateLimit, statusError, tokenAnswerSchema, type Headers } from './psa-answers'
import { buildTokenRequest, type TokenEndpoint, type TokenRequestInput } from './psa-request'
import { CLIENT_CERT_ALERT, CLIENT_REFUSED_MESSAGE, cancelled, codesOf, errorChain, transportError, type ErrorLike, type Failure } from './psa-transport-errors'
import { Agent, buildConnector, request } from './undici-lean'
import { DEFAULT_REQUEST_TIMEOUT_MS, DeadlineReached, RequestTracker, deadlineError, deadlineSignal, phaseInterceptor } from './request-deadline'

/** A profile's partner credentials: where and as whom to ask, and the mutual-TLS material. */
export interface PartnerCredentials extends TokenEndpoint {
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

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled(false))
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    function onAbort(): void {
      clearTimeout(timer)
      reject(cancelled(false))
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

async function readCapped(body: Readable, max: number, contentLength: number | undefined, origin: string): Promise<Buffer> {
  const tooLarge = (): VkError =>
    new VkError(
      'server.too-large',
      `The answer from ${origin} is larger than ${Math.round(max / 1024)} KiB, far more than a token: check the profile's base URL points at the PSA token service.`,
    )
  if (contentLength !== undefined && contentLength > max) {
    body.destroy()
    throw tooLarge()
  }
  const chunks: Buffer[] = []
  let size = 0
  // Data events, not an async iterator: the iterator's promise per chunk cost ≈ 0.1 ms a request (bench figure 1).
  return new Promise<Buffer>((resolve, reject) => {
    body.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > max) {
        body.destroy()
        reject(tooLarge())
      } else chunks.push(chunk)
    })
    body.on('end', () => resolve(Buffer.concat(chunks)))
    body.on('error', reject)
  })
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

    // A try is repeated only when PSA cannot have issued a key: a cancel between tries leaves none.
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw cancelled(false)
      let failure: Failure
      try {
        const result = await this.once(req, signal)
        return { ...result, attempts: attempt }
      } catch (error) {
        if (signal?.aborted) throw error instanceof VkError && error.code === 'cancelled' ? error : cancelled(true)
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
        if (signal?.aborted || (error instanceof VkError && error.code === 'cancelled')) throw cancelled(false)
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
      if (signal?.aborted) throw cancelled(tracker.wasSent)
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
      if (signal?.aborted || combined.aborted) throw cancelled(tracker.wasSent)
      const phase = error !== null && typeof error === 'object' && this.connectErrors.has(error) ? 'connect' : 'request'
      const failure = transportError(error, phase, this.origin, timeouts)
      if (phase === 'request' && this.silentClose(error)) {
        // Closed right after the handshake with nothing answered: find out whether the server refuses our certificate.
        const probe = await this.probe(signal)
        if (signal?.aborted) throw cancelled(tracker.wasSent)
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
      body = await readCapped(response.body, this.opts.maxResponseBytes, lengthHeader, this.origin)
    } catch (error) {
      if (signal?.aborted || combined.aborted) throw cancelled(tracker.wasSent)
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
