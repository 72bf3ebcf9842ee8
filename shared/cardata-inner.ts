/**
 * What is inside a CarData (see the API reference, "CarData contents"): base64 of a small JSON
 * object {"timestamp": ISO-8601, "uin": …}. VK Depot keeps CarData byte for byte; this module
 * only reads it to show the UIN and the age, and to warn — never to refuse: PSA decides.
 * Pure TypeScript; the importer (app and CLI) and the simulator call the same function.
 */

/** CarData older than this many days gets a warning unless the user chose another number. */
export const DEFAULT_CARDATA_MAX_AGE_DAYS = 30
const DAY_MS = 24 * 60 * 60 * 1000
/** The inner JSON is about 70 bytes; anything much larger is not of this form. */
const MAX_INNER_BYTES = 1024

export interface CarDataInner {
  uin: string
  /** As written inside, ISO-8601. */
  timestamp: string
}

export type CarDataWarningCode = 'uin-mismatch' | 'stale' | 'future'

export interface CarDataWarning {
  code: CarDataWarningCode
  message: string
}

export interface CarDataInspection {
  /** Undefined when CarData does not decode to {timestamp, uin}. */
  inner?: CarDataInner
  /** Whole days since the timestamp (negative when it lies ahead). */
  ageDays?: number
  warnings: CarDataWarning[]
}

function base64ToBytes(value: string): Uint8Array | undefined {
  const standard = value
    .replace(/[\s=]+/g, '')
    .replace(/-/g, '+')
    .replace(/_/g, '/')
  if (standard.length > Math.ceil((MAX_INNER_BYTES * 4) / 3) || !/^[A-Za-z0-9+/]*$/.test(standard)) return undefined
  try {
    const padded = standard + '='.repeat((4 - (standard.length % 4)) % 4)
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0))
  } catch {
    return undefined
  }
}

/** {timestamp, uin} when CarData is base64 of that JSON, else undefined. Never throws. */
export function decodeCarDataInner(carData: string): CarDataInner | undefined {
  const bytes = base64ToBytes(carData)
  if (bytes === undefined || bytes.length === 0) return undefined
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    return undefined
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return undefined
  const { uin, timestamp } = json as { uin?: unknown; timestamp?: unknown }
  // Printable ASCII only: both are shown in terminals and screens as they are.
  if (typeof uin !== 'string' || !/^[\x21-\x7e]{1,64}$/.test(uin) || typeof timestamp !== 'string') return undefined
  if (!/^[0-9][0-9T:.+\-Z ]{9,39}$/.test(timestamp) || Number.isNaN(Date.parse(timestamp))) return undefined
  return { uin, timestamp }
}

/** base64 of {"timestamp","uin"} as the car hands it out (simulator, tests, demo files). */
export function encodeCarDataInner(inner: CarDataInner): string {
  const bytes = new TextEncoder().encode(JSON.stringify({ timestamp: inner.timestamp, uin: inner.uin }))
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary)
}

/**
 * Reads CarData and returns its UIN and age with warnings: the export's own `uin` differs
 * from the one inside, the CarData is older than `maxAgeDays`, or it is dated ahead of now
 * (more than a day: the phone's or this computer's clock is wrong).
 */
export function inspectCarData(carData: string, options: { fileUin?: string; now: Date; maxAgeDays?: number }): CarDataInspection {
  const inner = decodeCarDataInner(carData)
  if (inner === undefined) return { warnings: [] }
  const maxAgeDays = options.maxAgeDays ?? DEFAULT_CARDATA_MAX_AGE_DAYS
  const ageMs = options.now.getTime() - Date.parse(inner.timestamp)
  const ageDays = Math.floor(ageMs / DAY_MS)
  const warnings: CarDataWarning[] = []
  if (options.fileUin !== undefined && options.fileUin.trim() !== inner.uin.trim()) {
    warnings.push({
      code: 'uin-mismatch',
      message: `The file says UIN ${options.fileUin} but its CarData holds UIN ${inner.uin}. Check that the export is for this vehicle; PSA will decide.`,
    })
  }
  if (ageMs > maxAgeDays * DAY_MS) {
    warnings.push({
      code: 'stale',
      message: `The CarData is ${ageDays} days old (older than ${maxAgeDays}). PSA may refuse it; if it does, add the vehicle again in the phone app and export it anew.`,
    })
  } else if (ageMs < -DAY_MS) {
    warnings.push({
      code: 'future',
      message: `The CarData is dated ${inner.timestamp}, ahead of this computer's clock. Check the date on the phone and on this computer.`,
    })
  }
  return { inner, ageDays, warnings }
}

/** The environment variable (CLI and app) that sets the age warning, in days. */
export const MAX_AGE_ENV = 'VKEY_CARDATA_MAX_AGE_DAYS'

/** Days from VKEY_CARDATA_MAX_AGE_DAYS (1–3650), the default when unset; throws a RangeError naming it otherwise. */
export function maxAgeDaysFrom(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_CARDATA_MAX_AGE_DAYS
  const days = Number(value.trim())
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    throw new RangeError(
      `${MAX_AGE_ENV} must be a whole number of days from 1 to 3650 (it is "${value.slice(0, 20)}"). Unset it to warn after ${DEFAULT_CARDATA_MAX_AGE_DAYS} days.`,
    )
  }
  return days
}
