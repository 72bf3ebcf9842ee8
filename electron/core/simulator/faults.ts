/**
 * Test-only simulator faults that stall an answer or put hostile text in it, kept apart
 * from server.ts (which calls `sendStalled` and `errorUuid`):
 *
 * - `stall: 'hang-headers'`: the request is read, then nothing is ever answered (until the
 *   client goes away or the simulator closes). The token is still issued server-side.
 * - `stall: 'drip'`: the status line and headers go out at once, then the body one byte
 *   every `dripIntervalMs`, so no single gap is long but the answer takes minutes.
 * - `errorUuid`: the `uuid` of every error body (e.g. with an ESC sequence inside).
 */
import type { ServerResponse } from 'node:http'

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
