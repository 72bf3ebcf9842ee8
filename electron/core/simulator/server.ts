/**
 * The PSA simulator: a real node:https server with mutual TLS that answers the documented
 * Stellantis token endpoint (routes.ts; base = https://localhost:PORT/connectedcar/v3), with
 * test-only fault modes settable at runtime through `sim.faults` (faults.ts). This module
 * holds the server: TLS, connections, reading a request, the order of the steps, listening
 * and closing.
 */
import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { VkError } from '../../../shared/errors'
import { clientCaList } from './client-cas'
import { answerWithFault, defaultFaults, type SimulatorFaults } from './faults'
import { loadSimulatorMaterial } from './material'
import { Responder } from './responses'
import { Answer, checkTokenRequest, tokenBody, type ReadRequest, type RouteContext } from './routes'
import type { RawRequestCapture, Simulator, SimulatorOptions, SimulatorRequestRecord, SimulatorStats } from './types'

export { defaultFaults, type ScriptStep, type SimulatorFaults } from './faults'
export { DEFAULT_DURATION_SECONDS, DOCUMENTED_ERROR_STATUSES, MAX_DURATION_SECONDS, TOKEN_PATH } from './routes'
export type { RawRequestCapture, Simulator, SimulatorOptions, SimulatorRequestRecord, SimulatorStats } from './types'

const MAX_REQUEST_BYTES = 1024 * 1024

function loopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost' || host === '0.0.0.0' || host === '::'
}

/** The client certificate's CN, read once per connection (renegotiation is refused: it cannot change). */
const commonNames = new WeakMap<Socket, string | null>()

function peerCommonName(socket: Socket): string | null {
  if (commonNames.has(socket)) return commonNames.get(socket) ?? null
  const cn = readPeerCommonName(socket)
  commonNames.set(socket, cn)
  return cn
}

function readPeerCommonName(socket: Socket): string | null {
  const tls = socket as TLSSocket
  if (typeof tls.getPeerCertificate !== 'function') return null
  const cert = tls.getPeerCertificate()
  const cn: unknown = cert?.subject?.CN
  if (typeof cn === 'string') return cn
  if (Array.isArray(cn) && typeof cn[0] === 'string') return cn[0]
  return null
}

/** A wait that ends early once `closing` aborts. */
function waiter(closing: AbortSignal): (ms: number) => Promise<void> {
  return (ms) =>
    new Promise((resolve) => {
      if (ms <= 0 || closing.aborted) return resolve()
      const timer = setTimeout(done, ms)
      function done(): void {
        clearTimeout(timer)
        closing.removeEventListener('abort', done)
        resolve()
      }
      closing.addEventListener('abort', done, { once: true })
    })
}

/** The request's body up to MAX_REQUEST_BYTES (the rest is read and dropped). */
async function readRequest(req: IncomingMessage): Promise<ReadRequest> {
  const url = new URL(req.url ?? '/', 'https://simulator.invalid')
  const chunks: Buffer[] = []
  let size = 0
  let tooLarge = false
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_REQUEST_BYTES) tooLarge = true
    else chunks.push(chunk)
  }
  return { req, url, body: Buffer.concat(chunks), tooLarge }
}

interface Handling {
  route: RouteContext
  responder: Responder
  requests: SimulatorRequestRecord[]
  stats: SimulatorStats
  wait: (ms: number) => Promise<void>
  closing: AbortSignal
  tap: () => ((raw: RawRequestCapture) => void) | null
}

/** One request, in order: record it, read it, latency, the faults, the documented checks, the token. */
async function handle(h: Handling, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { route, responder, stats } = h
  const url = new URL(req.url ?? '/', 'https://simulator.invalid')
  const record: SimulatorRequestRecord = {
    at: route.now().toISOString(),
    method: req.method ?? '',
    path: url.pathname,
    clientId: url.searchParams.get('client_id'),
    status: null,
    outcome: 'answered',
    bodyParsed: false,
    clientCertCn: peerCommonName(req.socket),
  }
  h.requests.push(record)
  stats.requests++

  const request = await readRequest(req)
  h.tap()?.({ method: req.method ?? '', url: req.url ?? '', rawHeaders: [...req.rawHeaders], body: request.body })

  await h.wait(route.faults.latencyMs)
  if (route.faults.hold) await Promise.race([route.faults.hold, new Promise((resolve) => h.closing.addEventListener('abort', resolve, { once: true }))])
  if (h.closing.aborted) return
  const exchange = { res, record }
  if (await answerWithFault(route.faults, exchange, req, responder, stats)) return

  const result = checkTokenRequest(route, request, record)
  if (result instanceof Answer) {
    await responder.sendError(exchange, result)
    return
  }
  const body = tokenBody(route, route.faults.maxGrantSeconds === null ? result : Math.min(result, route.faults.maxGrantSeconds))
  stats.tokensIssued++
  await responder.send(exchange, 200, body)
}

/** The https server with mutual TLS, counting connections and refused handshakes. */
function tlsServer(
  options: SimulatorOptions,
  identity: { certPem: string; keyPem: string },
  partnerCaPem: string,
  stats: SimulatorStats,
  sockets: Set<Socket>,
): Server {
  const server: Server = createServer({
    cert: identity.certPem,
    key: identity.keyPem,
    ca: clientCaList(partnerCaPem, options.extraClientCas),
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
  server.on('secureConnection', (socket: TLSSocket) => {
    stats.connections++
    // A connection keeps the certificate it was authenticated with (the CN is read once per connection).
    socket.disableRenegotiation()
  })
  server.on('tlsClientError', () => {
    stats.handshakeFailures++
  })
  return server
}

/** Listens, or says which --port to pick instead. */
function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(
        new VkError(
          'usage',
          error.code === 'EADDRINUSE'
            ? `Port ${port} on ${host} is already in use: pick another with --port, or 0 for any free port.`
            : `The simulator could not listen on ${host}:${port} (${error.code ?? error.message}): pick another --port.`,
          {},
          { cause: error },
        ),
      )
    }
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
}

/** Starts the simulator. Use from the CLI (`vkey simulator`) and from tests. */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const now = options.now ?? (() => new Date())
  const host = options.host ?? '127.0.0.1'
  const material = await loadSimulatorMaterial(options.dir, { now })
  const faults: SimulatorFaults = defaultFaults(options.latencyMs ?? 0)
  const requests: SimulatorRequestRecord[] = []
  const stats: SimulatorStats = { connections: 0, requests: 0, handshakeFailures: 0, tokensIssued: 0, resets: 0, byStatus: {} }
  const sockets = new Set<Socket>()
  const closing = new AbortController()
  const wait = waiter(closing.signal)
  const route: RouteContext = {
    now,
    material,
    acceptedClientIds: new Set([material.credentials.clientId, ...(options.extraClientIds ?? [])]),
    password: options.password ?? material.credentials.password,
    faults,
  }
  const responder = new Responder({ now, faults, stats, dayLimit: options.dayLimit ?? 10_000, wait, closing: closing.signal })
  const handling: Handling = { route, responder, requests, stats, wait, closing: closing.signal, tap: () => sim.tap }

  const server = tlsServer(options, options.tlsOverride ?? material.server, material.partnerCa.certPem, stats, sockets)
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    res.on('error', () => undefined)
    handle(handling, req, res).catch(() => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify({ code: 50000, uuid: randomUUID(), message: 'Simulator failure.', timestamp: now().toISOString() }))
      } else {
        res.destroy()
      }
    })
  })
  await listen(server, options.port ?? 0, host)
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
