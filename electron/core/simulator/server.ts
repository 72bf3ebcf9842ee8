/**
 * The PSA simulator: a real node:https server with mutual TLS that answers
 *   POST {base}/fleets/virtualkey/smartaccess/token?client_id=…
 * like the documented Stellantis endpoint (base = https://localhost:PORT/connectedcar/v3),
 * with test-only fault modes settable at runtime through `sim.faults`.
 */
import { randomBytes, randomUUID, timingSafeEqual, createHash } from 'node:crypto'
import { createServer, type Server } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { VkError } from '../../../shared/errors'
import { checkCarDataValue } from '../../../shared/cardata'
import { defaultStallFaults, sendStalled, type StallFaults } from './faults'
import { clientCaList } from './client-cas'
import { loadSimulatorMaterial, signToken, type SimulatorMaterial } from './material'
import { simulatorInspect } from './cardata'

export const TOKEN_PATH = '/connectedcar/v3/fleets/virtualkey/smartaccess/token'
export const DEFAULT_DURATION_SECONDS = 86_400
export const MAX_DURATION_SECONDS = 30 * 86_400
const MAX_REQUEST_BYTES = 1024 * 1024

/** Statuses the documented endpoint (and the B2B family, for 429) can answer with. */
export const DOCUMENTED_ERROR_STATUSES = [400, 401, 403, 404, 408, 429, 500, 502, 503, 504] as const

/** One scripted answer: a status (200 = answer normally) or a fault. */
export type ScriptStep = number | 'reset' | 'malformed' | 'oversized'

export interface SimulatorFaults extends StallFaults {
  /** Wait this long after the request is read, before doing anything. */
  latencyMs: number
  /** Consumed one per request, e.g. [503, 503, 200]. 200 answers normally; other statuses get the error body. */
  statuses: ScriptStep[]
  /** Retry-After (seconds) sent with every 429. */
  retryAfterSeconds: number
  /** Every request: destroy the socket once the request has been read. */
  reset: boolean
  /** Wait this long before writing the response headers. */
  slowHeadersMs: number
  /** Every request: 200 with a token body missing fields. */
  malformed: boolean
  /** Every request: 200 with a multi-MB body. */
  oversized: boolean
  oversizedBytes: number
  /** Burst limit: at most N requests per second, then 429 (null = off). */
  burstPerSecond: number | null
  /** Grant at most this many seconds, whatever was asked (null = grant what was asked), as a server policy may. */
  maxGrantSeconds: number | null
  /**
   * A wrong expiry in an otherwise good answer: 'past' (already expired), 'far-future'
   * (a year, whatever was asked), 'absurd-expires-in' (hundreds of digits), 'disagree'
   * (expires_in says one hour less than expires). null = right.
   */
  expiry: 'past' | 'far-future' | 'absurd-expires-in' | 'disagree' | null
}

export interface SimulatorRequestRecord {
  /** ISO time the request arrived. */
  at: string
  method: string
  path: string
  clientId: string | null
  /** Status answered; null when the socket was reset or the client went away first. */
  status: number | null
  outcome: 'answered' | 'reset' | 'client-gone'
  /** The body was JSON. */
  bodyParsed: boolean
  /** CN of the client certificate presented. */
  clientCertCn: string | null
  /** UIN and age (days) inside the CarData, when it decodes to {timestamp, uin} (shared/cardata-inner.ts). */
  carDataInner?: { uin: string; ageDays: number; warnings: string[] }
}

export interface SimulatorStats {
  /** Mutual-TLS connections established (keep-alive reuse shows as fewer connections than requests). */
  connections: number
  /** Requests that reached HTTP (after a successful mutual-TLS handshake). */
  requests: number
  /** TLS handshakes the server refused or that failed (unknown, expired or missing client certificate…). */
  handshakeFailures: number
  tokensIssued: number
  resets: number
  byStatus: Record<number, number>
}

/** Test-only view of the raw request, secrets included. Never log it. */
export interface RawRequestCapture {
  method: string
  /** Path and query exactly as sent. */
  url: string
  rawHeaders: string[]
  body: Buffer
}

export interface SimulatorOptions {
  /** Folder for the key material (created 0700 on first start, reused later). */
  dir: string
  /** 0 = random free port (default). */
  port?: number
  /** Address to listen on, default 127.0.0.1. The certificate is valid for localhost, 127.0.0.1 and ::1. */
  host?: string
  latencyMs?: number
  now?: () => Date
  /** Test-only: serve this certificate instead of the simulator's own (expired, wrong host, other CA…). */
  tlsOverride?: { certPem: string; keyPem: string }
  /** Test-only: highest TLS version offered (default TLSv1.3); TLSv1.2 makes certificate refusals happen inside the handshake. */
  maxTlsVersion?: 'TLSv1.2' | 'TLSv1.3'
  /** Test-only: the password to accept instead of the demo one. */
  password?: string
  /** Client ids accepted besides the demo one. */
  extraClientIds?: string[]
  /** Daily limit shown in X-RateLimit-Limit-1 (default 10000). */
  dayLimit?: number
  /** PEM CA certificates whose client certificates are accepted besides the demo partner CA's (client-cas.ts). */
  extraClientCas?: string[]
}

export interface Simulator {
  baseUrl: string
  port: number
  host: string
  /** The address the server really listens on (server.address()), e.g. 0.0.0.0 for all interfaces. */
  boundAddress: string
  material: SimulatorMaterial
  faults: SimulatorFaults
  readonly requests: SimulatorRequestRecord[]
  readonly stats: SimulatorStats
  /** Test-only: called with every raw request (secrets included). */
  tap: ((raw: RawRequestCapture) => void) | null
  /** Restores the default (no) faults. */
  resetFaults(): void
  close(): Promise<void>
}

export function defaultFaults(latencyMs = 0): SimulatorFaults {
  return {
    latencyMs,
    statuses: [],
    retryAfterSeconds: 1,
    reset: false,
    slowHeadersMs: 0,
    malformed: false,
    oversized: false,
    oversizedBytes: 4 * 1024 * 1024,
    burstPerSecond: null,
    maxGrantSeconds: null,
    expiry: null,
    ...defaultStallFaults(),
  }
}

const REASONS: Record<number, string> = {
  400: 'Bad request.',
  401: 'Unauthorized.',
  403: 'Forbidden.',
  404: 'No data available for such context.',
  405: 'Method not allowed.',
  408: 'Request time-out.',
  429: 'Too many requests.',
  500: 'Internal server error.',
  502: 'Bad gateway.',
  503: 'Service unavailable.',
  504: 'Gateway time-out.',
}

class Answer {
  constructor(
    readonly status: number,
    readonly nn: number,
    readonly message: string,
  ) {}
}

function isBase64(value: string): boolean {
  return value.length > 0 && value.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(value)
}

function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest()
  const hb = createHash('sha256').update(b, 'utf8').digest()
  return timingSafeEqual(ha, hb)
}

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

function loopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost' || host === '0.0.0.0' || host === '::'
}

function peerCommonName(socket: Socket): string | null {
  const tls = socket as TLSSocket
  if (typeof tls.getPeerCertificate !== 'function') return null
  const cert = tls.getPeerCertificate()
  const cn: unknown = cert?.subject?.CN
  if (typeof cn === 'string') return cn
  if (Array.isArray(cn) && typeof cn[0] === 'string') return cn[0]
  return null
}

/** Starts the simulator. Use from the CLI (`vkey simulator`) and from tests. */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const now = options.now ?? (() => new Date())
  const host = options.host ?? '127.0.0.1'
  const material = await loadSimulatorMaterial(options.dir, { now })
  const tlsIdentity = options.tlsOverride ?? material.server
  const acceptedClientIds = new Set([material.credentials.clientId, ...(options.extraClientIds ?? [])])
  const password = options.password ?? material.credentials.password
  const dayLimit = options.dayLimit ?? 10_000

  const faults = defaultFaults(options.latencyMs ?? 0)
  const requests: SimulatorRequestRecord[] = []
  const stats: SimulatorStats = { connections: 0, requests: 0, handshakeFailures: 0, tokensIssued: 0, resets: 0, byStatus: {} }
  const sockets = new Set<Socket>()
  const closing = new AbortController()
  let dayUsed = 0
  let burstWindow = { second: -1, count: 0 }

  const wait = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (ms <= 0 || closing.signal.aborted) return resolve()
      const timer = setTimeout(done, ms)
      function done(): void {
        clearTimeout(timer)
        closing.signal.removeEventListener('abort', done)
        resolve()
      }
      closing.signal.addEventListener('abort', done, { once: true })
    })

  const server: Server = createServer({
    cert: tlsIdentity.certPem,
    key: tlsIdentity.keyPem,
    ca: clientCaList(material.partnerCa.certPem, options.extraClientCas),
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    maxVersion: options.maxTlsVersion ?? 'TLSv1.3',
  })
  server.keepAliveTimeout = 5_000

  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.on('secureConnection', () => {
    stats.connections++
  })
  server.on('tlsClientError', () => {
    stats.handshakeFailures++
  })

  function rateLimitHeaders(): Record<string, string> {
    // With the burst fault off nothing is enforced, so the headers must not claim a small budget.
    const burstLimit = faults.burstPerSecond ?? 1000
    return {
      'X-RateLimit-Limit-1': String(dayLimit),
      'X-RateLimit-Remaining-1': String(Math.max(0, dayLimit - dayUsed)),
      'X-RateLimit-Limit-2': String(burstLimit),
      'X-RateLimit-Remaining-2': String(Math.max(0, burstLimit - burstWindow.count)),
    }
  }

  async function send(res: ServerResponse, record: SimulatorRequestRecord, status: number, body: string, extra: Record<string, string> = {}): Promise<void> {
    await wait(faults.slowHeadersMs)
    if (res.destroyed || res.socket === null || res.socket.destroyed) {
      record.outcome = 'client-gone'
      return
    }
    const headers = {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(body)),
      ...rateLimitHeaders(),
      ...extra,
    }
    if (faults.stall) {
      const started = await sendStalled(res, faults.stall, { status, headers, body }, { dripIntervalMs: faults.dripIntervalMs, wait, closing: closing.signal })
      if (!started) {
        record.outcome = 'client-gone'
        return
      }
    }
    record.status = status
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1
    if (faults.stall) return
    res.writeHead(status, headers)
    res.end(body)
  }

  function errorBody(answer: Answer): string {
    return JSON.stringify({
      code: answer.status * 100 + answer.nn,
      uuid: faults.errorUuid ?? randomUUID(),
      message: answer.message,
      timestamp: now().toISOString(),
    })
  }

  async function sendError(res: ServerResponse, record: SimulatorRequestRecord, answer: Answer): Promise<void> {
    const extra: Record<string, string> = {}
    if (answer.status === 429) {
      extra['Retry-After'] = String(faults.retryAfterSeconds)
      extra['X-RateLimit-Reset'] = String(faults.retryAfterSeconds)
    }
    if (answer.status === 405) extra['Allow'] = 'POST'
    await send(res, record, answer.status, errorBody(answer), extra)
  }

  function tokenAnswer(durationSeconds: number): { body: string } {
    const issuedAt = new Date(Math.floor(now().getTime() / 1000) * 1000)
    const lifeSeconds = faults.expiry === 'past' ? -60 : faults.expiry === 'far-future' ? 365 * 86_400 : durationSeconds
    const expires = isoSeconds(new Date(issuedAt.getTime() + lifeSeconds * 1000))
    const accessToken = randomBytes(32).toString('base64')
    const expiresIn = faults.expiry === 'absurd-expires-in' ? '9'.repeat(300) : faults.expiry === 'disagree' ? String(Math.max(1, durationSeconds - 3600)) : faults.expiry === 'past' ? String(durationSeconds) : String(lifeSeconds)
    const token = { access_token: accessToken, expires, expires_in: expiresIn, token_type: 'bearer' }
    return { body: JSON.stringify({ token, token_signature: signToken(material, accessToken, expires) }) }
  }

  /** The documented checks, in order. Returns the duration to grant, or the error to answer. */
  function check(req: IncomingMessage, url: URL, body: Buffer, record: SimulatorRequestRecord, tooLarge: boolean): Answer | number {
    if (url.pathname !== TOKEN_PATH) return new Answer(404, 99, 'No data available for such context.')
    if (req.method !== 'POST') return new Answer(405, 1, 'Only POST is allowed on this resource.')
    const clientId = url.searchParams.get('client_id')
    if (clientId === null || clientId === '') return new Answer(401, 1, 'Missing client_id.')
    if (!acceptedClientIds.has(clientId)) return new Answer(403, 1, 'Unknown client_id.')

    const authorization = req.headers.authorization ?? ''
    const match = /^Basic +([A-Za-z0-9+/=]+)$/i.exec(authorization)
    if (!match || !isBase64(match[1] ?? '')) return new Answer(401, 2, 'Missing or malformed Basic authorization.')
    let decoded: string
    try {
      decoded = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(match[1] ?? '', 'base64'))
    } catch {
      return new Answer(401, 2, 'Basic authorization is not UTF-8.')
    }
    const colon = decoded.indexOf(':')
    if (colon < 0) return new Answer(401, 2, 'Basic authorization has no password.')
    const login = decoded.slice(0, colon)
    const pass = decoded.slice(colon + 1)
    const loginOk = sameSecret(login, material.credentials.login)
    const passOk = sameSecret(pass, password)
    if (!loginOk || !passOk) return new Answer(401, 3, 'Invalid login or password.')
    if (record.clientCertCn !== login) return new Answer(403, 2, 'The client certificate does not belong to this login.')

    const accept = (req.headers.accept ?? '').toLowerCase()
    if (!accept.includes('application/json')) return new Answer(400, 1, 'The accept header must be application/json.')
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase()
    if (contentType !== 'application/json') return new Answer(400, 2, 'The content-type header must be application/json.')
    if (tooLarge) return new Answer(400, 9, 'The request body is too large.')

    let json: unknown
    try {
      json = JSON.parse(body.toString('utf8'))
      record.bodyParsed = true
    } catch {
      return new Answer(400, 3, 'The body is not valid JSON.')
    }
    const carToken = (json as { carToken?: unknown } | null)?.carToken as { CarData?: unknown; CarData_signature?: unknown } | undefined
    if (typeof json !== 'object' || json === null || typeof carToken !== 'object' || carToken === null) {
      return new Answer(400, 4, 'The body must contain a carToken object.')
    }
    if (typeof carToken.CarData !== 'string' || typeof carToken.CarData_signature !== 'string') {
      return new Answer(400, 4, 'carToken must contain CarData and CarData_signature strings.')
    }
    const duration: unknown = (json as { duration?: unknown }).duration
    let seconds = DEFAULT_DURATION_SECONDS
    if (duration !== undefined) {
      if (typeof duration !== 'string' || !/^[1-9][0-9]{0,9}$/.test(duration)) {
        return new Answer(400, 5, 'duration must be a string holding a positive whole number of seconds.')
      }
      seconds = Number(duration)
      if (seconds > MAX_DURATION_SECONDS) return new Answer(400, 6, `duration must not exceed ${MAX_DURATION_SECONDS} seconds.`)
    }
    // The importer's own rule (shared/cardata.ts): the two never disagree on what is valid CarData.
    const data = checkCarDataValue(carToken.CarData)
    if (!data.ok) return new Answer(400, 7, `CarData is not base64: it ${data.problem}.`)
    const signature = checkCarDataValue(carToken.CarData_signature)
    if (!signature.ok) return new Answer(400, 8, `CarData_signature is not base64: it ${signature.problem}.`)
    const inspection = simulatorInspect(carToken.CarData, now())
    if (inspection.inner) record.carDataInner = { uin: inspection.inner.uin, ageDays: inspection.ageDays ?? 0, warnings: inspection.warnings.map((w) => w.code) }
    return seconds
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://simulator.invalid')
    const record: SimulatorRequestRecord = {
      at: now().toISOString(),
      method: req.method ?? '',
      path: url.pathname,
      clientId: url.searchParams.get('client_id'),
      status: null,
      outcome: 'answered',
      bodyParsed: false,
      clientCertCn: peerCommonName(req.socket),
    }
    requests.push(record)
    stats.requests++

    const chunks: Buffer[] = []
    let size = 0
    let tooLarge = false
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > MAX_REQUEST_BYTES) tooLarge = true
      else chunks.push(chunk)
    }
    const body = Buffer.concat(chunks)
    if (sim.tap) sim.tap({ method: req.method ?? '', url: req.url ?? '', rawHeaders: [...req.rawHeaders], body })

    await wait(faults.latencyMs)
    if (closing.signal.aborted) return

    const step = faults.statuses.shift()
    if (faults.reset || step === 'reset') {
      record.outcome = 'reset'
      stats.resets++
      req.socket.destroy()
      return
    }

    dayUsed++
    const second = Math.floor(now().getTime() / 1000)
    if (burstWindow.second !== second) burstWindow = { second, count: 0 }
    burstWindow.count++
    if (faults.burstPerSecond !== null && burstWindow.count > faults.burstPerSecond) {
      const answer = new Answer(429, 2, 'Burst rate limit exceeded.')
      await send(res, record, 429, errorBody(answer), { 'Retry-After': '1', 'X-RateLimit-Reset': '1' })
      return
    }

    if (typeof step === 'number' && step !== 200) {
      await sendError(res, record, new Answer(step, 99, REASONS[step] ?? 'Simulated failure.'))
      return
    }
    if (faults.malformed || step === 'malformed') {
      await send(res, record, 200, JSON.stringify({ token: { access_token: randomBytes(16).toString('base64') }, token_signature: '' }))
      return
    }
    if (faults.oversized || step === 'oversized') {
      await sendOversized(res, record)
      return
    }

    const result = check(req, url, body, record, tooLarge)
    if (result instanceof Answer) {
      await sendError(res, record, result)
      return
    }
    const { body: tokenBody } = tokenAnswer(faults.maxGrantSeconds === null ? result : Math.min(result, faults.maxGrantSeconds))
    stats.tokensIssued++
    await send(res, record, 200, tokenBody)
  }

  async function sendOversized(res: ServerResponse, record: SimulatorRequestRecord): Promise<void> {
    await wait(faults.slowHeadersMs)
    if (res.destroyed) return
    record.status = 200
    stats.byStatus[200] = (stats.byStatus[200] ?? 0) + 1
    // No Content-Length: the client has to count the bytes itself.
    res.writeHead(200, { 'Content-Type': 'application/json', ...rateLimitHeaders() })
    const chunk = 'x'.repeat(64 * 1024)
    res.write('{"padding":"')
    let written = 0
    while (written < faults.oversizedBytes && !res.destroyed && !closing.signal.aborted) {
      if (!res.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            res.off('drain', done)
            res.off('close', done)
            resolve()
          }
          res.on('drain', done)
          res.on('close', done)
        })
      }
      written += chunk.length
    }
    if (!res.destroyed) res.end('"}')
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    res.on('error', () => undefined)
    handle(req, res).catch(() => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify({ code: 50000, uuid: randomUUID(), message: 'Simulator failure.', timestamp: now().toISOString() }))
      } else {
        res.destroy()
      }
    })
  })

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(
        new VkError(
          'usage',
          error.code === 'EADDRINUSE'
            ? `Port ${options.port ?? 0} on ${host} is already in use: pick another with --port, or 0 for any free port.`
            : `The simulator could not listen on ${host}:${options.port ?? 0} (${error.code ?? error.message}): pick another --port.`,
          {},
          { cause: error },
        ),
      )
    }
    server.once('error', onError)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 0)
  const boundAddress = typeof address === 'object' && address !== null ? address.address : host
  const urlHost = loopback(host) ? 'localhost' : host.includes(':') ? `[${host}]` : host

  let closed: Promise<void> | null = null
  const sim: Simulator = {
    baseUrl: `https://${urlHost}:${port}/connectedcar/v3`,
    port,
    host,
    boundAddress,
    material,
    faults,
    requests,
    stats,
    tap: null,
    resetFaults() {
      Object.assign(faults, defaultFaults(0))
    },
    close() {
      if (closed) return closed
      closing.abort()
      closed = new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
        for (const socket of sockets) socket.destroy()
      })
      return closed
    },
  }
  return sim
}
