/**
 * What PSA says about a key's end is checked before the key is stored as live: a key that
 * is already over, an expiry that does not parse, or an `expires_in` that is no sane number
 * of seconds is a malformed answer. When `expires` and `expires_in` disagree by more than
 * five minutes, the earlier wins (a key is never shown as living longer than it may). A key
 * that lives more than five minutes longer than asked is kept, and flagged.
 */
import { EXPIRY_TOLERANCE_MS, outlivesWindow } from '../../shared/duration'
import { VkError } from '../../shared/errors'

/** No key PSA grants lives longer than this; anything beyond is not a number of seconds we believe. */
export const SANE_EXPIRES_IN_SECONDS = 400 * 86_400

export interface AnswerExpiry {
  expires: string
  expiresIn: number
  receivedAt: string
}

export interface CheckedExpiry {
  /** The stored expiry (ISO UTC, whole seconds as PSA sent them). */
  expires: string
  /** Seconds the key lives from the answer, consistent with `expires` (PSA's own figure when it was not corrected). */
  expiresIn: number
  /** True when the key lives more than five minutes longer than asked. */
  longerThanAsked: boolean
}

/** Checks an answer's expiry against the time it arrived and the seconds asked for. */
export function checkAnswerExpiry(answer: AnswerExpiry, askedSeconds: number, psaUuid?: string): CheckedExpiry {
  const malformed = (why: string) =>
    new VkError(
      'server.malformed',
      `PSA's answer is malformed: ${why}. No key was stored as valid; try again, and if it persists give PSA support this answer's time (${answer.receivedAt})${psaUuid ? ` and uuid ${psaUuid}` : ''}.`,
      psaUuid ? { psa: { uuid: psaUuid } } : {},
    )
  const received = Date.parse(answer.receivedAt)
  const expiresMs = Date.parse(answer.expires)
  if (!Number.isFinite(expiresMs)) throw malformed(`its expiry "${answer.expires.slice(0, 40)}" is not a date`)
  if (!Number.isSafeInteger(answer.expiresIn) || answer.expiresIn <= 0 || answer.expiresIn > SANE_EXPIRES_IN_SECONDS) {
    throw malformed(`expires_in (${String(answer.expiresIn).slice(0, 24)}) is not a sane number of seconds`)
  }
  if (expiresMs <= received) throw malformed(`the key it returned had already expired (${answer.expires})`)
  const byExpiresIn = received + answer.expiresIn * 1000
  const effective = Math.abs(expiresMs - byExpiresIn) > EXPIRY_TOLERANCE_MS ? Math.min(expiresMs, byExpiresIn) : expiresMs
  const askedEnd = received + askedSeconds * 1000
  const corrected = effective !== expiresMs
  return {
    expires: new Date(Math.floor(effective / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
    expiresIn: corrected ? Math.floor((effective - received) / 1000) : answer.expiresIn,
    longerThanAsked: outlivesWindow(effective, askedEnd),
  }
}
