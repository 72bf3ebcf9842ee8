/** What the simulator is started with and what it shows the tests: its requests, its counters, its handle. */
import type { SimulatorFaults } from './faults'
import type { SimulatorMaterial } from './material'

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
