/**
 * Ctrl-C and SIGTERM for `vkey`: the first one cancels cleanly (commands that talk to PSA
 * abort their request, the others are ended), and the process exits with 130 within two
 * seconds, saying whether a request had already reached PSA, since a key may then exist
 * although none was stored. A second signal exits at once.
 */
import type { Writable } from 'node:stream'
import { EXIT } from '../../shared/errors'

/** How long a command gets to finish its cancel before the process ends anyway. */
export const INTERRUPT_GRACE_MS = 1_500

export interface Interruption {
  /** Resolves at the first SIGINT or SIGTERM. */
  readonly interrupted: Promise<void>
  /** The signal's name once one came. */
  readonly signal: string | undefined
  /** For the PSA client: a request was written to PSA… */
  requestSent(): void
  /** …and its try ended (answered, failed or cancelled). */
  requestSettled(): void
  /** Says what the interruption left behind, once (later calls write nothing). */
  report(stream: Writable): void
}

export interface SignalSource {
  on(event: 'SIGINT' | 'SIGTERM', listener: () => void): unknown
  listeners(event: 'SIGINT' | 'SIGTERM'): unknown[]
  removeListener(event: 'SIGINT' | 'SIGTERM', listener: () => void): unknown
  exit(code: number): never
}

/** The one line an interruption ends with. */
export function interruptNotice(signal: string, awaiting: number, sentTotal: number): string {
  if (awaiting > 0) {
    const what = awaiting === 1 ? 'a request to PSA was' : `${awaiting} requests to PSA were`
    return `vkey: interrupted (${signal}) while ${what} waiting for an answer: PSA may have issued a key that was not stored here. Check \`vkey list\` before asking again.`
  }
  if (sentTotal > 0)
    return `vkey: interrupted (${signal}). No request to PSA was waiting for an answer; the keys already received are stored (see \`vkey list\`).`
  return `vkey: interrupted (${signal}) before any request was sent to PSA: no key was issued.`
}

/** Watches SIGINT and SIGTERM for the `vkey` process. */
export function watchSignals(source: SignalSource, stderr: Writable, graceMs = INTERRUPT_GRACE_MS, early?: string): Interruption {
  let signal: string | undefined
  let awaiting = 0
  let awaitingAtSignal = 0
  let sentTotal = 0
  let reported = false
  let resolveInterrupted: () => void = () => undefined
  const interrupted = new Promise<void>((resolve) => {
    resolveInterrupted = resolve
  })
  const interruption: Interruption = {
    interrupted,
    get signal() {
      return signal
    },
    requestSent() {
      awaiting++
      sentTotal++
    },
    requestSettled() {
      awaiting = Math.max(0, awaiting - 1)
    },
    report(stream) {
      if (reported || signal === undefined) return
      reported = true
      // Our own words and numbers only: nothing from outside to escape.
      stream.write(`${interruptNotice(signal, awaitingAtSignal, sentTotal)}\n`)
    },
  }
  const onSignal = (name: string): void => {
    if (signal !== undefined) {
      interruption.report(stderr)
      source.exit(EXIT.interrupted)
    }
    signal = name
    // What was in flight when the user asked to stop: the cancel that follows settles it.
    awaitingAtSignal = awaiting
    resolveInterrupted()
    const timer = setTimeout(() => {
      interruption.report(stderr)
      source.exit(EXIT.interrupted)
    }, graceMs)
    timer.unref()
  }
  // vkey owns these two signals. conf's file writer (atomically, through when-exit) listens
  // too and sends the same signal again to end the process, which would turn one Ctrl-C
  // into two and skip the clean cancel; its temp-file cleanup also runs on 'exit', which
  // every way out of vkey goes through.
  // Ours is added before the others are removed: with no listener left even for a moment,
  // Node stops watching the signal and drops one already on its way (a Ctrl-C pressed while
  // vkey loaded, not yet seen by scripts/vkey.mjs), and the command would run on.
  for (const name of ['SIGINT', 'SIGTERM'] as const) {
    const ours = (): void => onSignal(name)
    source.on(name, ours)
    for (const other of source.listeners(name)) if (other !== ours) source.removeListener(name, other as () => void)
  }
  // A signal that came while vkey was still loading (scripts/vkey.mjs noted it): handled now, as if it came now.
  if (early) onSignal(early)
  return interruption
}
