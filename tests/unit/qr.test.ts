import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, writeFile, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import QRCode from 'qrcode'
import { VkError } from '../../shared/errors'
import { QR_BYTE_CAPACITY_M, buildHandoverPayload, parseHandoverPayload, payloadByteLength, type HandoverInput } from '../../shared/qr-payload'
import { renderHandoverQr, writeHandoverQr } from '../../electron/core/qr'
import { qrFormatForPath } from '../../electron/core/output-paths'
import { environmentMark } from '../../shared/environment-marker'
import { inflateSync } from 'node:zlib'

const run = promisify(execFile)

const TOKEN: HandoverInput = {
  vin: 'VF3MCYHZRKS123456',
  accessToken: 'VGhpcyBpcyBhIHNlY3JldCB0b2tlbg==',
  tokenType: 'Bearer',
  expires: '2019-08-14T08:39:40Z',
  tokenSignature: 'VGhpcyB0b2tlbiBpcyB2YWxpZCA7KQ==',
}

/** Decodes a PNG/PBM file with zbarimg, the real scanner. */
async function scan(file: string): Promise<string> {
  const { stdout } = await run('zbarimg', ['--raw', '-q', file], { encoding: 'utf8' })
  return stdout.replace(/\n$/, '')
}

/** Reads the module matrix out of the SVG qrcode writes (one path of "M x y h n m dx 0 …"). */
function svgModules(svg: string): { size: number; margin: number; dark: boolean[][] } {
  const viewBox = /viewBox="0 0 (\d+) (\d+)"/.exec(svg)
  assert.ok(viewBox, 'viewBox present')
  const total = Number(viewBox[1])
  const stroke = /<path stroke="#000000" d="([^"]*)"\/>/.exec(svg)
  assert.ok(stroke, 'dark-module path present')
  const dark = Array.from({ length: total }, () => Array<boolean>(total).fill(false))
  let x = 0
  let y = 0
  for (const [, cmd, a, b] of (stroke[1] ?? '').matchAll(/([MmHh])([\d.]+)(?: ([\d.]+))?/g)) {
    if (cmd === 'M') {
      x = Number(a)
      y = Number(b) - 0.5
    } else if (cmd === 'm') {
      x += Number(a)
      y += Number(b ?? 0)
    } else if (cmd === 'h') {
      const row = dark[y]
      assert.ok(row, `row ${y} inside the image`)
      for (let i = 0; i < Number(a); i++) row[x + i] = true
      x += Number(a)
    } else assert.fail(`unexpected path command ${cmd}`)
  }
  return { size: total, margin: 0, dark }
}

/** Plain PBM (P1), `scale` pixels per module, for zbarimg. */
function toPbm(dark: boolean[][], scale: number): string {
  const size = dark.length * scale
  const rows: string[] = []
  for (const row of dark) {
    const line = row.flatMap((d) => Array<string>(scale).fill(d ? '1' : '0')).join(' ')
    for (let i = 0; i < scale; i++) rows.push(line)
  }
  return `P1\n${size} ${size}\n${rows.join('\n')}\n`
}

describe('handover payload', () => {
  it('builds compact, versioned JSON with the documented keys in order', () => {
    const payload = buildHandoverPayload(TOKEN)
    assert.equal(
      payload,
      '{"v":1,"typ":"vkey-handover","vin":"VF3MCYHZRKS123456","tok":"VGhpcyBpcyBhIHNlY3JldCB0b2tlbg==","tt":"bearer","exp":"2019-08-14T08:39:40Z","sig":"VGhpcyB0b2tlbiBpcyB2YWxpZCA7KQ=="}',
    )
  })

  it('round-trips, with and without VIN', () => {
    assert.deepEqual(parseHandoverPayload(buildHandoverPayload(TOKEN)), { version: 1, ...TOKEN, tokenType: 'bearer' })
    const { vin: _vin, ...noVin } = TOKEN
    const payload = buildHandoverPayload(noVin)
    assert.ok(!payload.includes('"vin"'))
    assert.deepEqual(parseHandoverPayload(payload), { version: 1, ...noVin, tokenType: 'bearer' })
  })

  it('normalises the VIN and refuses a bad one', () => {
    assert.match(buildHandoverPayload({ ...TOKEN, vin: ' vf3mcyhzrks123456' }), /"vin":"VF3MCYHZRKS123456"/)
    assert.throws(
      () => buildHandoverPayload({ ...TOKEN, vin: 'VF3' }),
      (e: unknown) => e instanceof VkError && e.code === 'input.vin',
    )
  })

  it('refuses fields the phone could not use', () => {
    for (const [patch, field] of [
      [{ accessToken: '' }, 'tok'],
      [{ accessToken: 'a\nb' }, 'tok'],
      [{ tokenSignature: '' }, 'sig'],
      [{ expires: '2019-08-14 08:39' }, 'exp'],
      [{ expires: '2019-08-14T08:39:40' }, 'exp'],
      [{ tokenType: '' }, 'tt'],
    ] as const) {
      assert.throws(
        () => buildHandoverPayload({ ...TOKEN, ...patch }),
        (e: unknown) => {
          assert.ok(e instanceof VkError)
          assert.equal(e.code, 'input.field')
          assert.equal(e.details.field, field)
          assert.match(e.message, new RegExp(`"${field}"`))
          return true
        },
      )
    }
  })

  it('the reader refuses other codes, other versions and damaged fields with our messages', () => {
    const good = JSON.parse(buildHandoverPayload(TOKEN)) as Record<string, unknown>
    for (const [text, code, re] of [
      ['https://example.com', 'input.json', /does not hold JSON/],
      ['[1]', 'input.field', /not an object/],
      [JSON.stringify({ ...good, typ: 'other' }), 'input.field', /not a VK Depot handover code/],
      [JSON.stringify({ ...good, v: 2 }), 'input.field', /version 2, newer.*Update the phone app/],
      [JSON.stringify({ ...good, v: '1' }), 'input.field', /unknown format version/],
      [JSON.stringify({ ...good, tok: 5 }), 'input.field', /damaged: the token "tok"/],
      [JSON.stringify({ ...good, exp: 'soon' }), 'input.field', /damaged: the expiry "exp"/],
      [JSON.stringify({ ...good, sig: undefined }), 'input.field', /damaged: the token signature "sig"/],
      [JSON.stringify({ ...good, vin: 'VF3O' }), 'input.vin', /damaged: its VIN/],
    ] as const) {
      assert.throws(
        () => parseHandoverPayload(text),
        (e: unknown) => {
          assert.ok(e instanceof VkError, String(e))
          assert.equal(e.code, code, text)
          assert.match(e.message, re)
          return true
        },
      )
    }
    // Unknown extra keys are ignored (forward compatible within version 1).
    assert.equal(parseHandoverPayload(JSON.stringify({ ...good, future: 1 })).accessToken, TOKEN.accessToken)
  })

  it('measures UTF-8 bytes', () => {
    assert.equal(payloadByteLength('é€'), 5)
  })
})

describe('QR rendering (decoded with zbarimg)', () => {
  let dir = ''
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vk-qr-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('PNG decodes back to the same token', async () => {
    const payload = buildHandoverPayload(TOKEN)
    const png = await renderHandoverQr(payload, 'png')
    assert.ok(Buffer.isBuffer(png))
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
    const file = join(dir, 'token.png')
    await writeFile(file, png)
    const decoded = await scan(file)
    assert.equal(decoded, payload)
    const back = parseHandoverPayload(decoded)
    assert.equal(back.accessToken, TOKEN.accessToken)
    assert.equal(back.vin, TOKEN.vin)
  })

  it('uses error-correction level M and byte mode', async () => {
    const payload = buildHandoverPayload(TOKEN)
    const ours = QRCode.create([{ mode: 'byte', data: Buffer.from(payload, 'utf8') }], { errorCorrectionLevel: 'M' })
    assert.equal(ours.errorCorrectionLevel.bit, 0) // M is 0b00 in the format information
    assert.deepEqual(
      ours.segments.map((s) => s.mode.id),
      ['Byte'],
    )
    // The PNG is exactly that symbol: 8 px per module, 4-module quiet zone.
    const png = await renderHandoverQr(payload, 'png')
    const width = png.readUInt32BE(16)
    assert.equal(width, (ours.modules.size + 8) * 8)
  })

  it("SVG is well-formed and holds the same modules as qrcode's level-M matrix; its geometry scans", async () => {
    const payload = buildHandoverPayload(TOKEN)
    const svg = await renderHandoverQr(payload, 'svg')
    assert.equal(typeof svg, 'string')
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" [^>]*viewBox="0 0 \d+ \d+"[^>]*>.*<\/svg>\n?$/s)
    assert.equal((svg.match(/<path /g) ?? []).length, 2)
    assert.equal((svg.match(/\/>/g) ?? []).length, 2, 'every path is closed')

    const expected = QRCode.create([{ mode: 'byte', data: Buffer.from(payload, 'utf8') }], { errorCorrectionLevel: 'M' }).modules
    const { size, dark } = svgModules(svg)
    assert.equal(size, expected.size + 8)
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        const inside = r >= 4 && c >= 4 && r < expected.size + 4 && c < expected.size + 4
        const want = inside ? expected.get(r - 4, c - 4) === 1 : false
        assert.equal(dark[r]?.[c], want, `module ${r},${c}`)
      }
    }
    // Rasterise the SVG's own geometry and let the real scanner read it.
    const pbm = join(dir, 'from-svg.pbm')
    await writeFile(pbm, toPbm(dark, 4))
    assert.equal(await scan(pbm), payload)
  })

  it('a width option sets the PNG size and the SVG width', async () => {
    const payload = buildHandoverPayload(TOKEN)
    const png = await renderHandoverQr(payload, 'png', { width: 600 })
    assert.equal(png.readUInt32BE(16), 600)
    const svg = await renderHandoverQr(payload, 'svg', { width: 300 })
    assert.match(svg, /width="300" height="300"/)
    await assert.rejects(renderHandoverQr(payload, 'png', { scale: 0 }), (e: unknown) => e instanceof VkError && e.code === 'usage')
  })

  it('the largest payload that fits (2331 bytes) renders and scans; one byte more is refused', async () => {
    const base = buildHandoverPayload({ ...TOKEN, accessToken: 'x' })
    const fill = QR_BYTE_CAPACITY_M - payloadByteLength(base) + 1
    const max = buildHandoverPayload({ ...TOKEN, accessToken: 'A'.repeat(fill) })
    assert.equal(payloadByteLength(max), QR_BYTE_CAPACITY_M)
    const file = join(dir, 'max.png')
    await writeFile(file, await renderHandoverQr(max, 'png', { scale: 4 }))
    assert.equal(await scan(file), max)

    const over = buildHandoverPayload({ ...TOKEN, accessToken: 'A'.repeat(fill + 1) })
    for (const format of ['png', 'svg'] as const) {
      await assert.rejects(renderHandoverQr(over, format), (e: unknown) => {
        assert.ok(e instanceof VkError)
        assert.equal(e.code, 'input.too-large')
        assert.equal(e.message, 'the token is too large for one QR code at error-correction level M (2332 bytes, maximum 2331); export it as JSON instead')
        return true
      })
    }
    // Multi-byte characters count as bytes, not characters.
    await assert.rejects(renderHandoverQr('é'.repeat(1200), 'png'), /2400 bytes, maximum 2331/)
  })
})

/** A PNG's header fields and its unfiltered scanlines (the tests read back what was written). */
function readPng(png: Buffer): { width: number; height: number; bitDepth: number; colourType: number; row: (y: number) => Buffer } {
  let offset = 8
  let header: Buffer | undefined
  const idat: Buffer[] = []
  while (offset < png.length) {
    const length = png.readUInt32BE(offset)
    const type = png.toString('latin1', offset + 4, offset + 8)
    const data = png.subarray(offset + 8, offset + 8 + length)
    if (type === 'IHDR') header = data
    if (type === 'IDAT') idat.push(data)
    offset += 12 + length
  }
  assert.ok(header, 'IHDR present')
  const width = header.readUInt32BE(0)
  const height = header.readUInt32BE(4)
  const raw = inflateSync(Buffer.concat(idat))
  const line = 1 + Math.ceil(width / 8)
  return {
    width,
    height,
    bitDepth: header[8]!,
    colourType: header[9]!,
    row: (y) => {
      assert.equal(raw[y * line], 0, 'filter type 0 (none), as written')
      return raw.subarray(y * line + 1, (y + 1) * line)
    },
  }
}

describe('lean PNG and environment bands (decoded with zbarimg)', () => {
  let dir = ''
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vk-qr-lean-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })
  const payload = buildHandoverPayload(TOKEN)
  const modules = QRCode.create([{ mode: 'byte', data: Buffer.from(payload, 'utf8') }], { errorCorrectionLevel: 'M' }).modules

  it('the PNG is 1-bit greyscale, 8 px per module with the 4-module quiet zone, and scans to the exact payload', async () => {
    const png = await renderHandoverQr(payload, 'png')
    const image = readPng(png)
    assert.deepEqual([image.bitDepth, image.colourType], [1, 0])
    assert.equal(image.width, (modules.size + 8) * 8)
    assert.equal(image.height, image.width)
    // Pixel (x, y) of module (r, c) is dark exactly when qrcode's matrix says so.
    const dark = (x: number, y: number) => ((image.row(y)[x >> 3]! >> (7 - (x & 7))) & 1) === 0
    for (let r = 0; r < modules.size; r++) {
      for (let c = 0; c < modules.size; c++) assert.equal(dark((c + 4) * 8 + 3, (r + 4) * 8 + 5), modules.get(r, c) === 1, `module ${r},${c}`)
    }
    for (let x = 0; x < image.width; x++) assert.equal(dark(x, 31), false, 'quiet zone row is white')
    assert.ok(png.length < 3000, `a small file (${png.length} bytes)`)
    const file = join(dir, 'lean.png')
    await writeFile(file, png)
    assert.equal(await scan(file), payload)
  })

  it('simulator and pre-production codes carry a band with their mark, still scan, and keep 8 px per module; production is unmarked', async () => {
    assert.equal(environmentMark('simulator'), 'SIMULATOR — NOT A CAR KEY')
    assert.equal(environmentMark('preprod'), 'PRE-PRODUCTION')
    assert.equal(environmentMark('prod'), undefined)
    const plain = await renderHandoverQr(payload, 'png')
    assert.deepEqual(await renderHandoverQr(payload, 'png', { environment: 'prod' }), plain)
    for (const environment of ['simulator', 'preprod']) {
      const png = await renderHandoverQr(payload, 'png', { environment })
      const image = readPng(png)
      assert.equal(image.width, (modules.size + 8) * 8, 'same QR size')
      const band = (image.height - image.width) / 2
      assert.ok(band >= 20, `a band of ${band} px above and below`)
      // The band is black with white lettering in the middle: its first row is all black,
      // its middle row has both.
      assert.ok(
        image
          .row(0)
          .subarray(0, image.width >> 3)
          .every((b) => b === 0),
        'band edge is black',
      )
      const middle = image.row(band >> 1).subarray(0, image.width >> 3)
      assert.ok(middle.some((b) => b !== 0) && middle.some((b) => b === 0), 'lettering in the band')
      const file = join(dir, `${environment}.png`)
      await writeFile(file, png)
      assert.equal(await scan(file), payload, `${environment} code scans`)
    }
    const svg = await renderHandoverQr(payload, 'svg', { environment: 'simulator' })
    assert.match(svg, />SIMULATOR — NOT A CAR KEY<\/text>/)
    const plainSvg = await renderHandoverQr(payload, 'svg')
    const darkPath = (text: string) => /<path stroke="#000000" d="([^"]*)"\/>/.exec(text)?.[1]
    assert.equal(darkPath(svg), darkPath(plainSvg), 'the marked SVG holds the same modules')
    assert.doesNotMatch(plainSvg, /<text/)
  })
})

describe('writeHandoverQr', () => {
  let dir = ''
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vk-qr-write-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('chooses the format from the extension and writes a 0600 file', async () => {
    const payload = buildHandoverPayload(TOKEN)
    const png = join(dir, 'Handover.PNG')
    assert.equal(await writeHandoverQr(png, payload), 'png')
    assert.equal((await stat(png)).mode & 0o777, 0o600)
    assert.equal(await scan(png), payload)
    const svg = join(dir, 'handover.svg')
    assert.equal(await writeHandoverQr(svg, payload), 'svg')
    assert.match(await readFile(svg, 'utf8'), /^<svg /)
    // Overwrites in place, leaves no temporary files.
    await writeHandoverQr(svg, payload)
    assert.deepEqual((await readdir(dir)).sort(), ['Handover.PNG', 'handover.svg'])
  })

  it('refuses another extension with a usage error naming --qr', async () => {
    for (const path of ['token.jpg', 'token', 'token.png.txt']) {
      assert.throws(
        () => qrFormatForPath(path),
        (e: unknown) => e instanceof VkError && e.code === 'usage' && e.details.field === '--qr' && /--qr .* must end in \.png or \.svg/.test(e.message),
      )
      await assert.rejects(writeHandoverQr(join(dir, path), 'x'), (e: unknown) => e instanceof VkError && e.code === 'usage')
    }
  })

  it('a missing folder is an input.file error naming the path', async () => {
    const path = join(dir, 'no-such-folder', 'qr.png')
    await assert.rejects(
      writeHandoverQr(path, buildHandoverPayload(TOKEN)),
      (e: unknown) => e instanceof VkError && e.code === 'input.file' && e.message.includes(path) && /folder does not exist/.test(e.message),
    )
  })
})
