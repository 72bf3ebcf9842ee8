/**
 * The simulator's one route, as the documented Stellantis endpoint answers it:
 *   POST {base}/fleets/virtualkey/smartaccess/token?client_id=…
 * The documented checks in order (path, method, client id, Basic authorization, the client
 * certificate's CN, headers, body, duration, CarData), and the token answer it signs.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { checkCarDataValue } from '../../../shared/cardata-base64'
import { TOKEN_ENDPOINT_PATH } from '../psa-request'
import { simulatorInspect } from './cardata'
import type { SimulatorFaults } from './faults'
import { signToken, type SimulatorMaterial } from './material'
import type { SimulatorRequestRecord } from './types'

/** The simulator serves the documented base path, as PSA does (profiles' base URL ends in /connectedcar/v3). */
export const TOKEN_PATH = `/connectedcar/v3${TOKEN_ENDPOINT_PATH}`
export const DEFAULT_DURATION_SECONDS = 86_400
export const MAX_DURATION_SECONDS = 30 * 86_400

/** Statuses the documented endpoint (and the B2B family, for 429) can answer with. */
export const DOCUMENTED_ERROR_STATUSES = [400, 401, 403, 404, 408, 429, 500, 502, 503, 504] as const

export const REASONS: Record<number, string> = {
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

/** An error answer: the status, the two digits after it in PSA's code (`status * 100 + nn`), the message. */
export class Answer {
  constructor(
    readonly status: number,
    readonly nn: number,
    readonly message: string,
  ) {}
}

/** What the route checks a request against. */
export interface RouteContext {
  now: () => Date
  material: SimulatorMaterial
  acceptedClientIds: ReadonlySet<string>
  password: string
  faults: SimulatorFaults
}

/** The request as read: its URL, its body (up to the limit) and whether the body was over it. */
export interface ReadRequest {
  req: IncomingMessage
  url: URL
  body: Buffer
  tooLarge: boolean
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

/** Who is asking: the client id, the Basic login and password, the certificate's CN. */
function checkCaller(context: RouteContext, { req, url }: ReadRequest, record: SimulatorRequestRecord): Answer | undefined {
  if (url.pathname !== TOKEN_PATH) return new Answer(404, 99, 'No data available for such context.')
  if (req.method !== 'POST') return new Answer(405, 1, 'Only POST is allowed on this resource.')
  const clientId = url.searchParams.get('client_id')
  if (clientId === null || clientId === '') return new Answer(401, 1, 'Missing client_id.')
  if (!context.acceptedClientIds.has(clientId)) return new Answer(403, 1, 'Unknown client_id.')

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
  const loginOk = sameSecret(login, context.material.credentials.login)
  const passOk = sameSecret(pass, context.password)
  if (!loginOk || !passOk) return new Answer(401, 3, 'Invalid login or password.')
  if (record.clientCertCn !== login) return new Answer(403, 2, 'The client certificate does not belong to this login.')
  return undefined
}

/** What is asked: the headers, the JSON body with its carToken, the duration, the CarData. Returns the seconds to grant. */
function checkBody(context: RouteContext, { req, body, tooLarge }: ReadRequest, record: SimulatorRequestRecord): Answer | number {
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
  const inspection = simulatorInspect(carToken.CarData, context.now())
  if (inspection.inner) record.carDataInner = { uin: inspection.inner.uin, ageDays: inspection.ageDays ?? 0, warnings: inspection.warnings.map((w) => w.code) }
  return seconds
}

/** The documented checks, in order. Returns the duration to grant, or the error to answer. */
export function checkTokenRequest(context: RouteContext, request: ReadRequest, record: SimulatorRequestRecord): Answer | number {
  return checkCaller(context, request, record) ?? checkBody(context, request, record)
}

/** The body of a granted token, signed with the simulator's key; the expiry faults bend it. */
export function tokenBody({ now, material, faults }: RouteContext, durationSeconds: number): string {
  const issuedAt = new Date(Math.floor(now().getTime() / 1000) * 1000)
  const lifeSeconds = faults.expiry === 'past' ? -60 : faults.expiry === 'far-future' ? 365 * 86_400 : durationSeconds
  const expires = isoSeconds(new Date(issuedAt.getTime() + lifeSeconds * 1000))
  const accessToken = randomBytes(32).toString('base64')
  const expiresIn =
    faults.expiry === 'absurd-expires-in'
      ? '9'.repeat(300)
      : faults.expiry === 'disagree'
        ? String(Math.max(1, durationSeconds - 3600))
        : faults.expiry === 'past'
          ? String(durationSeconds)
          : String(lifeSeconds)
  const token = { access_token: accessToken, expires, expires_in: expiresIn, token_type: 'bearer' }
  return JSON.stringify({ token, token_signature: signToken(material, accessToken, expires) })
}
