/**
 * Reading JSON text that comes from outside (a phone's export, a pasted text): its size and
 * nesting measured before JSON.parse runs, objects rebuilt without a prototype and with no
 * prototype-polluting keys, and a parse error said with its line and column. Pure TypeScript.
 */

export type JsonObject = Record<string, unknown>

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/** JSON.parse reviver: drops prototype-polluting keys and rebuilds objects without a prototype. */
export function safeReviver(key: string, value: unknown): unknown {
  if (FORBIDDEN_KEYS.has(key)) return undefined
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const out: JsonObject = Object.create(null) as JsonObject
    for (const k of Object.keys(value)) {
      if (!FORBIDDEN_KEYS.has(k)) out[k] = (value as JsonObject)[k]
    }
    return out
  }
  return value
}

export function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** Own keys of `obj` whose lower-case form is one of `names` (lower-case). */
export function findKeys(obj: JsonObject, names: string[]): string[] {
  return Object.keys(obj).filter((k) => names.includes(k.toLowerCase()))
}

export function describeType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  switch (typeof value) {
    case 'string':
      return value === '' ? 'an empty text' : 'a text'
    case 'number':
      return 'a number'
    case 'boolean':
      return value ? 'true' : 'false'
    case 'object':
      return 'an object'
    default:
      return 'missing'
  }
}

/** UTF-8 length of `text`, counting stops once it passes `limit` (returns limit + 1). */
export function utf8LengthUpTo(text: string, limit: number): number {
  // Every UTF-16 code unit is at least one UTF-8 byte and at most three.
  if (text.length > limit) return limit + 1
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) bytes += 1
    else if (c < 0x800) bytes += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4
        i++
      } else bytes += 3
    } else bytes += 3
    if (bytes > limit) return limit + 1
  }
  return bytes
}

/** Deepest array/object nesting in JSON text, counting stops past `limit`. Strings are skipped. */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0
  let max = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c)
        i++ // backslash: skip the escaped character
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b || c === 0x7b) {
      depth++
      if (depth > max) {
        max = depth
        if (max > limit) return max
      }
    } else if (c === 0x5d || c === 0x7d) depth--
  }
  return max
}

/** " (line L, column C)" from a JSON.parse SyntaxError, when the engine says where. */
export function describeJsonError(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : ''
  if (/end of JSON input/i.test(message)) return ': it ends too early (the file is cut short)'
  const lc = /line (\d+) column (\d+)/.exec(message)
  if (lc) return ` (line ${lc[1]}, column ${lc[2]})`
  const pos = /position (\d+)/.exec(message)
  if (pos) {
    const offset = Math.min(Number(pos[1]), text.length)
    let line = 1
    let lineStart = 0
    for (let i = 0; i < offset; i++) {
      if (text.charCodeAt(i) === 0x0a) {
        line++
        lineStart = i + 1
      }
    }
    return ` (line ${line}, column ${offset - lineStart + 1})`
  }
  return ''
}
