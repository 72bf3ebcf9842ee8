/**
 * Connecting to the fleet's PostgreSQL with node-postgres. TLS with certificate and host name
 * verification whenever the server offers it (the system's CAs, or the administrator's
 * private CA given with --ca); the mode seen at join is kept, so a server that offered TLS
 * once is never again spoken to in clear. Every failure becomes one clear VkError
 * ('config.fleet', exit 3) naming the server and the next step.
 */
import type pg from 'pg'
import { VkError } from '../../../shared/errors'

export interface FleetServer {
  host: string
  port: number
  database: string
}

/** 'verify': TLS required and verified; 'none': the server offered no TLS when this laptop joined. */
export type FleetTls = 'verify' | 'none'

export interface ConnectOptions extends FleetServer {
  user: string
  password: string
  caPem?: string
  tls: FleetTls | 'auto'
  /** The laptop of a joined folder: a refused login then prints the join command that stores a new password. */
  laptop?: string
  /** Milliseconds to wait for the server (default 5 s). */
  timeoutMs?: number
}

let pgModule: Promise<typeof pg> | undefined

/**
 * node-postgres, loaded the first time a fleet server is reached: a folder that never joined
 * a fleet, and every cold `vkey token`, does not pay for it (≈ 50 ms of start-up, with the
 * Node internals it pulls in: docs/performance.md).
 */
function loadPg(): Promise<typeof pg> {
  pgModule ??= import('pg').then((module) => (module as { default?: typeof pg }).default ?? (module as unknown as typeof pg))
  return pgModule
}

/** Parses postgres://HOST:PORT/DB (no user or password in it: they are given apart). */
export function parseFleetUrl(text: string): FleetServer {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new VkError('usage', `"${text}" is not a fleet server address: give postgres://HOST:PORT/DATABASE.`, { field: 'URL' })
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    throw new VkError('usage', `The fleet server address must start with postgres:// (got "${url.protocol}").`, { field: 'URL' })
  if (url.username || url.password)
    throw new VkError('usage', 'Leave the user and password out of the fleet address: give --user ROLE and the password with --password-stdin.', {
      field: 'URL',
    })
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''))
  if (!url.hostname || !database || database.includes('/'))
    throw new VkError('usage', `The fleet server address needs a host and a database: postgres://HOST:PORT/DATABASE (got "${text}").`, { field: 'URL' })
  if (url.search)
    throw new VkError(
      'usage',
      `Leave "${url.search}" out of the fleet address: TLS is always used and verified when the server offers it; a private CA is given with --ca CA.pem.`,
      { field: 'URL' },
    )
  const port = url.port ? Number(url.port) : 5432
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port, database }
}

export function fleetUrl(server: FleetServer): string {
  const host = server.host.includes(':') ? `[${server.host}]` : server.host
  return `postgres://${host}:${server.port}/${encodeURIComponent(server.database)}`
}

function clientConfig(options: ConnectOptions, tls: boolean): pg.ClientConfig {
  return {
    host: options.host,
    port: options.port,
    database: options.database,
    user: options.user,
    password: options.password,
    connectionTimeoutMillis: options.timeoutMs ?? 5000,
    ssl: tls
      ? { rejectUnauthorized: true, ...(options.caPem ? { ca: options.caPem } : {}), ...(isIp(options.host) ? {} : { servername: options.host }) }
      : false,
    application_name: 'vk-depot',
  }
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':')
}

/**
 * Opens a verified connection. With tls 'auto' (joining), TLS is tried first and plain TCP
 * only when the server says it has no TLS at all; the result says which was used.
 */
export async function connectFleet(options: ConnectOptions): Promise<{ client: pg.Client; tls: FleetTls }> {
  const where = fleetUrl(options)
  const { Client } = await loadPg()
  const attempt = async (tls: boolean): Promise<pg.Client> => {
    const client = new Client(clientConfig(options, tls))
    client.on('error', () => undefined) // a dropped connection surfaces on the next query
    try {
      await client.connect()
      return client
    } catch (error) {
      await client.end().catch(() => undefined)
      throw error
    }
  }
  try {
    if (options.tls === 'none') return { client: await attempt(false), tls: 'none' }
    try {
      return { client: await attempt(true), tls: 'verify' }
    } catch (error) {
      if (options.tls === 'auto' && /does not support SSL/i.test((error as Error).message)) return { client: await attempt(false), tls: 'none' }
      throw error
    }
  } catch (error) {
    throw connectionError(error, { where, user: options.user, caGiven: Boolean(options.caPem), ...(options.laptop ? { laptop: options.laptop } : {}) })
  }
}

/** What a connection error is said against: the address, the role, and (once joined) the laptop, to print the join command back. */
export interface ConnectionContext {
  where: string
  user: string
  laptop?: string
  /** A private CA was given (--ca): an untrusted certificate is then not fixed by giving one. */
  caGiven?: boolean
}

/** After a refused login: how to store the new password (joining again replaces it when address, laptop and role stay the same). */
function joinAgain({ where, user, laptop }: ConnectionContext): string {
  return laptop
    ? ` Check them with the administrator, then store the new password: \`vkey fleet join ${where} --laptop ${laptop} --user ${user} --password-stdin\`.`
    : ' Check them with the administrator.'
}

/**
 * Connections kept open for a few seconds between the requests of a joined laptop (claims,
 * records, checks), so a batch logs in a few times rather than twice per car. Same TLS rules
 * as connectFleet for a folder that joined (no fallback); idle ones close after 5 s and never
 * hold the process open.
 */
export async function fleetPool(options: ConnectOptions & { tls: FleetTls }): Promise<pg.Pool> {
  const { Pool } = await loadPg()
  const pool = new Pool({ ...clientConfig(options, options.tls === 'verify'), max: 4, idleTimeoutMillis: 5000, allowExitOnIdle: true })
  pool.on('error', () => undefined) // an idle connection the server closed: the pool drops it, the next request opens another
  return pool
}

/** A node-postgres or TLS error as a clear message. */
export function connectionError(error: unknown, context: ConnectionContext): VkError {
  if (error instanceof VkError) return error
  const { where, user } = context
  const e = error as NodeJS.ErrnoException & { code?: string; cert?: { subjectaltname?: string } }
  const code = e.code ?? ''
  const message = e.message ?? String(error)
  const say = (text: string) => new VkError('config.fleet', text, { field: 'fleet' }, { cause: error })
  if (code === '28P01') return say(`The fleet server ${where} refused the login of role "${user}" (wrong password, or no such role).${joinAgain(context)}`)
  // 28000: pg_hba.conf has no line for this database, role or address, or the role may not log in (retired).
  if (code === '28000') return say(`The fleet server ${where} refused role "${user}": ${message}. Ask the administrator (pg_hba.conf, or the role's LOGIN).`)
  if (code === '3D000') return say(`The fleet server ${where} has no such database. Check the address with the administrator.`)
  if (/SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE/.test(code)) {
    return say(
      context.caGiven
        ? `The fleet server ${where} presented a certificate that the CA given with --ca did not sign (${code}). Check with the administrator that it is the fleet's CA certificate.`
        : `The fleet server ${where} presented a certificate this laptop does not trust (${code}). If the administrator uses a private CA, give its certificate with --ca CA.pem.`,
    )
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = (e.cert?.subjectaltname ?? '').replace(/\b(DNS|IP Address):/g, '').trim()
    return say(
      `The fleet server's certificate is not for ${where}: it names ${names || 'no host name or address (no subjectAltName)'}. Use a name it names, or ask the administrator for a certificate naming this one (docs/fleet.md, step 1).`,
    )
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return say(
      `The fleet server ${where} presented a certificate that is ${code === 'CERT_HAS_EXPIRED' ? 'expired' : 'not yet valid'}. Tell the administrator.`,
    )
  if (/does not support SSL/i.test(message))
    return say(
      `The fleet server ${where} no longer offers TLS, though it did when this laptop joined: refusing to send the password in clear. Tell the administrator.`,
    )
  if (
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH' ||
    code === 'EAI_AGAIN' ||
    /timeout/i.test(message)
  ) {
    return say(`Cannot reach the fleet server ${where} (${code || 'timeout'}). Check the address and the network.`)
  }
  return say(`The fleet server ${where} failed: ${message}.`)
}

/** True when the error means the server is out of reach (offline first: keep working locally). */
export function isUnreachable(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? ''
  const cause = (error as { cause?: { code?: string; message?: string } }).cause
  const inner = cause?.code ?? ''
  const text = `${(error as Error).message ?? ''} ${cause?.message ?? ''}`
  return (
    ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE', '57P01', '57P03'].some((c) => c === code || c === inner) ||
    /Cannot reach the fleet server|timeout|Connection terminated/i.test(text)
  )
}
