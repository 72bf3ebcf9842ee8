/**
 * Base64 as CarData and its signature carry it: one alphabet (standard or URL-safe), padding
 * optional but correct when present, whitespace ignored. Pure TypeScript.
 */
import { describeType } from './untrusted-json'

const BASE64_STD = /[+/]/
const BASE64_URL = /[-_]/
const BASE64_CHAR = /^[A-Za-z0-9+/\-_=]$/

/**
 * THE rule for one CarData or CarData_signature value, shared by the importer and the
 * simulator (so what VK Depot imports, the simulator accepts, and what one refuses the
 * other refuses): a text of base64 in one alphabet (standard or URL-safe), padding
 * optional but correct when present, whitespace ignored. Returns the value with the
 * whitespace removed, or why it is refused (a verb phrase: "contains …").
 */
export function checkCarDataValue(value: unknown): { ok: true; value: string } | { ok: false; empty: boolean; problem: string } {
  if (typeof value !== 'string') return { ok: false, empty: false, problem: `is ${describeType(value)}, not a text` }
  const compact = value.replace(/[ \t\r\n]+/g, '')
  if (compact === '') return { ok: false, empty: true, problem: 'is empty' }
  const problem = base64Problem(compact)
  return problem === undefined ? { ok: true, value: compact } : { ok: false, empty: false, problem }
}

/** True for text the import accepts as base64 (see the module comment); whitespace not allowed here. */
export function isValidBase64(value: string): boolean {
  return base64Problem(value) === undefined
}

/** Why `value` (no whitespace) is not acceptable base64, as a verb phrase, or undefined. */
export function base64Problem(value: string): string | undefined {
  if (value === '') return 'is empty'
  for (let i = 0; i < value.length; i++) {
    const c = value[i] ?? ''
    if (!BASE64_CHAR.test(c)) {
      const cp = value.codePointAt(i) ?? 0
      const shown = cp < 0x20 || cp === 0x7f ? `a control character (U+${cp.toString(16).toUpperCase().padStart(4, '0')})` : `"${String.fromCodePoint(cp)}"`
      return `contains ${shown} at character ${i + 1}, which base64 never uses`
    }
  }
  if (BASE64_STD.test(value) && BASE64_URL.test(value)) {
    return 'mixes the standard (+ /) and URL-safe (- _) base64 alphabets'
  }
  const pad = value.indexOf('=')
  if (pad >= 0) {
    const padding = value.slice(pad)
    if (!/^={1,2}$/.test(padding)) return 'has "=" padding in the middle or more than two "=" at the end'
    if (value.length % 4 !== 0) return `is padded with "=" but has ${value.length} characters, not a multiple of 4; it was probably cut short when copied`
    if (pad % 4 < 2) return 'has too much "=" padding; it was probably cut short when copied'
    return undefined
  }
  if (value.length % 4 === 1) return `has ${value.length} characters, a length no base64 text can have; it was probably cut short when copied`
  return undefined
}
