/** Date and duration formatting for the screens: the one date formatter, following the system's regional format. */
import type { DurationPlan } from '../../shared/duration'

/** `datetime-local` value ("2025-03-01T14:30") → ISO 8601 with the local offset ("2025-03-01T14:30:00+01:00"). */
export function localInputToIso(value: string): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value)
  if (!match) return undefined
  const [, y, mo, d, h, mi, s] = match
  const date = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? '0'))
  // Not a day the month has (Date would roll 30 February over into March).
  if (Number.isNaN(date.getTime()) || date.getDate() !== Number(d) || date.getMonth() !== Number(mo) - 1) return undefined
  const offsetMinutes = -date.getTimezoneOffset()
  const sign = offsetMinutes >= 0 ? '+' : '-'
  const abs = Math.abs(offsetMinutes)
  const pad = (n: number): string => String(n).padStart(2, '0')
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  )
}

/** A Date as a `datetime-local` value (local time, minutes). */
export function toLocalInput(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0')
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`
}

/** The system's regional locales, most preferred first (set once at start; see `setSystemLocales`). */
let systemLocales: readonly string[] = []

/**
 * Records the operating system's regional locales: the main process's regional setting
 * (Electron's app.getSystemLocale) first, then navigator.languages. Dates follow them.
 */
export function setSystemLocales(locales: ReadonlyArray<string | undefined>): void {
  const valid: string[] = []
  for (const locale of locales) {
    if (!locale) continue
    try {
      valid.push(...Intl.getCanonicalLocales(locale.replace(/_/g, '-').replace(/\..*$/, '')))
    } catch {
      // not a BCP 47 tag ("C", "POSIX"): ignore it
    }
  }
  systemLocales = valid
}

/** Regions where English is written with a 24-hour clock and the day first, as in en-GB. */
const EUROPE = new Set(
  'AD AL AT BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT JE LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS SE SI SK SM UA VA XK'.split(
    ' ',
  ),
)

function regionOf(locale: string): string | undefined {
  try {
    return new Intl.Locale(locale).region
  } catch {
    return undefined
  }
}

/** Regions whose French is written as there (the rest get fr-FR). */
const FRENCH = new Set(['FR', 'BE', 'CH', 'CA', 'LU', 'MC'])

/**
 * The locale dates are written in, for the UI language. The region comes from the first
 * system locale that names one (the OS's regional setting when the main process passed it):
 * in that locale's own language it is used as is (en-GB, en-US, fr-CH); English elsewhere in
 * Europe, or with no region known, is written as en-GB; French as fr-<region> or fr-FR.
 */
export function dateLocale(language: string, system: readonly string[] = systemLocales): string {
  const lang = language.toLowerCase().split('-')[0] ?? 'en'
  const regional = system.find((locale) => regionOf(locale) !== undefined)
  const region = regional ? regionOf(regional) : undefined
  if (regional && regional.toLowerCase().split('-')[0] === lang) return regional
  if (lang === 'fr') return region && FRENCH.has(region) ? `fr-${region}` : 'fr-FR'
  return region === undefined || EUROPE.has(region) ? 'en-GB' : `en-${region}`
}

const DATE_TIME: Intl.DateTimeFormatOptions = { day: 'numeric', month: 'short', year: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short' }
const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter(locale: string, kind: 'dateTime' | 'date' | 'time'): Intl.DateTimeFormat {
  const key = `${locale}|${kind}`
  let found = formatters.get(key)
  if (!found) {
    const options: Intl.DateTimeFormatOptions =
      kind === 'dateTime'
        ? DATE_TIME
        : kind === 'date'
          ? { day: 'numeric', month: 'short', year: 'numeric' }
          : { hour: 'numeric', minute: '2-digit', timeZoneName: 'short' }
    found = new Intl.DateTimeFormat(locale, options)
    formatters.set(key, found)
  }
  return found
}

/**
 * The one way the screens write a moment: local date and time in the system's regional
 * format, with the zone ("1 Dec 2026, 17:37 CET"; "1 déc. 2026, 17:37 UTC+1").
 */
export function formatDateTime(iso: string | undefined, language: string): string {
  if (!iso) return '—'
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  return formatter(dateLocale(language), 'dateTime').format(date)
}

/** An ISO 8601 moment that names its zone (Z or an offset): the only outside text read as a time. */
const ZONED_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/

/** A time sent from outside (PSA's error body) in local time, or undefined when it is not a zoned ISO moment. */
export function formatOutsideTime(text: string, language: string): string | undefined {
  return ZONED_ISO.test(text) && !Number.isNaN(Date.parse(text)) ? formatDateTime(text, language) : undefined
}

/** Whole seconds split into days/hours/minutes/seconds for a countdown. */
export function splitSeconds(total: number): { days: number; hours: number; minutes: number; seconds: number } {
  const t = Math.max(0, Math.floor(total))
  return { days: Math.floor(t / 86400), hours: Math.floor((t % 86400) / 3600), minutes: Math.floor((t % 3600) / 60), seconds: t % 60 }
}

/** Hours as "1 h", "24 h", "72 h"; seconds as a compact "2 h 30 min". */
export function compactDuration(seconds: number): string {
  const { days, hours, minutes } = splitSeconds(seconds)
  const h = days * 24 + hours
  if (h > 0 && minutes > 0) return `${h} h ${minutes} min`
  if (h > 0) return `${h} h`
  return `${minutes} min`
}

/** Date and time apart, for a table cell on two lines ("28 Nov 2026" / "14:30 CET"). */
export function dateTimeParts(iso: string, language: string): { date: string; time: string } | undefined {
  const value = new Date(iso)
  if (Number.isNaN(value.getTime())) return undefined
  const locale = dateLocale(language)
  return { date: formatter(locale, 'date').format(value), time: formatter(locale, 'time').format(value) }
}

/** When a token asked for now with this choice would end (a preview: PSA's answer is what counts). */
export function endOfChoice(choice: DurationPlan, now: number): Date {
  if (choice.kind === 'seconds') return new Date(now + choice.seconds * 1000)
  if (choice.kind === 'until') return new Date(choice.until)
  return new Date(new Date(choice.start).getTime() + choice.seconds * 1000)
}
