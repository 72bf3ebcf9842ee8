/**
 * How the simulator writes its answers: the rate-limit headers every answer carries, the
 * slow-headers and stall faults applied on the way out, error bodies in PSA's form, and the
 * oversized body (no Content-Length). Counts each status it writes.
 */
import { randomUUID } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import { sendStalled, type SimulatorFaults } from './faults'
import type { Answer } from './routes'
import type { SimulatorRequestRecord, SimulatorStats } from './types'

/** One request being answered. */
export interface Exchange {
  res: ServerResponse
  record: SimulatorRequestRecord
}

export interface ResponderOptions {
  now: () => Date
  faults: SimulatorFaults
  stats: SimulatorStats
  dayLimit: number
  /** Waits, or stops waiting once the simulator closes. */
  wait: (ms: number) => Promise<void>
  closing: AbortSignal
}

export class Responder {
  /** Requests counted against the day limit. */
  dayUsed = 0
  /** Requests in the current second, for the burst fault. */
  burstWindow = { second: -1, count: 0 }

  constructor(private readonly options: ResponderOptions) {}

  /** Counts a request against both limits; true when the burst fault refuses it. */
  overBurst(): boolean {
    this.dayUsed++
    const second = Math.floor(this.options.now().getTime() / 1000)
    if (this.burstWindow.second !== second) this.burstWindow = { second, count: 0 }
    this.burstWindow.count++
    const limit = this.options.faults.burstPerSecond
    return limit !== null && this.burstWindow.count > limit
  }

  rateLimitHeaders(): Record<string, string> {
    // With the burst fault off nothing is enforced, so the headers must not claim a small budget.
    const burstLimit = this.options.faults.burstPerSecond ?? 1000
    return {
      'X-RateLimit-Limit-1': String(this.options.dayLimit),
      'X-RateLimit-Remaining-1': String(Math.max(0, this.options.dayLimit - this.dayUsed)),
      'X-RateLimit-Limit-2': String(burstLimit),
      'X-RateLimit-Remaining-2': String(Math.max(0, burstLimit - this.burstWindow.count)),
    }
  }

  private count(record: SimulatorRequestRecord, status: number): void {
    record.status = status
    this.options.stats.byStatus[status] = (this.options.stats.byStatus[status] ?? 0) + 1
  }

  async send({ res, record }: Exchange, status: number, body: string, extra: Record<string, string> = {}): Promise<void> {
    const { faults, wait, closing } = this.options
    await wait(faults.slowHeadersMs)
    if (res.destroyed || res.socket === null || res.socket.destroyed) {
      record.outcome = 'client-gone'
      return
    }
    const headers = {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(body)),
      ...this.rateLimitHeaders(),
      ...extra,
    }
    if (faults.stall) {
      const started = await sendStalled(res, faults.stall, { status, headers, body }, { dripIntervalMs: faults.dripIntervalMs, wait, closing })
      if (!started) {
        record.outcome = 'client-gone'
        return
      }
    }
    this.count(record, status)
    if (faults.stall) return
    res.writeHead(status, headers)
    res.end(body)
  }

  errorBody(answer: Answer): string {
    return JSON.stringify({
      code: answer.status * 100 + answer.nn,
      uuid: this.options.faults.errorUuid ?? randomUUID(),
      message: answer.message,
      timestamp: this.options.now().toISOString(),
    })
  }

  async sendError(exchange: Exchange, answer: Answer): Promise<void> {
    const extra: Record<string, string> = {}
    if (answer.status === 429) {
      extra['Retry-After'] = String(this.options.faults.retryAfterSeconds)
      extra['X-RateLimit-Reset'] = String(this.options.faults.retryAfterSeconds)
    }
    if (answer.status === 405) extra['Allow'] = 'POST'
    await this.send(exchange, answer.status, this.errorBody(answer), extra)
  }

  /** 200 with a body of `faults.oversizedBytes`, written as fast as the client reads it. */
  async sendOversized({ res, record }: Exchange): Promise<void> {
    const { faults, wait, closing } = this.options
    await wait(faults.slowHeadersMs)
    if (res.destroyed) return
    this.count(record, 200)
    // No Content-Length: the client has to count the bytes itself.
    res.writeHead(200, { 'Content-Type': 'application/json', ...this.rateLimitHeaders() })
    const chunk = 'x'.repeat(64 * 1024)
    res.write('{"padding":"')
    let written = 0
    while (written < faults.oversizedBytes && !res.destroyed && !closing.aborted) {
      if (!res.write(chunk)) await drained(res)
      written += chunk.length
    }
    if (!res.destroyed) res.end('"}')
  }
}

/** Resolves once the response can take more, or is closed. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}
