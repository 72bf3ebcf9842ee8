/**
 * The CarData QR format (docs/cardata-qr.md): one code or a checked multi-part sequence,
 * assembled in any order; and the reading of what is inside CarData.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { parseCarData } from '../../shared/cardata'
import { decodeCarDataInner, encodeCarDataInner, inspectCarData } from '../../shared/cardata-inner'
import { addScan, assembleScans, crc32, encodeCarDataQr, MAX_SINGLE_CODE_BYTES, parsePart, type Assembly } from '../../shared/cardata-qr'
import { pictureKind } from '../../shared/cardata-scan'
import { readQrTexts } from '../../electron/core/qr-reader'
import { encodeExportFrames } from '../../scripts/cardata-qr'
import { demoExport } from '../helpers/cardata-qr-fixtures'

function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items]
  let s = seed
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648
    const j = s % (i + 1)
    ;[out[i], out[j]] = [out[j] as T, out[i] as T]
  }
  return out
}

describe('CarData QR format', () => {
  it('CRC-32 is the standard one (zlib/PNG)', () => {
    assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926)
  })

  it('a small export is one code holding the compact JSON itself', () => {
    const small = demoExport(1, { signatureBytes: 100 })
    const codes = encodeCarDataQr(small.text)
    assert.deepEqual(codes, [JSON.stringify(JSON.parse(small.text))])
    assert.ok(new TextEncoder().encode(codes[0]).length <= MAX_SINGLE_CODE_BYTES)
  })

  it('a larger export becomes numbered parts that assemble in any order, repeats ignored', () => {
    const big = demoExport(2)
    const codes = encodeCarDataQr(big.text)
    assert.equal(codes.length, 5)
    codes.forEach((code, i) => assert.match(code, new RegExp(`^VKCD1:${i + 1}/5:[0-9A-F]{8}:`)))
    const step = assembleScans(shuffled([...codes, codes[2] ?? '', codes[0] ?? ''], 7))
    assert.equal(step.kind, 'complete')
    assert.equal(step.kind === 'complete' && step.text, JSON.stringify(JSON.parse(big.text)))
  })

  it('progress counts distinct parts ("3 of 5"); a part of another export starts over', () => {
    const a = encodeCarDataQr(demoExport(3).text)
    const b = encodeCarDataQr(demoExport(4).text)
    let assembly: Assembly | undefined
    for (const code of [a[0], a[1], a[1], a[4]]) {
      const step = addScan(assembly, code ?? '')
      assert.equal(step.kind, 'progress')
      if (step.kind === 'progress') assembly = step.assembly
    }
    assert.equal(assembly?.pieces.size, 3)
    const other = addScan(assembly, b[0] ?? '')
    assert.ok(other.kind === 'progress' && other.restarted && other.have === 1)
  })

  it('a mixed-up sequence (same header, wrong piece) is refused by the checksum; a partial one never completes', () => {
    const codes = encodeCarDataQr(demoExport(5).text)
    const tampered = codes.map((code, i) => (i === 2 ? code.slice(0, -4) + 'AAAA' : code))
    const step = assembleScans(tampered)
    assert.deepEqual(step.kind === 'refused' && step.reason, 'checksum')
    const partial = assembleScans(codes.slice(0, 4))
    assert.ok(partial.kind === 'progress' && partial.have === 4 && partial.total === 5)
    const conflict = assembleScans([codes[0] ?? '', tampered[0]?.replace(/.$/, '#') ?? ''])
    assert.equal(conflict.kind, 'refused')
  })

  it('text that is neither JSON nor a part is foreign; headers out of range are not parts', () => {
    assert.equal(addScan(undefined, 'https://example.com').kind, 'foreign')
    assert.equal(parsePart('VKCD1:6/5:00000000:x'), undefined)
    assert.equal(parsePart('VKCD1:0/5:00000000:x'), undefined)
  })

  it('pictures are told by their first bytes, not their names', () => {
    assert.equal(pictureKind(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0])), 'png')
    assert.equal(pictureKind(new Uint8Array([0xff, 0xd8, 0xff, 0xe0])), 'jpeg')
    assert.equal(pictureKind(new TextEncoder().encode('{"vin":"x"}')), undefined)
  })
})

describe('property: export → encoder → codes (shuffled, some repeated) → the same vehicle', () => {
  const exportArb = fc.record({
    vin: fc.stringMatching(/^[A-HJ-NPR-Z0-9]{17}$/),
    uin: fc.stringMatching(/^[0-9A-Za-z]{8,22}$/),
    label: fc.option(
      fc.string({ maxLength: 40 }).filter((s) => s.trim() !== ''),
      { nil: undefined },
    ),
    signatureBytes: fc.integer({ min: 10, max: 6000 }),
    timestamp: fc.date({ min: new Date('2015-01-01'), max: new Date('2035-01-01'), noInvalidDate: true }),
    seed: fc.integer({ min: 1, max: 1_000_000 }),
    repeats: fc.array(fc.nat(), { maxLength: 6 }),
    shape: fc.constantFrom('sdk', 'api-body', 'pair', 'list', 'vehicles'),
  })

  /** The export in one of the shapes a file may have (shared/cardata.ts). */
  function exportText(e: { vin: string; uin: string; label: string | undefined; timestamp: Date; shape: string }, sig: string): string {
    const carData = encodeCarDataInner({ timestamp: e.timestamp.toISOString(), uin: e.uin })
    const sdk = { vin: e.vin, uin: e.uin, carData, carDataSignature: sig, ...(e.label ? { label: e.label } : {}) }
    const shaped =
      e.shape === 'api-body'
        ? { carToken: { CarData: carData, CarData_signature: sig }, vin: e.vin, duration: '3600' }
        : e.shape === 'pair'
          ? { CarData: carData, CarData_signature: sig }
          : e.shape === 'list'
            ? [sdk]
            : e.shape === 'vehicles'
              ? { vehicles: [sdk] }
              : sdk
    return JSON.stringify(shaped, null, 2)
  }

  it('texts: 300 exports of every shape and size', () => {
    fc.assert(
      fc.property(exportArb, (e) => {
        const sig = Buffer.from(Array.from({ length: e.signatureBytes }, (_, i) => (i * 31 + e.seed) % 256)).toString('base64')
        const text = exportText(e, sig)
        const codes = encodeCarDataQr(text)
        const scans = shuffled([...codes, ...e.repeats.map((r) => codes[r % codes.length] ?? '')], e.seed)
        const step = assembleScans(scans)
        assert.equal(step.kind, 'complete')
        const got = parseCarData(step.kind === 'complete' ? step.text : '', 'scan')
        const want = parseCarData(text, 'scan')
        assert.deepEqual(got, want)
        assert.equal(got.vehicles.length, 1)
      }),
      { numRuns: 300 },
    )
  })

  it('images: 12 exports drawn as PNG frames and read back by zxing-wasm', async () => {
    await fc.assert(
      fc.asyncProperty(exportArb, async (e) => {
        const sig = Buffer.from(Array.from({ length: e.signatureBytes % 4000 }, (_, i) => (i * 17 + e.seed) % 256)).toString('base64') || 'AA=='
        const text = exportText(e, sig)
        const { pngs } = await encodeExportFrames(text, 3)
        const frames = shuffled([...pngs, ...e.repeats.slice(0, 2).map((r) => pngs[r % pngs.length] ?? Buffer.alloc(0))], e.seed)
        const scans: string[] = []
        for (const png of frames) scans.push(...(await readQrTexts(png)))
        const step = assembleScans(scans)
        assert.equal(step.kind, 'complete')
        assert.deepEqual(parseCarData(step.kind === 'complete' ? step.text : '', 'x'), parseCarData(text, 'x'))
      }),
      { numRuns: 12 },
    )
  })
})

describe('CarData contents ({timestamp, uin} in base64)', () => {
  const now = new Date('2026-12-01T10:00:00Z')

  it('decodes the documented example and gives the UIN and the age', () => {
    const carData = Buffer.from('{"timestamp":"2026-11-21T17:15:00Z","uin":"00000T0p00000000000002"}').toString('base64')
    const seen = inspectCarData(carData, { now, fileUin: '00000T0p00000000000002' })
    assert.deepEqual(seen.inner, { timestamp: '2026-11-21T17:15:00Z', uin: '00000T0p00000000000002' })
    assert.equal(seen.ageDays, 9)
    assert.deepEqual(seen.warnings, [])
  })

  it('warns, without refusing, when the file UIN differs or the CarData is older than the limit', () => {
    const carData = encodeCarDataInner({ timestamp: '2026-10-01T00:00:00Z', uin: 'INNER' })
    const seen = inspectCarData(carData, { now, fileUin: 'OUTER' })
    assert.deepEqual(
      seen.warnings.map((w) => w.code),
      ['uin-mismatch', 'stale'],
    )
    assert.match(seen.warnings[0]?.message ?? '', /OUTER.*INNER/)
    assert.deepEqual(inspectCarData(carData, { now, fileUin: 'INNER', maxAgeDays: 90 }).warnings, [])
    assert.equal(parseCarData(JSON.stringify({ uin: 'OUTER', carData, carDataSignature: 'AAAA' }), 'f').vehicles.length, 1)
  })

  it('CarData of another form is simply not understood (no warning, no error)', () => {
    assert.equal(decodeCarDataInner(Buffer.from('not json').toString('base64')), undefined)
    assert.equal(decodeCarDataInner(Buffer.from('{"uin":"X"}').toString('base64')), undefined)
    assert.equal(decodeCarDataInner(Buffer.from('{"uin":"X","timestamp":"soon"}').toString('base64')), undefined)
    assert.deepEqual(inspectCarData('AYnQ3wpG4X5L1ktOLC+7TpzSBixXnU0Wsqk0', { now }), { warnings: [] })
  })
})
