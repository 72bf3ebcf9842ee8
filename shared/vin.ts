/**
 * Vehicle Identification Number (ISO 3779) checks. Pure TypeScript.
 *
 * A VIN has exactly 17 characters from A–Z and 0–9 without I, O and Q (they look like
 * 1 and 0). Position 9 is a check digit only in North America: European VINs — and so
 * most Peugeot, Citroën, DS and Opel cars a depot sees — put any character there.
 * The check digit is therefore NOT enforced; enforcing it would refuse real cars.
 */

import { VkError } from './errors'

export const VIN_LENGTH = 17

const VIN_PATTERN = /^[A-HJ-NPR-Z0-9]{17}$/

/** Where a VIN came from, for the error message. */
export interface VinLocation {
  /** File (or other source) the VIN was read from. */
  file?: string
  /** Field or option holding it, e.g. `vehicles[2].vin` or `--vin`. */
  field?: string
}

/** Trims surrounding whitespace and upper-cases (VINs are case-insensitive on paper). */
export function normalizeVin(raw: string): string {
  return raw.trim().toUpperCase()
}

/**
 * Why a (normalised) VIN is not valid, as a sentence fragment, or undefined when it is.
 * Exposed for callers that collect problems instead of throwing (the CarData import).
 */
export function vinProblem(vin: string): string | undefined {
  if (VIN_PATTERN.test(vin)) return undefined
  if (vin.length === 0) return 'is empty'
  const chars = Array.from(vin)
  if (chars.length !== VIN_LENGTH) {
    return `has ${chars.length} character${chars.length === 1 ? '' : 's'}; a VIN has exactly ${VIN_LENGTH}`
  }
  const confusable = chars.find((c) => c === 'I' || c === 'O' || c === 'Q')
  if (confusable !== undefined) {
    return `contains the letter ${confusable}, which VINs never use (it is probably ${confusable === 'I' ? 'the digit 1' : 'the digit 0'})`
  }
  const bad = chars.find((c) => !/^[A-HJ-NPR-Z0-9]$/.test(c))
  return `contains ${describeChar(bad ?? '')}; a VIN has only letters A–Z (no I, O, Q) and digits`
}

/**
 * Normalises and validates a VIN. Throws VkError('input.vin') naming the file and field.
 * Returns the normalised VIN.
 */
export function validateVin(raw: string, where: VinLocation = {}): string {
  const vin = normalizeVin(raw)
  const problem = vinProblem(vin)
  if (problem === undefined) return vin
  const place = describePlace(where)
  throw new VkError(
    'input.vin',
    `The VIN ${quoteShort(vin)}${place} ${problem}. Copy the 17-character VIN from the registration document or the windscreen plate.`,
    { ...(where.file !== undefined ? { file: where.file } : {}), ...(where.field !== undefined ? { field: where.field } : {}) },
  )
}

function describePlace(where: VinLocation): string {
  if (where.file !== undefined && where.field !== undefined) return ` in ${where.file}, field ${where.field},`
  if (where.file !== undefined) return ` in ${where.file}`
  if (where.field !== undefined) return ` given in ${where.field}`
  return ''
}

/** A value quoted for a message, cut short so a pasted blob does not flood the screen. */
export function quoteShort(value: string, max = 40): string {
  const chars = Array.from(value)
  const shown = chars.length > max ? chars.slice(0, max).join('') + '…' : value
  return JSON.stringify(shown)
}

function describeChar(c: string): string {
  if (c === ' ') return 'a space'
  if (c === '-') return 'a dash'
  const code = c.codePointAt(0) ?? 0
  if (code < 0x20 || code === 0x7f) return `a control character (U+${code.toString(16).toUpperCase().padStart(4, '0')})`
  return `"${c}"`
}
