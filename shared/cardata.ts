/**
 * CarData import: parsing and validation of what a phone app built on the PSA mobile SDK
 * exports for a vehicle (see /work/shared/reference/psa-virtual-key-api.md). Pure TypeScript.
 *
 * Accepted shapes (key names matched case-insensitively, nothing else; for users: docs/cardata.md,
 * with an example file per shape in docs/examples/):
 *   1. SDK vehicle object:   {"vin", "uin", "carData", "carDataSignature" | "CarData_signature", "label" | "name"}
 *   2. the API body:         {"carToken": {"CarData", "CarData_signature"}, "vin"?, "uin"?, "label"?}
 *                            (other keys such as "duration" are ignored)
 *   3. bare pair:            {"CarData", "CarData_signature"}
 *   4. a JSON array of 1–3, or {"vehicles": [ … ]}.
 *
 * Rules:
 * - UTF-8 text, with or without BOM; any line endings.
 * - A text larger than MAX_CARDATA_TEXT_BYTES is refused before JSON.parse runs; so is
 *   JSON nested deeper than MAX_JSON_DEPTH (no real export comes close, and it keeps
 *   every later step free of stack exhaustion).
 * - A file-level problem (too large, not JSON, no vehicle list, too many vehicles) is ONE
 *   issue without an index, and nothing is imported from that file.
 * - Otherwise every entry either becomes a vehicle or gives one or more issues carrying
 *   its index: nothing is silently dropped.
 * - `__proto__`, `constructor` and `prototype` keys are dropped while parsing and every
 *   object is rebuilt with a null prototype, so input can never reach Object.prototype.
 * - Base64 (CarData, signature): the standard alphabet (A–Z a–z 0–9 + /) or the URL-safe
 *   one (A–Z a–z 0–9 - _), not both mixed; "=" padding optional, but when present it must
 *   be correct. Whitespace (line wrapping, as Android's Base64.DEFAULT produces) is
 *   removed first — it carries no data. The value is otherwise kept exactly as exported.
 * - null in an optional field (vin, uin, label, name) means "absent"; an empty or blank
 *   label/name is also treated as absent (it is only a nickname). An empty VIN or UIN is
 *   an issue.
 */

import type { ErrorCode } from './errors'
import { normalizeVin, quoteShort, vinProblem } from './vin'
import { hasUnsafeTextChar } from './terminal-text'
import { checkCarDataValue } from './cardata-base64'
import { formatBytes } from './byte-size'
import { HANDOVER_PAYLOAD_TYPE } from './qr-payload'
import { describeJsonError, describeType, findKeys, isObject, jsonDepth, safeReviver, utf8LengthUpTo, type JsonObject } from './untrusted-json'

/** Largest accepted vehicle entry (CarData + signature + other fields, as JSON). */
export const MAX_ENTRY_BYTES = 64 * 1024
/** Most vehicles one file may hold. */
export const MAX_VEHICLES_PER_FILE = 256
/** Largest accepted text: 64 KiB × 256 = 16 MiB. Larger is refused without parsing. */
export const MAX_CARDATA_TEXT_BYTES = MAX_ENTRY_BYTES * MAX_VEHICLES_PER_FILE
/** Deepest JSON nesting accepted ({"vehicles":[{"carToken":{}}]} is 4). */
export const MAX_JSON_DEPTH = 32
/** Longest accepted label / name (characters). */
export const MAX_LABEL_LENGTH = 100
/** Longest accepted UIN (characters). */
export const MAX_UIN_LENGTH = 64

/** Every code an import issue can carry ('input.file' only comes from the file reader). */
export const importIssueCodes = [
  'input.file',
  'input.too-large',
  'input.json',
  'input.field',
  'input.base64',
  'input.vin',
] as const satisfies readonly ErrorCode[]

export type ImportIssueCode = (typeof importIssueCodes)[number]

export interface ImportedVehicle {
  /** File path (or 'stdin') the vehicle came from. */
  source: string
  /** Position of the entry in its file (0 for a file holding a single vehicle). */
  index: number
  /** Normalised (trimmed, upper-case) and validated VIN, when the file has one. */
  vin?: string
  uin?: string
  label?: string
  /** Base64, whitespace removed, otherwise as exported. */
  carData: string
  /** Base64, whitespace removed, otherwise as exported. */
  carDataSignature: string
}

export interface ImportIssue {
  source: string
  /** Entry position; absent for a problem with the whole file. */
  index?: number
  /** Field path as written in the file, e.g. `vehicles[3].carToken.CarData_signature`. */
  field?: string
  code: ImportIssueCode
  message: string
}

export interface ImportResult {
  vehicles: ImportedVehicle[]
  issues: ImportIssue[]
}

/** Limits, mainly for tests; defaults are the exported constants. */
export interface ParseCarDataOptions {
  maxTextBytes?: number
  maxEntryBytes?: number
  maxVehicles?: number
}

const CONTROL_CHAR = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/ // eslint-disable-line no-control-regex

const REEXPORT = 'Export the vehicle again from the phone app; do not edit CarData by hand.'

/** Parses a CarData export. Never throws; problems come back as issues. */
export function parseCarData(text: string, source: string, options: ParseCarDataOptions = {}): ImportResult {
  const limits = {
    maxTextBytes: options.maxTextBytes ?? MAX_CARDATA_TEXT_BYTES,
    maxEntryBytes: options.maxEntryBytes ?? MAX_ENTRY_BYTES,
    maxVehicles: options.maxVehicles ?? MAX_VEHICLES_PER_FILE,
  }
  const result: ImportResult = { vehicles: [], issues: [] }
  try {
    parseInto(result, text, source, limits)
  } catch (error) {
    // Defensive only: the steps above are written not to throw. Report rather than crash.
    result.vehicles = []
    result.issues = [
      {
        source,
        code: 'input.json',
        message: `${source} could not be read: unexpected ${error instanceof Error ? error.name : 'error'} while checking it (this is a VK Depot bug; please report it with the file's shape, not its contents).`,
      },
    ]
  }
  return result
}

function parseInto(result: ImportResult, text: string, source: string, limits: { maxTextBytes: number; maxEntryBytes: number; maxVehicles: number }): void {
  const fileIssue = (code: ImportIssueCode, message: string, field?: string): void => {
    result.issues.push({ source, code, message, ...(field !== undefined ? { field } : {}) })
  }

  if (typeof text !== 'string') {
    fileIssue('input.json', `${source} was not read as text. Pass the JSON file the phone app exported.`)
    return
  }
  // Size first, before anything looks at the content.
  const size = utf8LengthUpTo(text, limits.maxTextBytes)
  if (size > limits.maxTextBytes) {
    fileIssue(
      'input.too-large',
      `${source} is larger than ${formatBytes(limits.maxTextBytes)}, the most a CarData file may hold (${limits.maxVehicles} vehicles of at most ${formatBytes(limits.maxEntryBytes)}). It is probably not a CarData export; pick the JSON file the phone app exported, or split it into smaller files.`,
    )
    return
  }
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  if (body.trim() === '') {
    fileIssue('input.json', `${source} is empty. Pick the JSON file the phone app exported.`)
    return
  }
  const depth = jsonDepth(body, MAX_JSON_DEPTH)
  if (depth > MAX_JSON_DEPTH) {
    fileIssue(
      'input.json',
      `${source} is nested more than ${MAX_JSON_DEPTH} levels deep, which no CarData export is. Pick the JSON file the phone app exported.`,
    )
    return
  }
  let root: unknown
  try {
    root = JSON.parse(body, safeReviver)
  } catch (error) {
    fileIssue('input.json', `${source} is not valid JSON${describeJsonError(error, body)}. Export it again from the phone app, or fix it in a text editor.`)
    return
  }

  let entries: unknown[]
  let listPath: string | undefined
  if (Array.isArray(root)) {
    entries = root
    listPath = ''
  } else if (isObject(root)) {
    const vehiclesKey = findKeys(root, ['vehicles'])
    if (vehiclesKey.length > 1) {
      fileIssue('input.field', `${source} has both ${vehiclesKey.map((k) => `"${k}"`).join(' and ')}; keep one vehicle list.`, vehiclesKey[0])
      return
    }
    const vk = vehiclesKey[0]
    if (vk !== undefined) {
      const stray = findKeys(root, ['cardata', 'cardatasignature', 'cardata_signature', 'cartoken'])
      if (stray.length > 0) {
        fileIssue(
          'input.field',
          `${source} has a "${vk}" list and also "${stray[0] ?? ''}" outside it; move that vehicle into the list so none is lost.`,
          stray[0],
        )
        return
      }
      const list = root[vk]
      if (!Array.isArray(list)) {
        fileIssue('input.field', `${source}: "${vk}" is ${describeType(list)}; it must be a list of vehicles ([ … ]).`, vk)
        return
      }
      entries = list
      listPath = vk
    } else {
      entries = [root]
      listPath = undefined
    }
  } else {
    fileIssue(
      'input.field',
      `${source} holds ${describeType(root)}; a CarData file holds a vehicle object, a list of them, or {"vehicles": [ … ]}. Pick the JSON file the phone app exported.`,
    )
    return
  }

  if (entries.length === 0) {
    fileIssue(
      'input.field',
      `${source} contains no vehicles. Export at least one vehicle from the phone app.`,
      listPath === '' || listPath === undefined ? undefined : listPath,
    )
    return
  }
  if (entries.length > limits.maxVehicles) {
    fileIssue(
      'input.too-large',
      `${source} has ${entries.length} vehicles; at most ${limits.maxVehicles} fit in one file. Split it into several files.`,
      listPath === '' || listPath === undefined ? undefined : listPath,
    )
    return
  }

  entries.forEach((entry, index) => {
    const entryPath = listPath === undefined ? '' : `${listPath}[${index}]`
    const { vehicle, issues } = checkEntry(entry, index, entryPath, source, limits.maxEntryBytes)
    if (issues.length > 0) result.issues.push(...issues)
    else if (vehicle !== undefined) result.vehicles.push(vehicle)
  })
}

/** One entry being checked: where it is, and the issues found so far. */
interface EntryCheck {
  source: string
  entryPath: string
  issues: ImportIssue[]
  /** The field path of `name` inside this entry. */
  at(name: string): string
  /** How messages name the entry: "the vehicle" or its path. */
  subject: string
  issue(code: ImportIssueCode, field: string | undefined, message: string): void
  /** A field by its accepted spellings; null (and an issue) when two spellings are both there. */
  pick(obj: JsonObject, names: string[], prefix: string, canonical: string): { key: string; value: unknown } | undefined | null
}

function entryCheck(index: number, entryPath: string, source: string): EntryCheck {
  const issues: ImportIssue[] = []
  const at = (name: string): string => (entryPath === '' ? name : `${entryPath}.${name}`)
  const issue = (code: ImportIssueCode, field: string | undefined, message: string): void => {
    issues.push({ source, index, code, message, ...(field !== undefined && field !== '' ? { field } : {}) })
  }
  return {
    source,
    entryPath,
    issues,
    at,
    subject: entryPath === '' ? 'the vehicle' : entryPath,
    issue,
    // Refuses ambiguous spellings (e.g. both "vin" and "VIN").
    pick(obj, names, prefix, canonical) {
      const keys = findKeys(obj, names)
      if (keys.length > 1) {
        const path = prefix === '' ? at(keys[0] ?? canonical) : at(`${prefix}.${keys[0] ?? canonical}`)
        issue(
          'input.field',
          path,
          `${source}: ${prefix === '' ? (entryPath === '' ? 'the vehicle' : entryPath) : at(prefix)} has both ${keys.map((k) => `"${k}"`).join(' and ')}; keep only one.`,
        )
        return null
      }
      const key = keys[0]
      return key === undefined ? undefined : { key, value: obj[key] }
    },
  }
}

function checkEntry(
  entry: unknown,
  index: number,
  entryPath: string,
  source: string,
  maxEntryBytes: number,
): { vehicle?: ImportedVehicle; issues: ImportIssue[] } {
  const check = entryCheck(index, entryPath, source)
  const { issues, issue } = check
  const where = entryPath === '' ? source : `${source}: ${entryPath}`

  if (!isObject(entry)) {
    issue('input.field', entryPath, `${where} is ${describeType(entry)}; each vehicle must be an object with CarData and CarData_signature. ${REEXPORT}`)
    return { issues }
  }
  if (entry.typ === HANDOVER_PAYLOAD_TYPE) {
    // VK Depot's own handover QR (a key for the phone), read back as if it were the phone's export.
    const vin = typeof entry.vin === 'string' ? ` for ${quoteShort(entry.vin)}` : ''
    issue(
      'input.field',
      check.at('typ'),
      `${where} is a VK Depot handover QR code${vin} (its typ is "${HANDOVER_PAYLOAD_TYPE}": a key for the phone), not CarData. Import the CarData the phone app exports for the vehicle.`,
    )
    return { issues }
  }
  const entryBytes = utf8LengthUpTo(JSON.stringify(entry), maxEntryBytes)
  if (entryBytes > maxEntryBytes) {
    issue(
      'input.too-large',
      entryPath,
      `${where} is larger than ${formatBytes(maxEntryBytes)}, the most one vehicle's CarData, signature and fields may take. ${REEXPORT}`,
    )
    return { issues }
  }

  const { data, sig } = locateCarData(check, entry)
  const carData = data ? checkBase64Field(check, data.path, data.value, 'CarData') : undefined
  const carDataSignature = sig ? checkBase64Field(check, sig.path, sig.value, 'the CarData signature') : undefined
  const vin = checkVinField(check, entry)
  const uin = checkUinField(check, entry)
  const label = checkLabelField(check, entry)

  if (issues.length > 0 || carData === undefined || carDataSignature === undefined) return { issues }
  const vehicle: ImportedVehicle = { source, index, carData, carDataSignature }
  if (vin !== undefined) vehicle.vin = vin
  if (uin !== undefined) vehicle.uin = uin
  if (label !== undefined) vehicle.label = label
  return { vehicle, issues }
}

type Located = { path: string; value: unknown } | undefined

/** CarData and its signature: inside "carToken" (the API body's shape) or beside the other fields, never both. */
function locateCarData(check: EntryCheck, entry: JsonObject): { data: Located; sig: Located } {
  const { source, at, issue, pick, subject } = check
  const carToken = pick(entry, ['cartoken'], '', 'carToken')
  const topData = pick(entry, ['cardata'], '', 'CarData')
  const topSig = pick(entry, ['cardatasignature', 'cardata_signature'], '', 'CarData_signature')

  let data: Located
  let sig: Located
  if (carToken) {
    const tokenPath = at(carToken.key)
    if (topData || topSig) {
      const other = topData ? topData.key : (topSig?.key ?? '')
      issue('input.field', at(other), `${source}: ${subject} has "${other}" both inside "${carToken.key}" and beside it; keep one copy.`)
    } else if (!isObject(carToken.value)) {
      issue(
        'input.field',
        tokenPath,
        `${source}: ${tokenPath} is ${describeType(carToken.value)}; it must be an object {"CarData": …, "CarData_signature": …}. ${REEXPORT}`,
      )
    } else {
      const inner = carToken.value
      const d = pick(inner, ['cardata'], carToken.key, 'CarData')
      const s = pick(inner, ['cardatasignature', 'cardata_signature'], carToken.key, 'CarData_signature')
      const dataExpected = `${tokenPath}.CarData`
      const sigExpected = `${tokenPath}.CarData_signature`
      if (d) data = { path: `${tokenPath}.${d.key}`, value: d.value }
      if (s) sig = { path: `${tokenPath}.${s.key}`, value: s.value }
      if (d === undefined) issue('input.field', dataExpected, `${source}: ${dataExpected} is missing. ${REEXPORT}`)
      if (s === undefined) issue('input.field', sigExpected, `${source}: ${sigExpected} is missing. ${REEXPORT}`)
    }
  } else if (carToken === undefined) {
    if (topData) data = { path: at(topData.key), value: topData.value }
    if (topSig) sig = { path: at(topSig.key), value: topSig.value }
    if (topData === undefined)
      issue('input.field', at('CarData'), `${source}: ${subject} has no CarData (looked for "CarData", "carData" or "carToken"). ${REEXPORT}`)
    if (topSig === undefined)
      issue(
        'input.field',
        at('CarData_signature'),
        `${source}: ${subject} has no CarData_signature (looked for "CarData_signature" or "carDataSignature"). ${REEXPORT}`,
      )
  }
  return { data, sig }
}

/** A base64 value (whitespace removed), or undefined with the issue recorded. */
function checkBase64Field({ source, issue }: EntryCheck, path: string, value: unknown, what: string): string | undefined {
  if (typeof value !== 'string') {
    issue('input.field', path, `${source}: ${path} is ${describeType(value)}; ${what} must be a base64 text. ${REEXPORT}`)
    return undefined
  }
  const checked = checkCarDataValue(value)
  if (!checked.ok) {
    issue(
      checked.empty ? 'input.field' : 'input.base64',
      path,
      checked.empty ? `${source}: ${path} is empty. ${REEXPORT}` : `${source}: ${path} is not base64: it ${checked.problem}. ${REEXPORT}`,
    )
    return undefined
  }
  return checked.value
}

/** An optional text field's path and text; undefined when absent or null, or (with an issue) when not a text. */
function optionalText(
  { source, at, issue }: EntryCheck,
  field: { key: string; value: unknown } | undefined | null,
  mustBe: string,
): { path: string; text: string } | undefined {
  if (!field || field.value === null) return undefined
  const path = at(field.key)
  if (typeof field.value === 'string') return { path, text: field.value }
  issue('input.field', path, `${source}: ${path} is ${describeType(field.value)}; ${mustBe}. Correct it or remove the field.`)
  return undefined
}

/** The VIN (optional), normalised and checked. */
function checkVinField(check: EntryCheck, entry: JsonObject): string | undefined {
  const vin = optionalText(check, check.pick(entry, ['vin'], '', 'vin'), 'a VIN must be a text of 17 characters')
  if (!vin) return undefined
  const normal = normalizeVin(vin.text)
  const problem = vinProblem(normal)
  if (problem === undefined) return normal
  check.issue(
    'input.vin',
    vin.path,
    `${check.source}: ${vin.path} ${quoteShort(normal)} ${problem}. Copy the 17-character VIN from the registration document, or remove the field.`,
  )
  return undefined
}

/** The UIN (optional; its format is not published, so only sanity checks). */
function checkUinField(check: EntryCheck, entry: JsonObject): string | undefined {
  const uin = optionalText(check, check.pick(entry, ['uin'], '', 'uin'), 'a UIN must be a text')
  if (!uin) return undefined
  const { source, issue } = check
  const { path } = uin
  const trimmed = uin.text.trim()
  if (trimmed === '') issue('input.field', path, `${source}: ${path} is empty. Remove the field or fill in the UIN.`)
  else if (Array.from(trimmed).length > MAX_UIN_LENGTH)
    issue('input.field', path, `${source}: ${path} is longer than ${MAX_UIN_LENGTH} characters, which no UIN is. Correct it or remove the field.`)
  else if (CONTROL_CHAR.test(trimmed)) issue('input.field', path, `${source}: ${path} contains control characters. Correct it or remove the field.`)
  else return trimmed
  return undefined
}

/** The label (optional; "label" wins over "name"; blank means none). */
function checkLabelField(check: EntryCheck, entry: JsonObject): string | undefined {
  const labelField = check.pick(entry, ['label'], '', 'label')
  const nameField = check.pick(entry, ['name'], '', 'name')
  const label = optionalText(check, labelField && labelField.value !== null ? labelField : nameField, 'a label must be a text')
  if (!label) return undefined
  const trimmed = label.text.trim()
  const problem = labelProblem(trimmed)
  if (problem !== undefined) check.issue('input.field', label.path, `${check.source}: ${label.path} ${problem}`)
  else if (trimmed !== '') return trimmed
  return undefined
}

/**
 * Why a label (already trimmed) cannot be kept, as a sentence after its name, or undefined.
 * The one rule for labels, wherever they are set: an import, the app, the command line.
 */
export function labelProblem(label: string): string | undefined {
  if (Array.from(label).length > MAX_LABEL_LENGTH) return `is longer than ${MAX_LABEL_LENGTH} characters. Shorten it.`
  if (CONTROL_CHAR.test(label) || hasUnsafeTextChar(label))
    return 'contains control characters (line breaks, tabs, escape or direction codes…). Keep the label on one line, as plain text.'
  return undefined
}
