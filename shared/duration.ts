/**
 * Token validity: `--duration` and `--until` parsing, and a plain English formatter.
 * Pure TypeScript. PSA takes the duration in whole seconds (sent as a JSON string).
 *
 * --duration accepts a whole number of seconds (`3600`) or whole numbers with units,
 * largest first, each unit at most once: `90s`, `90m`, `8h`, `2d`, `1h30m`, `1d 12h`
 * (d = days, h = hours, m = minutes, s = seconds; case-insensitive; spaces between parts
 * allowed). Refused: negatives, fractions, anything under MIN_DURATION_SECONDS or above
 * MAX_DURATION_SECONDS.
 *
 * --until accepts an ISO-8601 date and time WITH a zone: `2025-03-01T18:00Z`,
 * `2025-03-01T18:00:00+01:00`, `2025-03-01 18:00+0100`. A date and time without a zone
 * is refused (not read as local time): the laptop's clock zone may not be the depot's or
 * the customer's, and a car key that lasts an hour too long is not a harmless mistake.
 * A bare time of day (`18:00`, `7:30`) is the next such time on this machine's clock:
 * resolveUntil turns it into an ISO time with its offset, which the caller prints back
 * with its date and zone (formatLocal) so nobody has to guess which day was meant.
 */

import * as z from 'zod'
import { VkError } from './errors'
import { formatLocal, isoWithOffset, localDate, systemTimeZone, zonedTime } from './time'

const isoText = z.string().min(1).max(40)

/**
 * How long a token must live, as the user asked (a length, until a moment, or a planned
 * handover and how long after it); turned into seconds when the request goes out (planWindow).
 */
export const DurationPlan = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('seconds'), seconds: z.number().int().positive() }),
  z.object({ kind: z.literal('until'), until: isoText }),
  z.object({ kind: z.literal('plan'), start: isoText, seconds: z.number().int().positive() }),
])
export type DurationPlan = z.infer<typeof DurationPlan>

const TIME_OF_DAY = /^(\d{1,2}):(\d{2})$/

/** The next `hour:minute` after `now` on the clock of `timeZone` (today's if still ahead, else tomorrow's). */
export function nextTimeOfDay(hour: number, minute: number, now: Date, timeZone: string = systemTimeZone()): Date {
  const today = localDate(now, timeZone)
  const candidate = zonedTime({ ...today, hour, minute }, timeZone)
  if (candidate.getTime() > now.getTime()) return candidate
  const tomorrow = new Date(Date.UTC(today.year, today.month - 1, today.day + 1))
  return zonedTime({ year: tomorrow.getUTCFullYear(), month: tomorrow.getUTCMonth() + 1, day: tomorrow.getUTCDate(), hour, minute }, timeZone)
}

/**
 * `--until` as an absolute ISO-8601 time: a time of day (`18:00`) becomes the next one
 * here, with its offset; anything else is returned as given for secondsUntil to check.
 */
export function resolveUntil(text: string, now: Date, timeZone: string = systemTimeZone()): string {
  const m = TIME_OF_DAY.exec(typeof text === 'string' ? text.trim() : '')
  if (!m) return text
  const hour = Number(m[1])
  const minute = Number(m[2])
  if (hour > 23 || minute > 59) {
    throw new VkError(
      'input.duration',
      `--until ${JSON.stringify(text)} is not a time of day (hours 00–23, minutes 00–59), e.g. ${untilExample(now, timeZone).timeOfDay}.`,
      { field: '--until' },
    )
  }
  return isoWithOffset(nextTimeOfDay(hour, minute, now, timeZone), timeZone)
}

/** Examples for messages, computed from today: tomorrow 18:00 here, with its offset and in UTC. */
export function untilExample(now: Date, timeZone: string = systemTimeZone()): { timeOfDay: string; iso: string; utc: string } {
  const at = nextTimeOfDay(18, 0, new Date(nextTimeOfDay(0, 0, now, timeZone).getTime() + 1), timeZone)
  return { timeOfDay: '18:00', iso: isoWithOffset(at, timeZone).replace(':00+', '+').replace(':00-', '-'), utc: `${at.toISOString().slice(0, 16)}Z` }
}

/**
 * PSA's two figures for a key's end may differ by this much (clock skew, rounding) before the
 * earlier one wins; a key that lives longer than this beyond the window asked is flagged
 * (electron/core/key-expiry.ts), and so is a live key reused for a shorter window.
 */
export const EXPIRY_TOLERANCE_MS = 5 * 60_000

/** Longest validity VK Depot asks for: 30 days. */
export const MAX_DURATION_SECONDS = 30 * 24 * 3600
/**
 * The shortest key VK Depot asks for. A key of a few seconds has expired before its QR code can
 * be scanned, or even before PSA's answer is stored (its expiry is whole seconds), and would then
 * be counted as a malformed answer although PSA issued it.
 */
export const MIN_DURATION_SECONDS = 60
const MIN_DURATION_REASON = 'a key must last at least a minute, or it expires before a phone can take it'

const UNIT_SECONDS = { d: 86400, h: 3600, m: 60, s: 1 } as const
const DURATION_EXAMPLES = 'e.g. 3600 (seconds), 90s, 90m, 8h, 2d or 1h30m'
const DURATION_PATTERN = /^(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?$/

/** Seconds for a `--duration` value. Throws VkError('input.duration'). */
export function parseDuration(text: string): number {
  const raw = typeof text === 'string' ? text.trim() : ''
  const shown = JSON.stringify(typeof text === 'string' ? text : String(text))
  const fail = (why: string): never => {
    throw new VkError(
      'input.duration',
      `--duration ${shown} ${why}. Give a whole number of seconds or of units, ${DURATION_EXAMPLES}; at least a minute (1m), at most 30 days (30d).`,
      { field: '--duration' },
    )
  }
  if (raw === '') fail('is empty')
  if (raw.startsWith('-')) fail('is negative')
  if (/[.,]\d/.test(raw)) fail('has a fraction; use a smaller unit instead (1h30m rather than 1.5h)')

  let seconds: number
  if (/^\d+$/.test(raw)) {
    seconds = Number(raw)
    // No car key lasts under a minute on purpose: "8" was meant as 8h (or 8m).
    if (seconds > 0 && seconds < 60) fail(`has no unit, so it would be ${seconds} seconds: write ${seconds}h for hours or ${seconds}m for minutes`)
  } else {
    const match = DURATION_PATTERN.exec(raw.toLowerCase())
    if (match === null || (match[1] === undefined && match[2] === undefined && match[3] === undefined && match[4] === undefined)) {
      return fail('is not a duration')
    }
    seconds =
      Number(match[1] ?? 0) * UNIT_SECONDS.d +
      Number(match[2] ?? 0) * UNIT_SECONDS.h +
      Number(match[3] ?? 0) * UNIT_SECONDS.m +
      Number(match[4] ?? 0) * UNIT_SECONDS.s
  }
  if (seconds === 0) fail('is zero')
  if (seconds < MIN_DURATION_SECONDS) fail(`is under a minute: ${MIN_DURATION_REASON}`)
  if (!Number.isSafeInteger(seconds) || seconds > MAX_DURATION_SECONDS) {
    fail(`is longer than 30 days (${MAX_DURATION_SECONDS} seconds), the most VK Depot asks for`)
  }
  return seconds
}

const ISO_PATTERN = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i

/**
 * Whole seconds from `now` until the ISO-8601 time `isoText`, rounded up.
 * Throws VkError('input.duration') naming --until when the text is not an ISO date-time
 * with a zone, is not later than `now`, or is more than MAX_DURATION_SECONDS away.
 */
export function secondsUntil(isoText: string, now: Date, timeZone: string = systemTimeZone()): number {
  const shown = JSON.stringify(typeof isoText === 'string' ? isoText : String(isoText))
  const raw =
    typeof isoText === 'string' && !Number.isNaN(now.getTime())
      ? resolveUntil(isoText, now, timeZone).trim()
      : typeof isoText === 'string'
        ? isoText.trim()
        : ''
  const fail = (why: string): never => {
    throw new VkError('input.duration', `--until ${shown} ${why}.`, { field: '--until' })
  }
  if (Number.isNaN(now.getTime())) fail('cannot be compared with the clock (the current time is invalid)')
  const m = ISO_PATTERN.exec(raw)
  const example = untilExample(Number.isNaN(now.getTime()) ? new Date() : now, timeZone)
  if (m === null) {
    if (/^\d{4}-\d{2}-\d{2}$/.test(raw)) fail(`has a date but no time; add the time and zone, e.g. ${raw}T18:00${example.iso.slice(16)}`)
    return fail(
      `is not a time; write a time of day here like ${example.timeOfDay}, or an ISO-8601 date and time with its zone like ${example.iso} or ${example.utc}`,
    )
  }
  const [, y, mo, d, h, mi, s, frac, zone] = m
  const year = Number(y)
  const month = Number(mo)
  const day = Number(d)
  const hour = Number(h)
  const minute = Number(mi)
  const second = Number(s ?? 0)
  // The date and time are checked before the zone, so the example a missing zone gets is a real time.
  const like = `; write a real one, like ${example.iso}`
  if (month < 1 || month > 12) fail(`has month ${mo}, which does not exist${like}`)
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate()
  if (day < 1 || day > daysInMonth) fail(`has day ${d}, which month ${mo} of ${y} does not have${like}`)
  if (hour > 23 || minute > 59 || second > 59) fail(`has a time of day that does not exist (hours 00–23, minutes and seconds 00–59)${like}`)
  if (zone === undefined) {
    return fail(`has no time zone; add the offset or Z so the time is unambiguous, e.g. ${raw}${example.iso.slice(16)} or ${raw}Z`)
  }

  let offsetMinutes = 0
  if (zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1
    const digits = zone.slice(1).replace(':', '')
    const oh = Number(digits.slice(0, 2))
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0
    if (oh > 23 || om > 59) fail(`has the offset ${zone}, which does not exist`)
    offsetMinutes = sign * (oh * 60 + om)
  }
  // Milliseconds from the fraction (sub-millisecond digits still count towards rounding up).
  const fracText = (frac ?? '').padEnd(9, '0')
  const nanos = Number(fracText)
  const wholeMs = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMinutes * 60_000
  // Integer milliseconds plus the sub-millisecond rest, so rounding up stays exact.
  const diffMs = wholeMs + Math.floor(nanos / 1e6) - now.getTime()
  const extraNs = nanos % 1e6
  if (diffMs < 0 || (diffMs === 0 && extraNs === 0)) {
    fail(`is not in the future (now is ${formatLocal(now, timeZone)}); give a later time or use --duration`)
  }
  const seconds = Math.ceil((diffMs + (extraNs > 0 ? 1 : 0)) / 1000)
  if (seconds < MIN_DURATION_SECONDS) fail(`is less than a minute away (now is ${formatLocal(now, timeZone)}): ${MIN_DURATION_REASON}; give a later time`)
  if (seconds > MAX_DURATION_SECONDS) {
    fail(`is more than 30 days away (${formatDuration(seconds)}); VK Depot asks for at most 30 days`)
  }
  return seconds
}

/** A `--duration` value for `seconds`, as a command line suggested to a person: '8h', '1h30m', '2d', '90s'. */
export function durationArgument(seconds: number): string {
  return formatDuration(seconds).replaceAll(' min', 'm').replaceAll(' ', '')
}

/** '2 h 30 min', '45 s', '1 d 2 h' — English; the renderer localises on its own. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return '0 s'
  let rest = Math.round(seconds)
  const parts: string[] = []
  const days = Math.floor(rest / 86400)
  rest -= days * 86400
  const hours = Math.floor(rest / 3600)
  rest -= hours * 3600
  const minutes = Math.floor(rest / 60)
  rest -= minutes * 60
  if (days > 0) parts.push(`${days} d`)
  if (hours > 0) parts.push(`${hours} h`)
  if (minutes > 0) parts.push(`${minutes} min`)
  if (rest > 0) parts.push(`${rest} s`)
  return parts.length === 0 ? '0 s' : parts.join(' ')
}

/**
 * Time left as people read it: to the minute from 10 minutes up ("2 h" a moment after a 2 h
 * key was issued, not "1 h 59 min 59 s"), to the second below that.
 */
export function formatTimeLeft(seconds: number): string {
  return formatDuration(seconds >= 600 ? Math.round(seconds / 60) * 60 : seconds)
}

/** What a plan asks of PSA now: the seconds to ask for, and the window the token must cover. */
export interface PlanWindow {
  seconds: number
  plannedStart?: string
  plannedEnd: string
}

/**
 * The seconds to ask for, computed when the request goes out so the token covers the plan;
 * refuses a plan longer than MAX_DURATION_SECONDS from now, or already over.
 */
/**
 * How far a key's end may fall before a planned end and still be "the same end": PSA's expiry
 * has whole seconds, a planned end milliseconds (and the request takes a moment).
 */
export const EXPIRY_ROUNDING_MS = 2000

/**
 * A live key covers a window it ends at most this short of: 5 % of the window, at least one
 * minute and at most ten, and never more than a tenth of the window (a key with seconds left is
 * no answer to a request for one minute). The same command run again minutes later (a resumed
 * batch, a rerun to write missing QR files) reuses the keys it got rather than asking PSA for new
 * ones — a key cannot be revoked, so a second one is a second car key — and says how much short a
 * key ends.
 */
export function coverToleranceMs(windowSeconds: number): number {
  return Math.min(10 * 60_000, Math.max(60_000, windowSeconds * 50), windowSeconds * 100)
}

/** Whether a key ending at `expires` covers a window of `windowSeconds` ending at `windowEnd` (ISO texts), within coverToleranceMs. */
export function coversWindowEnd(expires: string, windowEnd: string, windowSeconds: number): boolean {
  return Date.parse(expires) + coverToleranceMs(windowSeconds) >= Date.parse(windowEnd)
}

/**
 * Whether a key ending at `expiresMs` works more than EXPIRY_TOLERANCE_MS beyond the window asked
 * (ending at `windowEndMs`): flagged when PSA grants it, and said when a live key is reused.
 */
export function outlivesWindow(expiresMs: number, windowEndMs: number): boolean {
  return expiresMs - windowEndMs > EXPIRY_TOLERANCE_MS
}

export function planWindow(plan: DurationPlan, now: Date): PlanWindow {
  const capped = (seconds: number): number => {
    if (!Number.isInteger(seconds) || seconds <= 0)
      throw new VkError('input.duration', 'The duration must be a whole, positive number of seconds.', { field: 'duration' })
    if (seconds < MIN_DURATION_SECONDS)
      throw new VkError('input.duration', `The key would last ${seconds} s from now: ${MIN_DURATION_REASON}. Choose a longer validity or a later time.`, {
        field: 'duration',
      })
    if (seconds > MAX_DURATION_SECONDS)
      throw new VkError(
        'input.duration',
        `A token may last at most ${MAX_DURATION_SECONDS / 86_400} days from now; this plan needs ${Math.ceil(seconds / 86_400)}. Choose a shorter validity or a nearer handover.`,
        { field: 'duration' },
      )
    return seconds
  }
  if (plan.kind === 'seconds') return { seconds: capped(plan.seconds), plannedEnd: new Date(now.getTime() + plan.seconds * 1000).toISOString() }
  if (plan.kind === 'until') {
    const seconds = capped(secondsUntil(plan.until, now))
    return { seconds, plannedEnd: new Date(now.getTime() + seconds * 1000).toISOString() }
  }
  // As for --until: a time without a zone would be read in this computer's zone, silently.
  const start = /(Z|[+-]\d\d:?\d\d)$/i.test(plan.start.trim()) ? Date.parse(plan.start) : Number.NaN
  if (!Number.isFinite(start))
    throw new VkError('input.duration', `The planned handover time "${plan.start}" must be an ISO-8601 date with a time zone (Z or +01:00).`, {
      field: 'start',
    })
  const end = start + plan.seconds * 1000
  const seconds = Math.ceil((end - now.getTime()) / 1000)
  if (seconds > 0) capped(seconds)
  if (seconds <= 0) throw new VkError('input.duration', 'The planned window has already ended. Choose a later handover time.', { field: 'start' })
  return { seconds, plannedStart: new Date(start).toISOString(), plannedEnd: new Date(end).toISOString() }
}
