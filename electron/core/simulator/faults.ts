/**
 * The simulator's test-only faults, settable at runtime through `sim.faults`: scripted
 * statuses, resets, latency, slow headers, malformed or oversized bodies, a burst limit, a
 * grant cap, wrong expiries (the expiry is bent in routes.ts), and answers that stall:
 *
 * - `stall: 'hang-headers'`: the request is read, then nothing is ever answered (until the
 *   client goes away or the simulator closes). The token is still issued server-side.
 * - `stall: 'drip'`: the status line and headers go out at once, then the body one byte
 *   every `dripIntervalMs`, so no single gap is long but the answer takes minutes.
 * - `errorUuid`: the `uuid` of every error body (e.g. with an ESC sequence inside).
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Exchange, Responder } from './responses'
import { Answer, REASONS } from './routes'
import type { SimulatorStats } from './types'

export type StallMode = 'drip' | 'hang-headers'

export interface StallFaults {
  stall: StallMode | null
  /** Gap between two bytes in `drip` mode (default 2000 ms). */
  dripIntervalMs: number
  /** Replaces the random uuid in error bodies (null = random). */
  errorUuid: string | null
}

export function defaultStallFaults(): StallFaults {
  return { stall: null, dripIntervalMs: 2_000, errorUuid: null }
}

/** One scripted answer: a status (200 = answer normally) or a fault. */
export type ScriptStep = number | 'reset' | 'malformed' | 'oversized'

export interface SimulatorFaults extends StallFaults {
  /** Wait this long after the request is read, before doing anything. */
  latencyMs: number
  /** Then wait for this promise too (a test holds the answers while it looks at what the client did meanwhile). */
  hold: Promise<void> | null
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

export function defaultFaults(latencyMs = 0): SimulatorFaults {
  return {
    latencyMs,
    hold: null,
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

/**
 * Applies the faults that replace the normal answer, in order: a reset, the burst limit, a
 * scripted status, a malformed or an oversized body. True when one answered (or reset).
 */
export async function answerWithFault(
  faults: SimulatorFaults,
  exchange: Exchange,
  req: IncomingMessage,
  responder: Responder,
  stats: SimulatorStats,
): Promise<boolean> {
  const step = faults.statuses.shift()
  if (faults.reset || step === 'reset') {
    exchange.record.outcome = 'reset'
    stats.resets++
    req.socket.destroy()
    return true
  }
  if (responder.overBurst()) {
    const answer = new Answer(429, 2, 'Burst rate limit exceeded.')
    await responder.send(exchange, 429, responder.errorBody(answer), { 'Retry-After': '1', 'X-RateLimit-Reset': '1' })
    return true
  }
  if (typeof step === 'number' && step !== 200) {
    await responder.sendError(exchange, new Answer(step, 99, REASONS[step] ?? 'Simulated failure.'))
    return true
  }
  if (faults.malformed || step === 'malformed') {
    await responder.send(exchange, 200, JSON.stringify({ token: { access_token: randomBytes(16).toString('base64') }, token_signature: '' }))
    return true
  }
  if (faults.oversized || step === 'oversized') {
    await responder.sendOversized(exchange)
    return true
  }
  return false
}

/** Resolves when the response closes (the client went away) or the simulator shuts down. */
function closed(res: ServerResponse, closing: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed || closing.aborted) return resolve()
    const done = (): void => {
      res.off('close', done)
      closing.removeEventListener('abort', done)
      resolve()
    }
    res.on('close', done)
    closing.addEventListener('abort', done, { once: true })
  })
}

/**
 * Answers (or not) in the stalled way `mode` says. Returns true when the status line was
 * written (the caller counts the status), false when the client went away first.
 */
export async function sendStalled(
  res: ServerResponse,
  mode: StallMode,
  answer: { status: number; headers: Record<string, string>; body: string },
  options: { dripIntervalMs: number; wait: (ms: number) => Promise<void>; closing: AbortSignal },
): Promise<boolean> {
  if (mode === 'hang-headers') {
    await closed(res, options.closing)
    return false
  }
  const bytes = Buffer.from(answer.body, 'utf8')
  res.writeHead(answer.status, answer.headers)
  res.flushHeaders()
  for (let i = 0; i < bytes.length; i++) {
    if (res.destroyed || options.closing.aborted) return true
    res.write(bytes.subarray(i, i + 1))
    await options.wait(options.dripIntervalMs)
  }
  if (!res.destroyed) res.end()
  return true
}
