/** Date and duration formatting for the screens (pure; locale passed in). */

/** `datetime-local` value ("2025-03-01T14:30") → ISO 8601 with the local offset ("2025-03-01T14:30:00+01:00"). */
export function localInputToIso(value: string): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value)
  if (!match) return undefined
  const [, y, mo, d, h, mi, s] = match
  const date = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? '0'))
  if (Number.isNaN(date.getTime())) return undefined
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

/** Medium date + short time in the UI language. */
export function formatDateTime(iso: string | undefined, locale: string): string {
  if (!iso) return '—'
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(date)
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

/** Date and time apart, for a table cell on two lines ("Nov 28, 2026" / "2:30 PM"). */
export function dateTimeParts(iso: string, locale: string): { date: string; time: string } | undefined {
  const value = new Date(iso)
  if (Number.isNaN(value.getTime())) return undefined
  return {
    date: new Intl.DateTimeFormat(locale, { dateStyle: 'medium' }).format(value),
    time: new Intl.DateTimeFormat(locale, { timeStyle: 'short' }).format(value),
  }
}
