/**
 * One overall deadline for each PSA request, whatever the server does (a handshake that
 * never ends, headers that never come, a body dripped one byte every few seconds: undici's
 * own timeouts are per phase and per chunk, so they never fire on a drip), and the phase
 * the request was in when it ran out, for the message.
 *
 * The phase comes from undici itself: an interceptor on the client's Agent sees the
 * request written to the socket (onRequestStart: "waiting for the answer") and the status
 * line arrive (onResponseStart: "reading the answer"). The request
 * carries its tracker in undici's documented `opaque` option.
 */
import type { Dispatcher } from 'undici'
import { VkError } from '../../shared/errors'

/** Default deadline for one request (a profile can set its own, `requestTimeoutSeconds`). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000

export type RequestPhase = 'connecting' | 'waiting' | 'reading'

/** The words for each phase, as messages use them. */
export const PHASE_WORDS: Record<RequestPhase, string> = {
  connecting: 'connecting',
  waiting: 'waiting for the answer',
  reading: 'reading the answer',
}

/** Follows one request through its phases; `onSent` runs once, when it is written to the server. */
export class RequestTracker {
  phase: RequestPhase = 'connecting'
  readonly startedAt = Date.now()
  constructor(private readonly onSent?: () => void) {}

  sent(): void {
    if (this.phase !== 'connecting') return
    this.phase = 'waiting'
    this.onSent?.()
  }

  answering(): void {
    this.phase = 'reading'
  }

  get wasSent(): boolean {
    return this.phase !== 'connecting'
  }
}

type Handler = Dispatcher.DispatchHandler
type Controller = Parameters<NonNullable<Handler['onRequestStart']>>[0]

/**
 * The handler, with the tracker told of each phase; every call still reaches the handler
 * unchanged. undici's compose hands interceptors a handler of its current API (it wraps an
 * older one first), so these six calls are all there is. A class, not a Proxy: a Proxy's
 * trap ran on every call and chunk, a fifth of the client's time per request (bench figure 1).
 */
class PhaseHandler implements Handler {
  constructor(
    private readonly inner: Handler,
    private readonly tracker: RequestTracker,
  ) {}

  onRequestStart(controller: Controller, context: unknown): void {
    this.tracker.sent()
    this.inner.onRequestStart?.(controller, context)
  }

  onRequestUpgrade(...args: Parameters<NonNullable<Handler['onRequestUpgrade']>>): void {
    this.inner.onRequestUpgrade?.(...args)
  }

  onResponseStart(...args: Parameters<NonNullable<Handler['onResponseStart']>>): void {
    this.tracker.answering()
    this.inner.onResponseStart?.(...args)
  }

  onResponseData(...args: Parameters<NonNullable<Handler['onResponseData']>>): void {
    this.inner.onResponseData?.(...args)
  }

  onResponseEnd(...args: Parameters<NonNullable<Handler['onResponseEnd']>>): void {
    this.inner.onResponseEnd?.(...args)
  }

  onResponseError(...args: Parameters<NonNullable<Handler['onResponseError']>>): void {
    this.inner.onResponseError?.(...args)
  }
}

/** The undici interceptor: requests whose `opaque` is a RequestTracker report their phases to it. */
export const phaseInterceptor: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
  const tracker = (opts as { opaque?: unknown }).opaque
  return dispatch(opts, tracker instanceof RequestTracker ? new PhaseHandler(handler, tracker) : handler)
}

/** The reason a request's deadline aborts it with (told apart from the user's cancel). */
export class DeadlineReached extends Error {
  constructor(readonly limitMs: number) {
    super('deadline reached')
  }
}

/** A deadline that fires this late (ms) fired after the process was paused: Ctrl-Z, SIGSTOP, a debugger. */
const PAUSED_MS = 1_000
/**
 * After such a pause, how long the answer gets to be read before the deadline counts. The
 * timers run before the sockets when a process resumes, so an answer PSA sent during the pause
 * (a key issued) waits unread in the socket while the deadline fires: it must not be thrown away.
 */
const AFTER_PAUSE_GRACE_MS = 2_000

/**
 * A signal that aborts when the deadline passes or when `outer` (the user's cancel) does.
 * `clear()` stops the timer once the answer is complete.
 */
export function deadlineSignal(limitMs: number, outer: AbortSignal | undefined): { signal: AbortSignal; deadline: AbortSignal; clear: () => void } {
  const deadline = new AbortController()
  const combined = new AbortController()
  const due = performance.now() + limitMs
  const reached = (): void => {
    deadline.abort(new DeadlineReached(limitMs))
    combined.abort(deadline.signal.reason)
  }
  let timer = setTimeout(() => {
    if (performance.now() - due < PAUSED_MS) return reached()
    timer = setTimeout(reached, AFTER_PAUSE_GRACE_MS) // paused: what arrived meanwhile is read first
    timer.unref?.()
  }, limitMs)
  timer.unref?.()
  // By hand rather than AbortSignal.any: a batch shares one outer signal across thousands of
  // requests, and each listener here is removed as soon as its request ends.
  const onOuter = (): void => combined.abort(outer?.reason)
  if (outer?.aborted) onOuter()
  else outer?.addEventListener('abort', onOuter, { once: true })
  return {
    signal: combined.signal,
    deadline: deadline.signal,
    clear: () => {
      clearTimeout(timer)
      outer?.removeEventListener('abort', onOuter)
    },
  }
}

function seconds(ms: number): string {
  return ms < 10_000 ? (ms / 1000).toFixed(1) : String(Math.round(ms / 1000))
}

/**
 * The error for a request stopped by its deadline: which phase stalled and after how long.
 * Before the request was sent it may be tried again; after, never (a token may exist).
 */
export function deadlineError(tracker: RequestTracker, limitMs: number, origin: string): { error: VkError; retryable: boolean } {
  const elapsed = seconds(Date.now() - tracker.startedAt)
  const limit = `the ${seconds(limitMs)} s limit for one request`
  const settle = 'It was not repeated, as a token may have been issued: wait a minute, then try again (check `vkey list` first).'
  const details = { field: 'requestTimeoutSeconds' }
  const sent = { ...details, unanswered: true }
  switch (tracker.phase) {
    case 'connecting':
      return {
        retryable: true,
        error: new VkError(
          'network.timeout',
          `Stopped after ${elapsed} s while connecting to ${origin} (${limit}); nothing was sent. Check the network connection (and any proxy or firewall), then try again.`,
          details,
        ),
      }
    case 'waiting':
      return {
        retryable: false,
        error: new VkError(
          'network.timeout',
          `Stopped after ${elapsed} s while waiting for the answer from ${origin} (${limit}): the request was sent but no answer came. ${settle}`,
          sent,
        ),
      }
    case 'reading':
      return {
        retryable: false,
        error: new VkError(
          'network.timeout',
          `Stopped after ${elapsed} s while reading the answer from ${origin} (${limit}): the answer started but kept stalling. ${settle}`,
          sent,
        ),
      }
  }
}
