/**
 * The one clock people read: a local time with its zone, the same text in `vkey`, the
 * handover pack and the audit CSV's human columns. Machine output (JSON, the audit's
 * ISO columns) stays ISO-8601 UTC. Pure TypeScript over Intl (no Node, no DOM).
 *
 *   formatLocal('2026-12-01T16:37:46Z', 'Europe/Paris')  →  'Tue 2026-12-01 17:37:46 CET (UTC+01:00)'
 *   formatLocal('2026-12-01T16:37:46Z', 'UTC')           →  'Tue 2026-12-01 16:37:46 UTC'
 *
 * Year-month-day and a 24-hour clock read the same in every European depot; the weekday
 * helps a driver, and the offset makes the time unambiguous even where the zone's short
 * name is not widely known (then only the offset is shown).
 */

/** The zone the machine's clock uses (TZ, or the system setting). */
export function systemTimeZone(): string {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'
}

type Parts = Record<'weekday' | 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', string>

function partsIn(date: Date, timeZone: string): Parts {
  const format = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    weekday: 'short',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  })
  const parts = Object.fromEntries(format.formatToParts(date).map((p) => [p.type, p.value])) as Partial<Parts>
  return { weekday: '', year: '', month: '', day: '', hour: '', minute: '', second: '', ...parts }
}

/** Minutes east of UTC that `timeZone` is at `date` (Paris in winter: 60). */
export function offsetMinutes(date: Date, timeZone: string): number {
  const name =
    new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }).formatToParts(date).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT'
  const m = /^GMT([+-])(\d{2}):?(\d{2})?$/.exec(name)
  if (!m) return 0
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0))
}

/** '+01:00', '-05:00', '+05:30'. */
export function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+'
  const abs = Math.abs(minutes)
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`
}

/** The zone's short name at `date` ('CET', 'CEST', 'EST'), or undefined when Intl only knows an offset. */
function shortZoneName(date: Date, timeZone: string): string | undefined {
  for (const locale of ['en-GB', 'en-US']) {
    const name = new Intl.DateTimeFormat(locale, { timeZone, timeZoneName: 'short' }).formatToParts(date).find((p) => p.type === 'timeZoneName')?.value
    if (name && /^[A-Z]{2,5}$/.test(name)) return name
  }
  return undefined
}

/**
 * A time as people read it: weekday, date, 24-hour time, zone name and UTC offset, in
 * `timeZone` (default: the machine's). Accepts a Date or an ISO text; an unreadable
 * value is returned as given rather than shown as "Invalid Date".
 */
export function formatLocal(value: Date | string, timeZone: string = systemTimeZone()): string {
  const date = typeof value === 'string' ? new Date(value) : value
  if (Number.isNaN(date.getTime())) return String(value)
  const p = partsIn(date, timeZone)
  const offset = offsetMinutes(date, timeZone)
  const name = shortZoneName(date, timeZone)
  const zone = offset === 0 && (name === 'UTC' || !name) ? 'UTC' : name ? `${name} (UTC${formatOffset(offset)})` : `UTC${formatOffset(offset)}`
  return `${p.weekday} ${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ${zone}`
}

/** The calendar date (year, month 1–12, day) `date` falls on in `timeZone`. */
export function localDate(date: Date, timeZone: string): { year: number; month: number; day: number } {
  const p = partsIn(date, timeZone)
  return { year: Number(p.year), month: Number(p.month), day: Number(p.day) }
}

/**
 * The instant a wall-clock time in `timeZone` names (the offset is looked up at that
 * instant, so daylight-saving changes are followed; a time skipped by the spring change
 * lands just after it).
 */
export function zonedTime(fields: { year: number; month: number; day: number; hour: number; minute: number }, timeZone: string): Date {
  const asUtc = Date.UTC(fields.year, fields.month - 1, fields.day, fields.hour, fields.minute)
  let guess = asUtc - offsetMinutes(new Date(asUtc), timeZone) * 60_000
  guess = asUtc - offsetMinutes(new Date(guess), timeZone) * 60_000
  return new Date(guess)
}

/** An ISO-8601 text with the zone's offset ('2026-12-01T18:00:00+01:00'), for a time that must be read back exactly. */
export function isoWithOffset(date: Date, timeZone: string): string {
  const p = partsIn(date, timeZone)
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}${formatOffset(offsetMinutes(date, timeZone))}`
}

/**
 * A moment as machine output writes it: ISO 8601 UTC with milliseconds (`…T17:00:00.000Z`), so
 * one moment is one string wherever it was written from (PSA's `…T17:00:00Z`, a database's
 * own format) and strings compare as times. Text that is no time is returned as given.
 */
export function canonicalIso(value: string): string {
  const time = Date.parse(value)
  return Number.isNaN(time) ? value : new Date(time).toISOString()
}
