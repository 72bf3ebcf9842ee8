/**
 * Property tests for the CarData import: arbitrary text, arbitrary JSON, and structured
 * near-valid exports with mutated fields, key cases and types. At least 10,000 inputs.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import fc from 'fast-check'
import { isValidBase64 } from '../../shared/cardata-base64'
import { importIssueCodes, parseCarData, type ImportResult } from '../../shared/cardata'

const RUNS = { strings: 3000, json: 3000, structured: 4500 }
let total = 0

const VIN_ALPHABET = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789'.split('')
const VALID_VIN = /^[A-HJ-NPR-Z0-9]{17}$/

/** The invariants every result must satisfy, whatever the input. */
function checkInvariants(result: ImportResult, source: string): void {
  for (const issue of result.issues) {
    assert.ok((importIssueCodes as readonly string[]).includes(issue.code), `unexpected code ${issue.code}`)
    assert.equal(issue.source, source)
    assert.ok(issue.message.length > 0)
    assert.ok(!issue.message.includes('VK Depot bug'), issue.message)
  }
  for (const v of result.vehicles) {
    assert.equal(v.source, source)
    assert.ok(isValidBase64(v.carData), `carData ${v.carData}`)
    assert.ok(isValidBase64(v.carDataSignature), `signature ${v.carDataSignature}`)
    if (v.vin !== undefined) assert.match(v.vin, VALID_VIN)
  }
  const fileLevel = result.issues.filter((i) => i.index === undefined)
  if (fileLevel.length > 0) {
    assert.equal(result.issues.length, 1, 'a file-level problem is one issue')
    assert.equal(result.vehicles.length, 0, 'nothing imported from a refused file')
  }
  const accepted = result.vehicles.map((v) => v.index)
  assert.equal(new Set(accepted).size, accepted.length, 'each entry imported at most once')
  const refused = new Set(result.issues.flatMap((i) => (i.index === undefined ? [] : [i.index])))
  for (const index of accepted) assert.ok(!refused.has(index), `entry ${index} both imported and refused`)
}

/** Independent count of entries in a text the parser accepted as JSON (undefined: not JSON). */
function entryCount(text: string): number | undefined {
  let root: unknown
  try {
    root = JSON.parse(text.replace(/^\uFEFF/, ''))
  } catch {
    return undefined
  }
  if (Array.isArray(root)) return root.length
  if (root !== null && typeof root === 'object') {
    const keys = Object.keys(root).filter((k) => k.toLowerCase() === 'vehicles')
    const list = keys.length === 1 ? (root as Record<string, unknown>)[keys[0] ?? ''] : undefined
    return Array.isArray(list) ? list.length : 1
  }
  return 1
}

/** Nothing lost: without a file-level issue, every entry is either imported or refused. */
function checkAccounting(result: ImportResult, expected: number | undefined): void {
  if (result.issues.some((i) => i.index === undefined) || expected === undefined) return
  const seen = new Set([...result.vehicles.map((v) => v.index), ...result.issues.flatMap((i) => (i.index === undefined ? [] : [i.index]))])
  assert.deepEqual(
    [...seen].sort((a, b) => a - b),
    Array.from({ length: expected }, (_, i) => i),
  )
}

// ---- structured near-valid exports ----------------------------------------------------

interface Field {
  value: unknown
  ok: boolean
}

const randomCase = (name: string): fc.Arbitrary<string> =>
  fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }).map((flags) =>
    name
      .split('')
      .map((c, i) => (flags[i] ? c.toUpperCase() : c.toLowerCase()))
      .join(''),
  )

// Weighted so that roughly half the generated entries are fully valid.
const base64Field: fc.Arbitrary<Field> = fc.oneof(
  { arbitrary: fc.uint8Array({ minLength: 1, maxLength: 48 }).map((b) => ({ value: Buffer.from(b).toString('base64'), ok: true })), weight: 20 },
  fc.uint8Array({ minLength: 1, maxLength: 48 }).map((b) => ({ value: Buffer.from(b).toString('base64').replace(/=+$/, ''), ok: true })),
  fc.uint8Array({ minLength: 1, maxLength: 48 }).map((b) => ({ value: Buffer.from(b).toString('base64url'), ok: true })),
  fc.uint8Array({ minLength: 20, maxLength: 90 }).map((b) => ({
    value: Buffer.from(b)
      .toString('base64')
      .replace(/(.{16})/g, '$1\r\n'),
    ok: true,
  })),
  fc.tuple(fc.uint8Array({ minLength: 3, maxLength: 30 }), fc.constantFrom('%', '!', ' é', '*', '"', '\u0000', '.'), fc.nat()).map(([b, bad, at]) => {
    const s = Buffer.from(b).toString('base64')
    const i = at % s.length
    return { value: s.slice(0, i) + bad + s.slice(i + 1), ok: false }
  }),
  fc.uint8Array({ minLength: 1, maxLength: 30 }).map((b) => ({ value: Buffer.from(b).toString('base64').replace(/=+$/, '') + '===', ok: false })),
  fc.uint8Array({ minLength: 7, maxLength: 30 }).map((b) => ({ value: Buffer.from(b).toString('base64').replace(/=+$/, '').slice(0, 9), ok: false })),
  fc.constant({ value: 'ab+-cd__', ok: false }),
  fc.constantFrom<Field>(
    { value: '', ok: false },
    { value: '   ', ok: false },
    { value: null, ok: false },
    { value: 42, ok: false },
    { value: true, ok: false },
    { value: ['QUJD'], ok: false },
    { value: { a: 'QUJD' }, ok: false },
  ),
)

const vinChars = fc.array(fc.constantFrom(...VIN_ALPHABET), { minLength: 17, maxLength: 17 }).map((c) => c.join(''))
const vinField: fc.Arbitrary<Field | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 8 },
  { arbitrary: vinChars.map((v) => ({ value: v, ok: true })), weight: 12 },
  vinChars.map((v) => ({ value: `  ${v.toLowerCase()} `, ok: true })),
  fc.constant({ value: null, ok: true }),
  vinChars.map((v) => ({ value: v.slice(1), ok: false })),
  vinChars.map((v) => ({ value: v + '1', ok: false })),
  fc.tuple(vinChars, fc.constantFrom('I', 'O', 'Q', '-', ' ', 'ß'), fc.nat(16)).map(([v, c, i]) => ({ value: v.slice(0, i) + c + v.slice(i + 1), ok: false })),
  fc.constantFrom<Field>({ value: '', ok: false }, { value: 12345678901234, ok: false }, { value: false, ok: false }),
)

const uinField: fc.Arbitrary<Field | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 8 },
  fc.constantFrom<Field>(
    { value: '0A1B2C3D4E5F6071', ok: true },
    { value: null, ok: true },
    { value: '', ok: false },
    { value: ' ', ok: false },
    { value: 7, ok: false },
    { value: 'x'.repeat(65), ok: false },
    { value: 'a\tb', ok: false },
  ),
)

const labelField: fc.Arbitrary<Field | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 6 },
  fc.constantFrom<Field>(
    { value: 'Peugeot 208 — AB-123-CD', ok: true },
    { value: null, ok: true },
    { value: '', ok: true },
    { value: ' Citroën ', ok: true },
    { value: 'a\nb', ok: false },
    { value: 'x'.repeat(101), ok: false },
    { value: 3, ok: false },
  ),
  fc.string({ maxLength: 20 }).map((s) => ({ value: s, ok: !/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(s) })), // eslint-disable-line no-control-regex
)

type Pairs = Array<[string, unknown]>

function objectText(pairs: Pairs, indent: boolean): string {
  const sep = indent ? ',\n  ' : ','
  return (
    '{' + pairs.map(([k, v]) => `${JSON.stringify(k)}:${typeof v === 'string' && v.startsWith('\u0001RAW') ? v.slice(4) : JSON.stringify(v)}`).join(sep) + '}'
  )
}

interface Entry {
  text: string
  ok: boolean
}

const entryArb: fc.Arbitrary<Entry> = fc
  .record({
    shape: fc.oneof({ arbitrary: fc.constantFrom('sdk', 'api', 'bare'), weight: 10 }, { arbitrary: fc.constantFrom('dup', 'not-object'), weight: 1 }),
    data: fc.option(base64Field, { nil: undefined, freq: 30 }),
    sig: fc.option(base64Field, { nil: undefined, freq: 30 }),
    vin: vinField,
    uin: uinField,
    label: labelField,
    labelKey: fc.constantFrom('label', 'name'),
    keys: fc.record({
      vin: randomCase('vin'),
      uin: randomCase('uin'),
      label: randomCase('label'),
      name: randomCase('name'),
      carData: randomCase('carData'),
      sigSdk: fc.constantFrom('carDataSignature', 'CarData_signature', 'cardatasignature', 'CARDATA_SIGNATURE'),
      carToken: randomCase('carToken'),
      CarData: randomCase('CarData'),
      sigApi: randomCase('CarData_signature'),
    }),
    junk: fc.subarray<[string, unknown]>([
      ['__proto__', { CarData: 'QUJD', polluted: 1 }],
      ['constructor', { prototype: { polluted: 1 } }],
      ['duration', '3600'],
      ['prototype', 1],
      ['extra', [1, 2, { x: null }]],
    ]),
    indent: fc.boolean(),
    other: fc.jsonValue({ maxDepth: 2 }),
  })
  .map((g): Entry => {
    if (g.shape === 'not-object')
      return { text: JSON.stringify(g.other === null || typeof g.other !== 'object' || Array.isArray(g.other) ? g.other : [g.other]), ok: false }
    const pairs: Pairs = [...g.junk]
    let ok = true
    const add = (key: string, field: Field | undefined, required: boolean): void => {
      if (field === undefined) {
        if (required) ok = false
        return
      }
      pairs.push([key, field.value])
      if (!field.ok) ok = false
    }
    if (g.shape === 'api') {
      const inner: Pairs = []
      if (g.data) inner.push([g.keys.CarData, g.data.value])
      if (g.sig) inner.push([g.keys.sigApi, g.sig.value])
      ok = !!g.data?.ok && !!g.sig?.ok
      pairs.push([g.keys.carToken, '\u0001RAW' + objectText(inner, false)])
    } else {
      add(g.shape === 'bare' ? g.keys.CarData : g.keys.carData, g.data, true)
      add(g.shape === 'bare' ? g.keys.sigApi : g.keys.sigSdk, g.sig, true)
    }
    add(g.keys.vin, g.vin, false)
    add(g.keys.uin, g.uin, false)
    add(g.labelKey === 'label' ? g.keys.label : g.keys.name, g.label, false)
    if (g.shape === 'dup') {
      // The same field twice in different case: always refused.
      pairs.push([g.keys.vin.toUpperCase() === g.keys.vin ? 'vin' : 'VIN', 'VF3MCYHZRKS123456'])
      if (g.vin === undefined) pairs.push([g.keys.vin, 'VF3MCYHZRKS123456'])
      ok = false
    }
    return { text: objectText(pairs, g.indent), ok }
  })

const fileArb = fc.record({
  entries: fc.array(entryArb, { minLength: 0, maxLength: 6 }),
  wrap: fc.constantFrom('array', 'vehicles', 'Vehicles', 'single'),
  bom: fc.boolean(),
  crlf: fc.boolean(),
})

describe('parseCarData properties', () => {
  after(() => {
    console.log(`fast-check: ${total} generated inputs checked`)
    assert.ok(total >= 10_000, `at least 10,000 inputs (ran ${total})`)
  })

  it(`arbitrary strings (${RUNS.strings} runs)`, () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.string({
            unit: fc.constantFrom('{', '}', '[', ']', '"', ':', ',', 'a', '\\', '\uFEFF', ' ', 'CarData', 'vin', 'vehicles', '__proto__'),
            maxLength: 60,
          }),
        ),
        (text) => {
          total++
          const result = parseCarData(text, 'any.txt')
          checkInvariants(result, 'any.txt')
          checkAccounting(result, entryCount(text))
        },
      ),
      { numRuns: RUNS.strings },
    )
  })

  it(`arbitrary JSON (${RUNS.json} runs)`, () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 4 }), (text) => {
        total++
        const result = parseCarData(text, 'any.json')
        checkInvariants(result, 'any.json')
        checkAccounting(result, entryCount(text))
      }),
      { numRuns: RUNS.json },
    )
  })

  it(`structured near-valid exports with mutated fields, key cases and types (${RUNS.structured} runs)`, () => {
    fc.assert(
      fc.property(fileArb, ({ entries, wrap, bom, crlf }) => {
        total++
        const list = '[' + entries.map((e) => e.text).join(',\n') + ']'
        let text = wrap === 'array' ? list : wrap === 'single' ? (entries[0]?.text ?? '{}') : `{"exportedBy":"prop-test",${JSON.stringify(wrap)}:${list}}`
        if (crlf) text = text.replace(/\n/g, '\r\n')
        if (bom) text = '\uFEFF' + text
        const result = parseCarData(text, 'gen.json')
        checkInvariants(result, 'gen.json')
        const used = wrap === 'single' ? entries.slice(0, 1) : entries
        if (wrap === 'single' && used.length === 1 && !(used[0]?.text.startsWith('{') ?? false)) return // root is not an object: file-level
        if (used.length === 0 || (wrap === 'single' && entries.length === 0)) {
          if (wrap !== 'single') assert.equal(result.issues[0]?.index, undefined)
          return
        }
        checkAccounting(result, used.length)
        used.forEach((entry, index) => {
          const imported = result.vehicles.some((v) => v.index === index)
          assert.equal(
            imported,
            entry.ok,
            `entry ${index} ${entry.ok ? 'should import' : 'should be refused'}: ${entry.text}\n${JSON.stringify(result.issues)}`,
          )
        })
        assert.equal(({} as Record<string, unknown>).polluted, undefined)
      }),
      { numRuns: RUNS.structured },
    )
  })
})
