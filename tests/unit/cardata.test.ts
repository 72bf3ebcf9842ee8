import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, mkdir, readFile, rm, writeFile, chmod, chown } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { MAX_CARDATA_TEXT_BYTES, MAX_ENTRY_BYTES, MAX_VEHICLES_PER_FILE, importIssueCodes, parseCarData, type ImportResult } from '../../shared/cardata'
import { isValidBase64 } from '../../shared/cardata-base64'
import { buildHandoverPayload } from '../../shared/qr-payload'
import { VkError } from '../../shared/errors'
import { normalizeVin, validateVin } from '../../shared/vin'
import { importCarDataFiles, readCarDataStdin } from '../../electron/core/cardata-files'

const FIXTURES = fileURLToPath(new URL('../fixtures/cardata/', import.meta.url))
const VIN = 'VF3MCYHZRKS123456'
const DATA = 'Q2FyRGF0YSBmcm9tIHRoZSBQU0EgU0RL' // "CarData from the PSA SDK"
const SIG = 'c2lnbmF0dXJlIG92ZXIgQ2FyRGF0YQ=='

function parse(value: unknown, source = 'cars.json'): ImportResult {
  return parseCarData(typeof value === 'string' ? value : JSON.stringify(value), source)
}

function onlyIssue(result: ImportResult) {
  assert.equal(result.vehicles.length, 0, 'nothing imported')
  assert.equal(result.issues.length, 1, `one issue, got ${JSON.stringify(result.issues)}`)
  const issue = result.issues[0]
  assert.ok(issue)
  return issue
}

describe('validateVin / normalizeVin', () => {
  it('normalises and accepts a European VIN regardless of check digit', () => {
    assert.equal(normalizeVin('  vf3mcyhzrks123456 \n'), VIN)
    assert.equal(validateVin(' vf3mcyhzrks123456 '), VIN)
    // Position 9 is "R" here: invalid as a North-American check digit, fine in Europe.
    assert.equal(validateVin('VF3MCYHZRKS123456'), VIN)
  })

  for (const [raw, fragment] of [
    ['VF3MCYHZRKS12345', '16 characters'],
    ['VF3MCYHZRKS1234567', '18 characters'],
    ['', 'is empty'],
    ['VF3MCYHZRKS12345O', 'letter O'],
    ['VF3MCYHZRKSI23456', 'letter I'],
    ['VF3MCYHZRKSQ23456', 'letter Q'],
    ['VF3MCYHZRK-123456', 'a dash'],
    ['VF3MCYHZRKÄ123456', '"Ä"'],
  ] as const) {
    it(`refuses ${JSON.stringify(raw)} naming file and field`, () => {
      assert.throws(
        () => validateVin(raw, { file: 'cars.json', field: 'vehicles[2].vin' }),
        (error: unknown) => {
          assert.ok(error instanceof VkError)
          assert.equal(error.code, 'input.vin')
          assert.match(error.message, /cars\.json/)
          assert.match(error.message, /vehicles\[2\]\.vin/)
          assert.ok(error.message.includes(fragment), error.message)
          assert.deepEqual(error.details, { file: 'cars.json', field: 'vehicles[2].vin' })
          return true
        },
      )
    })
  }
})

describe('parseCarData: accepted shapes', () => {
  it('the SDK vehicle object, keys in any case', () => {
    for (const keys of [
      ['vin', 'uin', 'carData', 'carDataSignature'],
      ['VIN', 'UIN', 'CarData', 'CarData_signature'],
      ['Vin', 'Uin', 'cardata', 'cardatasignature'],
      ['vIN', 'uIN', 'CARDATA', 'CARDATA_SIGNATURE'],
    ] as const) {
      const [v, u, d, s] = keys
      const result = parse({ [v]: VIN.toLowerCase(), [u]: ' 0A1B2C3D ', [d]: DATA, [s]: SIG, name: 'Peugeot 3008' })
      assert.deepEqual(result.issues, [])
      assert.deepEqual(result.vehicles, [
        { source: 'cars.json', index: 0, vin: VIN, uin: '0A1B2C3D', label: 'Peugeot 3008', carData: DATA, carDataSignature: SIG },
      ])
    }
  })

  it('the API body shape with vin and label beside carToken (duration ignored)', () => {
    const result = parse({ carToken: { CarData: DATA, CarData_signature: SIG }, duration: '3600', vin: VIN, label: 'DS 7' })
    assert.deepEqual(result.issues, [])
    assert.deepEqual(result.vehicles, [{ source: 'cars.json', index: 0, vin: VIN, label: 'DS 7', carData: DATA, carDataSignature: SIG }])
  })

  it('the bare {CarData, CarData_signature} pair', () => {
    const result = parse({ CarData: DATA, CarData_signature: SIG })
    assert.deepEqual(result.vehicles, [{ source: 'cars.json', index: 0, carData: DATA, carDataSignature: SIG }])
  })

  it('arrays and {"vehicles": [...]} of mixed shapes', () => {
    const entries = [
      { vin: VIN, carData: DATA, carDataSignature: SIG },
      { carToken: { cardata: DATA, cardata_signature: SIG } },
      { CarData: DATA, CarData_signature: SIG, label: 'three' },
    ]
    for (const root of [entries, { vehicles: entries }, { Vehicles: entries, exportedBy: 'app' }]) {
      const result = parse(root)
      assert.deepEqual(result.issues, [])
      assert.deepEqual(
        result.vehicles.map((v) => v.index),
        [0, 1, 2],
      )
      assert.equal(result.vehicles[2]?.label, 'three')
    }
  })

  it('UTF-8 BOM and CRLF line endings', () => {
    const text =
      '\uFEFF' + JSON.stringify({ vehicles: [{ vin: VIN, carData: DATA, carDataSignature: SIG, label: 'Café Citroën' }] }, null, 2).replace(/\n/g, '\r\n')
    const result = parseCarData(text, 'bom.json')
    assert.deepEqual(result.issues, [])
    assert.equal(result.vehicles[0]?.label, 'Café Citroën')
  })

  it('URL-safe base64, missing padding, and line-wrapped base64', () => {
    const result = parse([
      { CarData: 'ab-_cd', CarData_signature: 'QUJD' },
      { CarData: 'QUJDRA', CarData_signature: 'QUJDRA==' },
      { CarData: 'QUJD\r\nREVG\nR0g=', CarData_signature: ' QUJD ' },
    ])
    assert.deepEqual(result.issues, [])
    assert.deepEqual(
      result.vehicles.map((v) => v.carData),
      ['ab-_cd', 'QUJDRA', 'QUJDREVGR0g='],
    )
    assert.equal(result.vehicles[2]?.carDataSignature, 'QUJD')
  })

  it('null optional fields are absent; an empty label falls back to nothing', () => {
    const result = parse({ vin: null, uin: null, label: '  ', CarData: DATA, CarData_signature: SIG })
    assert.deepEqual(result.issues, [])
    assert.deepEqual(result.vehicles, [{ source: 'cars.json', index: 0, carData: DATA, carDataSignature: SIG }])
  })

  it('label wins over name; name is used when label is null', () => {
    assert.equal(parse({ label: 'L', name: 'N', CarData: DATA, CarData_signature: SIG }).vehicles[0]?.label, 'L')
    assert.equal(parse({ label: null, name: 'N', CarData: DATA, CarData_signature: SIG }).vehicles[0]?.label, 'N')
  })

  it('the fixtures import as expected', async () => {
    const result = await importCarDataFiles(['sdk-vehicle.json', 'api-body.json', 'vehicles-list.json', 'with-problems.json'].map((f) => join(FIXTURES, f)))
    assert.deepEqual(
      result.vehicles.map((v) => [v.source.split('/').pop(), v.index, v.vin]),
      [
        ['sdk-vehicle.json', 0, 'VF3MCYHZRKS123456'],
        ['api-body.json', 0, 'VR1URHNSSKW012345'],
        ['vehicles-list.json', 0, 'VF7SAHMZ6LW123456'],
        ['vehicles-list.json', 1, 'W0VZRHNSXMS654321'],
        ['vehicles-list.json', 2, undefined],
        ['with-problems.json', 0, 'VF3MCYHZRKS123456'],
      ],
    )
    for (const v of result.vehicles) assert.ok(isValidBase64(v.carData) && isValidBase64(v.carDataSignature))
    assert.deepEqual(
      result.issues.map((i) => [i.index, i.code, i.field]),
      [
        [1, 'input.vin', '[1].vin'],
        [2, 'input.base64', '[2].carData'],
        [3, 'input.field', '[3].CarData_signature'],
        [4, 'input.field', '[4].carToken.CarData_signature'],
      ],
    )
  })
})

describe('parseCarData: refusals name the source and field', () => {
  const cases: Array<[string, unknown, string, string, RegExp]> = [
    [
      'non-base64 signature in carToken',
      {
        vehicles: [
          { CarData: DATA, CarData_signature: SIG },
          { CarData: DATA, CarData_signature: SIG },
          { CarData: DATA, CarData_signature: SIG },
          { carToken: { CarData: DATA, CarData_signature: 'abc$def' } },
        ],
      },
      'input.base64',
      'vehicles[3].carToken.CarData_signature',
      /"\$" at character 4/,
    ],
    ['mixed alphabets', { CarData: 'ab+-', CarData_signature: SIG }, 'input.base64', 'CarData', /mixes/],
    ['bad padding', { CarData: 'QUJD=', CarData_signature: SIG }, 'input.base64', 'CarData', /multiple of 4/],
    ['padding in the middle', { CarData: 'QU=D', CarData_signature: SIG }, 'input.base64', 'CarData', /middle/],
    ['impossible length', { CarData: 'QUJDR', CarData_signature: SIG }, 'input.base64', 'CarData', /cut short/],
    ['empty CarData', { CarData: '', CarData_signature: SIG }, 'input.field', 'CarData', /is empty/],
    ['number CarData', { carData: 12345, carDataSignature: SIG }, 'input.field', 'carData', /is a number/],
    ['missing signature', { carData: DATA }, 'input.field', 'CarData_signature', /no CarData_signature/],
    ['missing CarData', { carDataSignature: SIG }, 'input.field', 'CarData', /no CarData/],
    [
      "VK Depot's own handover QR read back",
      JSON.parse(buildHandoverPayload({ vin: VIN, accessToken: 'dG9rZW4=', tokenType: 'bearer', expires: '2026-12-02T18:00:00Z', tokenSignature: SIG })),
      'input.field',
      'typ',
      new RegExp(
        `is a VK Depot handover QR code for "${VIN}" \\(its typ is "vkey-handover": a key for the phone\\), not CarData\\. Import the CarData the phone app exports`,
      ),
    ],
    ['carToken not an object', { carToken: 'x' }, 'input.field', 'carToken', /must be an object/],
    ['carToken without signature', { carToken: { CarData: DATA } }, 'input.field', 'carToken.CarData_signature', /missing/],
    ['CarData inside and beside carToken', { carToken: { CarData: DATA, CarData_signature: SIG }, CarData: DATA }, 'input.field', 'CarData', /both inside/],
    ['duplicate keys in different case', { vin: VIN, VIN: VIN, CarData: DATA, CarData_signature: SIG }, 'input.field', 'vin', /both "vin" and "VIN"/],
    ['invalid VIN', [{ vin: 'VF3MCYHZRKS1234', CarData: DATA, CarData_signature: SIG }], 'input.vin', '[0].vin', /15 characters/],
    ['empty VIN', { vin: '', CarData: DATA, CarData_signature: SIG }, 'input.vin', 'vin', /is empty/],
    ['VIN of wrong type', { vin: 17, CarData: DATA, CarData_signature: SIG }, 'input.field', 'vin', /is a number/],
    ['empty UIN', { uin: ' ', CarData: DATA, CarData_signature: SIG }, 'input.field', 'uin', /is empty/],
    ['label with a line break', { label: 'a\nb', CarData: DATA, CarData_signature: SIG }, 'input.field', 'label', /control characters/],
    ['entry not an object', { vehicles: ['x'] }, 'input.field', 'vehicles[0]', /is a text/],
  ]
  for (const [name, value, code, field, message] of cases) {
    it(name, () => {
      const result = parse(value)
      assert.equal(result.vehicles.length, name.startsWith('non-base64') ? 3 : 0)
      const issue = result.issues.find((i) => i.field === field)
      assert.ok(issue, `an issue for ${field}: ${JSON.stringify(result.issues)}`)
      assert.equal(issue.code, code)
      assert.equal(issue.source, 'cars.json')
      assert.match(issue.message, /^cars\.json/)
      assert.ok(issue.message.includes(field), issue.message)
      assert.match(issue.message, message)
      assert.equal(typeof issue.index, 'number')
    })
  }

  it('good entries still import next to bad ones, and issues carry their index', () => {
    const result = parse([
      { CarData: DATA, CarData_signature: SIG },
      { CarData: '***', CarData_signature: SIG, vin: 'bad' },
      { CarData: DATA, CarData_signature: SIG },
    ])
    assert.deepEqual(
      result.vehicles.map((v) => v.index),
      [0, 2],
    )
    assert.deepEqual(
      result.issues.map((i) => [i.index, i.code]),
      [
        [1, 'input.base64'],
        [1, 'input.vin'],
      ],
    )
  })

  it('file-level problems are one issue without an index', () => {
    for (const [text, code, re] of [
      ['{"vin": "x",', 'input.json', /not valid JSON/],
      ['{"a":1,\n "b" 2}', 'input.json', /line 2, column/],
      ['', 'input.json', /is empty/],
      ['\uFEFF \r\n', 'input.json', /is empty/],
      ['"just a string"', 'input.field', /holds a text/],
      ['42', 'input.field', /holds a number/],
      ['[]', 'input.field', /no vehicles/],
      ['{"vehicles": {}}', 'input.field', /must be a list/],
      ['{"vehicles": [], "vehicles ": 1, "VEHICLES": []}', 'input.field', /keep one vehicle list/],
      [`{"vehicles": [], "CarData": "${DATA}"}`, 'input.field', /outside it/],
      ['['.repeat(100) + ']'.repeat(100), 'input.json', /nested more than/],
    ] as const) {
      const issue = onlyIssue(parseCarData(text, 'cars.json'))
      assert.equal(issue.code, code, text)
      assert.equal(issue.index, undefined)
      assert.match(issue.message, re)
      assert.match(issue.message, /cars\.json/)
    }
  })
})

describe('parseCarData: size limits', () => {
  it('exports the limits: 64 KiB per vehicle × 256 vehicles = 16 MiB', () => {
    assert.equal(MAX_ENTRY_BYTES, 65536)
    assert.equal(MAX_VEHICLES_PER_FILE, 256)
    assert.equal(MAX_CARDATA_TEXT_BYTES, 16 * 1024 * 1024)
  })

  it('refuses an oversized text without parsing it (invalid JSON still gives input.too-large)', () => {
    const text = '{' + 'x'.repeat(MAX_CARDATA_TEXT_BYTES) // not JSON, one byte over
    const original = JSON.parse
    let calls = 0
    JSON.parse = ((...args: Parameters<typeof JSON.parse>) => {
      calls++
      return original(...args)
    }) as typeof JSON.parse
    try {
      const issue = onlyIssue(parseCarData(text, 'huge.json'))
      assert.equal(issue.code, 'input.too-large')
      assert.match(issue.message, /huge\.json is larger than 16 MiB/)
      assert.equal(calls, 0, 'JSON.parse was not called')
    } finally {
      JSON.parse = original
    }
  })

  it('counts UTF-8 bytes, not characters', () => {
    // 3-byte characters: under the cap in UTF-16 units, over it in UTF-8 bytes.
    const issue = onlyIssue(parseCarData('€'.repeat(1000), 'euro.json', { maxTextBytes: 2999 }))
    assert.equal(issue.code, 'input.too-large')
    assert.equal(parseCarData('"' + '€'.repeat(999) + '"', 'ok.json', { maxTextBytes: 2999 }).issues[0]?.code, 'input.field')
  })

  it('refuses one oversized vehicle and keeps the others', () => {
    const big = 'A'.repeat(MAX_ENTRY_BYTES) // 64 KiB of base64 + the signature > 64 KiB
    const result = parse({
      vehicles: [
        { CarData: DATA, CarData_signature: SIG },
        { CarData: big, CarData_signature: SIG },
      ],
    })
    assert.equal(result.vehicles.length, 1)
    assert.deepEqual(
      result.issues.map((i) => [i.index, i.code, i.field]),
      [[1, 'input.too-large', 'vehicles[1]']],
    )
  })

  it('refuses more vehicles than fit in one file', () => {
    const entries = Array.from({ length: MAX_VEHICLES_PER_FILE + 1 }, () => ({ CarData: DATA, CarData_signature: SIG }))
    const issue = onlyIssue(parse(entries))
    assert.equal(issue.code, 'input.too-large')
    assert.match(issue.message, /257 vehicles; at most 256/)
    assert.equal(parse(entries.slice(1)).vehicles.length, MAX_VEHICLES_PER_FILE)
  })
})

describe('parseCarData: prototype pollution', () => {
  it('leaves Object.prototype clean and drops __proto__/constructor keys', () => {
    const text = `{"__proto__": {"polluted": "yes", "CarData": "${DATA}"}, "constructor": {"prototype": {"polluted2": 1}},
      "vehicles": [{"__proto__": {"isAdmin": true}, "carToken": {"__proto__": {"CarData_signature": "${SIG}"}, "CarData": "${DATA}"}},
                   {"CarData": "${DATA}", "CarData_signature": "${SIG}", "constructor": "x", "prototype": 1}]}`
    const result = parseCarData(text, 'evil.json')
    const probe: Record<string, unknown> = {}
    assert.equal(probe.polluted, undefined)
    assert.equal(probe.polluted2, undefined)
    assert.equal(probe.isAdmin, undefined)
    assert.equal(probe.CarData, undefined)
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false)
    // The signature hidden in carToken.__proto__ must not count.
    assert.deepEqual(
      result.issues.map((i) => [i.index, i.field]),
      [[0, 'vehicles[0].carToken.CarData_signature']],
    )
    assert.equal(result.vehicles.length, 1)
    assert.equal(Object.getPrototypeOf(result.vehicles[0]), Object.prototype)
  })

  it('a top-level __proto__ holding a vehicle is not imported', () => {
    const result = parseCarData(`{"__proto__": {"CarData": "${DATA}", "CarData_signature": "${SIG}"}}`, 'evil.json')
    assert.equal(result.vehicles.length, 0)
    assert.deepEqual(
      result.issues.map((i) => [i.code, i.field]),
      [
        ['input.field', 'CarData'],
        ['input.field', 'CarData_signature'],
      ],
    )
  })
})

describe('importCarDataFiles / readCarDataStdin', () => {
  let dir = ''
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vk-cardata-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('reads files and merges results in order, naming each source', async () => {
    const a = join(dir, 'a.json')
    const b = join(dir, 'b.json')
    await writeFile(a, '\uFEFF' + JSON.stringify([{ CarData: DATA, CarData_signature: SIG }]).replace(/,/g, ',\r\n'))
    await writeFile(b, JSON.stringify({ vin: VIN, carData: DATA, carDataSignature: SIG }))
    const result = await importCarDataFiles([a, b])
    assert.deepEqual(result.issues, [])
    assert.deepEqual(
      result.vehicles.map((v) => [v.source, v.index]),
      [
        [a, 0],
        [b, 0],
      ],
    )
  })

  it('a missing file is an input.file issue naming the path; the other files still import', async () => {
    const good = join(dir, 'good.json')
    await writeFile(good, JSON.stringify({ CarData: DATA, CarData_signature: SIG }))
    const missing = join(dir, 'nope.json')
    const result = await importCarDataFiles([missing, good])
    assert.equal(result.vehicles.length, 1)
    assert.deepEqual(
      result.issues.map((i) => [i.source, i.code]),
      [[missing, 'input.file']],
    )
    assert.match(result.issues[0]?.message ?? '', /nope\.json was not found/)
  })

  it('a folder is an input.file issue', async () => {
    const folder = join(dir, 'exports')
    await mkdir(folder)
    const issue = onlyIssue(await importCarDataFiles([folder]))
    assert.equal(issue.code, 'input.file')
    assert.match(issue.message, /is a folder/)
  })

  it('an unreadable file is an input.file issue', async () => {
    const locked = join(dir, 'locked.json')
    await writeFile(locked, '{}')
    await chmod(locked, 0o000)
    // root reads every file, so as root the import runs in a child process as "nobody".
    const asNobody = process.getuid?.() === 0
    const result = asNobody ? await importAsNobody(locked) : await importCarDataFiles([locked])
    const issue = onlyIssue(result)
    assert.equal(issue.code, 'input.file')
    assert.match(issue.message, /permission denied/)
  })

  it('invalid UTF-8 and UTF-16 files are refused with what to do', async () => {
    const bad = join(dir, 'latin1.json')
    await writeFile(bad, Buffer.concat([Buffer.from('{"label": "Citro'), Buffer.from([0xeb]), Buffer.from('n"}')]))
    let issue = onlyIssue(await importCarDataFiles([bad]))
    assert.equal(issue.code, 'input.json')
    assert.match(issue.message, /not UTF-8 text \(invalid byte at offset 16\)/)
    const utf16 = join(dir, 'utf16.json')
    await writeFile(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{}', 'utf16le')]))
    issue = onlyIssue(await importCarDataFiles([utf16]))
    assert.match(issue.message, /UTF-16/)
  })

  it('an oversized file is refused from its size without being read', async () => {
    const big = join(dir, 'big.json')
    await writeFile(big, 'x'.repeat(2000))
    const issue = onlyIssue(await importCarDataFiles([big], { maxTextBytes: 1000 }))
    assert.equal(issue.code, 'input.too-large')
    assert.match(issue.message, /it was not read/)
    // Sanity: the default cap is far above this file.
    assert.equal((await readFile(big)).length, 2000)
  })

  it('reads standard input, and stops past the cap', async () => {
    const ok = await readCarDataStdin(Readable.from([Buffer.from('[{"CarData":"' + DATA + '",'), Buffer.from('"CarData_signature":"' + SIG + '"}]')]))
    assert.deepEqual(ok.issues, [])
    assert.equal(ok.vehicles[0]?.source, 'stdin')
    const big = await readCarDataStdin(Readable.from([Buffer.alloc(600, 0x20), Buffer.alloc(600, 0x20)]), { maxTextBytes: 1000 })
    assert.equal(onlyIssue(big).code, 'input.too-large')
    const bad = await readCarDataStdin(Readable.from([Buffer.from([0x7b, 0xc3])]))
    assert.equal(onlyIssue(bad).code, 'input.json')
  })

  it('every issue code is in the enumerated list', () => {
    assert.deepEqual([...importIssueCodes].sort(), ['input.base64', 'input.field', 'input.file', 'input.json', 'input.too-large', 'input.vin'])
  })
})

/**
 * Runs importCarDataFiles in a child process with uid/gid 65534 and returns its result. The
 * child gets a home and temp folder of its own (tsx keeps its cache there), removed after.
 */
async function importAsNobody(path: string): Promise<ImportResult> {
  const module = new URL('../../electron/core/cardata-files.ts', import.meta.url).href
  const script = `const m = await import(${JSON.stringify(module)}); process.stdout.write(JSON.stringify(await m.importCarDataFiles([${JSON.stringify(path)}])))`
  const home = await mkdtemp(join(tmpdir(), 'vk-nobody-'))
  try {
    await chown(home, 65534, 65534)
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      uid: 65534,
      gid: 65534,
      encoding: 'utf8',
      env: { ...process.env, HOME: home, TMPDIR: home },
    })
    assert.equal(child.status, 0, child.stderr)
    return JSON.parse(child.stdout) as ImportResult
  } finally {
    await rm(home, { recursive: true, force: true })
  }
}
