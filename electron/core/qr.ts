/**
 * Handover QR rendering (PNG or SVG): byte mode, error-correction level M, quiet zone of 4
 * modules. Payload format: shared/qr-payload.ts, docs/handover-qr.md.
 *
 * The symbol (version, error correction, mask) is the `qrcode` package's (QRCode.create), its
 * mask chosen as qrcode chooses it but faster (qr-mask.ts); the PNG is written here as 1-bit
 * greyscale (png-1bit.ts says why: ≈ 1 ms instead of ≈ 26 ms), the SVG is qrcode's own. A key
 * from a test environment (simulator, pre-production, custom endpoint) gets a black band above
 * and below the code with the environment's mark (shared/environment-marker.ts) in white
 * capitals; the quiet zone stays white, so the code scans as before. Production codes are
 * unmarked.
 */

import QRCode, { type BitMatrix, type QRCodeSegment } from 'qrcode'
import { environmentMark } from '../../shared/environment-marker'
import { VkError } from '../../shared/errors'
import { QR_BYTE_CAPACITY_M } from '../../shared/qr-capacity'
import { forEachTextPixel, GLYPH_HEIGHT, textWidth } from './bitmap-font'
import { Bitmap } from './png-1bit'
import { applyBestMask } from './qr-mask'
import { render as svgTag } from 'qrcode/lib/renderer/svg-tag.js'
import { qrFormatForPath, type QrFormat } from './output-paths'
import { describeWriteError, isDiskFull, writeFileAtomic } from './secure-files'

export interface QrRenderOptions {
  /** Pixels per module (PNG) — default 8. Ignored when `width` is given. */
  scale?: number
  /** Total image width in pixels (PNG) or the SVG's width attribute. */
  width?: number
  /** Quiet zone in modules; default 4 (the QR standard's minimum). */
  margin?: number
  /** The profile's environment: simulator / preprod / custom codes carry a band saying so. */
  environment?: string | undefined
}

const DEFAULT_SCALE = 8
const DEFAULT_MARGIN = 4
/** Level M in the format information (ISO/IEC 18004 table 12: L 01, M 00, Q 11, H 10). */
const LEVEL_M_BIT = 0

function tooLarge(bytes: number, cause?: unknown): VkError {
  return new VkError(
    'input.too-large',
    `the token is too large for one QR code at error-correction level M (${bytes} bytes, maximum ${QR_BYTE_CAPACITY_M}); export it as JSON instead`,
    {},
    cause === undefined ? undefined : { cause },
  )
}

function segmentsFor(payload: string): QRCodeSegment[] {
  const bytes = Buffer.from(payload, 'utf8')
  if (bytes.length > QR_BYTE_CAPACITY_M) throw tooLarge(bytes.length)
  if (bytes.length === 0) {
    throw new VkError('input.field', 'The handover QR code cannot be made from an empty payload. Issue the token again.')
  }
  return [{ mode: 'byte', data: bytes }]
}

function checkOptions(options: QrRenderOptions): void {
  for (const [name, value, min] of [
    ['scale', options.scale, 1],
    ['width', options.width, 21],
    ['margin', options.margin, 0],
  ] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < min || value > 10_000)) {
      throw new VkError('usage', `QR option ${name} must be a whole number from ${min} to 10000 (got ${String(value)}).`, { field: name })
    }
  }
}

/** The symbol's modules (qrcode's matrix: level M, byte mode, the mask qrcode would choose, chosen faster by qr-mask.ts). */
export function qrMatrix(payload: string): BitMatrix {
  const segments = segmentsFor(payload)
  try {
    const { modules } = QRCode.create(segments, { errorCorrectionLevel: 'M', maskPattern: 0 })
    applyBestMask(modules, LEVEL_M_BIT)
    return modules
  } catch (error) {
    // The length check above should make this unreachable; keep the promised message anyway.
    if (error instanceof Error && /too big|amount of data/i.test(error.message)) throw tooLarge(Buffer.byteLength(payload, 'utf8'), error)
    throw error
  }
}

/** Calls `run(row, fromCol, toCol)` for every horizontal run of dark modules. */
export function forEachDarkRun(matrix: BitMatrix, run: (row: number, from: number, to: number) => void): void {
  const { size, data } = matrix
  for (let r = 0; r < size; r++) {
    let c = 0
    while (c < size) {
      if (!data[r * size + c]) {
        c++
        continue
      }
      const from = c
      while (c < size && data[r * size + c]) c++
      run(r, from, c)
    }
  }
}

/** The band: black, the mark centred in white capitals `unit` pixels per font pixel. */
function drawBand(bitmap: Bitmap, top: number, height: number, text: string, unit: number): void {
  bitmap.rect(0, top, bitmap.width, height)
  const left = Math.floor((bitmap.width - textWidth(text) * unit) / 2)
  const textTop = top + Math.floor((height - GLYPH_HEIGHT * unit) / 2)
  forEachTextPixel(text, (x, y) => {
    for (let dy = 0; dy < unit; dy++) bitmap.run(textTop + y * unit + dy, left + x * unit, left + (x + 1) * unit, false)
  })
}

function renderPng(matrix: BitMatrix, options: QrRenderOptions): Buffer {
  const margin = options.margin ?? DEFAULT_MARGIN
  const modules = matrix.size + margin * 2
  const scale = options.width !== undefined && options.width >= modules ? options.width / modules : (options.scale ?? DEFAULT_SCALE)
  // Module k covers pixels edge[k] ≤ x < edge[k + 1] (uneven only when a width is imposed).
  const edge = Array.from({ length: modules + 1 }, (_, k) => Math.floor(k * scale))
  const side = edge[modules]!
  const mark = environmentMark(options.environment)
  const unit = mark ? Math.max(1, Math.min(Math.floor((side * 0.92) / textWidth(mark)), Math.ceil(scale / 2))) : 0
  const band = mark ? unit * (GLYPH_HEIGHT + 4) : 0
  const bitmap = new Bitmap(side, side + band * 2)
  let drawn = -1
  forEachDarkRun(matrix, (r, from, to) => {
    const y = band + edge[margin + r]!
    if (drawn !== r) {
      // Finish the previous module row by repeating its first pixel row.
      if (drawn >= 0)
        for (let yy = band + edge[margin + drawn]! + 1; yy < band + edge[margin + drawn + 1]!; yy++) bitmap.copyRow(band + edge[margin + drawn]!, yy)
      drawn = r
    }
    bitmap.run(y, edge[margin + from]!, edge[margin + to]!)
  })
  if (drawn >= 0) for (let yy = band + edge[margin + drawn]! + 1; yy < band + edge[margin + drawn + 1]!; yy++) bitmap.copyRow(band + edge[margin + drawn]!, yy)
  if (mark) {
    drawBand(bitmap, 0, band, mark, unit)
    drawBand(bitmap, band + side, band, mark, unit)
  }
  return bitmap.toPng()
}

/** qrcode's own SVG writer (what QRCode.toString uses), fed the matrix already built. */
function svgFromMatrix(matrix: BitMatrix, margin: number, width: number | undefined): string {
  return svgTag({ modules: matrix }, { margin, ...(width !== undefined ? { width } : {}) })
}

const escapeXml = (text: string): string => text.replace(/[<>&"]/g, (ch) => `&#${ch.charCodeAt(0)};`)

/** qrcode's SVG, inside a taller one with the band above and below when the key is marked. */
function markSvg(svg: string, mark: string, width: number | undefined): string {
  const side = Number(/viewBox="0 0 (\d+) \d+"/.exec(svg)?.[1])
  const band = Math.max(3, Math.round(side / 14))
  const height = side + band * 2
  const inner = svg.replace(/^<svg [^>]*>/, '').replace(/<\/svg>\n?$/, '')
  const text = (y: number) =>
    `<text x="${side / 2}" y="${y + band * 0.72}" font-family="Arial,Helvetica,sans-serif" font-weight="bold" font-size="${(band * 0.62).toFixed(2)}" fill="#ffffff" text-anchor="middle" textLength="${(side * 0.9).toFixed(1)}" lengthAdjust="spacingAndGlyphs">${escapeXml(mark)}</text>`
  const size = width === undefined ? '' : `width="${width}" height="${Math.round((width * height) / side)}" `
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" ${size}viewBox="0 0 ${side} ${height}" shape-rendering="crispEdges">` +
    `<rect width="${side}" height="${band}" fill="#000000"/>${text(0)}` +
    `<svg y="${band}" width="${side}" height="${side}" viewBox="0 0 ${side} ${side}">${inner}</svg>` +
    `<rect y="${band + side}" width="${side}" height="${band}" fill="#000000"/>${text(band + side)}</svg>\n`
  )
}

/** Renders the payload as a PNG (Buffer) or an SVG document (string). */
export async function renderHandoverQr(payload: string, format: 'png', options?: QrRenderOptions): Promise<Buffer>
export async function renderHandoverQr(payload: string, format: 'svg', options?: QrRenderOptions): Promise<string>
export async function renderHandoverQr(payload: string, format: QrFormat, options?: QrRenderOptions): Promise<Buffer | string>
export async function renderHandoverQr(payload: string, format: QrFormat, options: QrRenderOptions = {}): Promise<Buffer | string> {
  return renderHandoverQrSync(payload, format, options)
}

/** The same, synchronously (the batch's file pipeline renders between its writes). */
export function renderHandoverQrSync(payload: string, format: QrFormat, options: QrRenderOptions = {}): Buffer | string {
  checkOptions(options)
  if (format !== 'png' && format !== 'svg') throw new VkError('usage', `Unknown QR format ${JSON.stringify(format)}; use png or svg.`, { field: '--qr' })
  const matrix = qrMatrix(payload)
  if (format === 'png') return renderPng(matrix, options)
  const margin = options.margin ?? DEFAULT_MARGIN
  const mark = environmentMark(options.environment)
  // qrcode renders its SVG from the same matrix (toString would build the symbol again).
  const svg = svgFromMatrix(matrix, margin, mark ? undefined : options.width)
  return mark ? markSvg(svg, mark, options.width) : svg
}

/**
 * Writes the QR image to `path` (format from the extension) with secure-files'
 * writeFileAtomic: mode 0600, temporary file renamed into place — the code is a car key
 * until it expires. Returns the format written.
 */
export async function writeHandoverQr(path: string, payload: string, options?: QrRenderOptions): Promise<QrFormat> {
  const format = qrFormatForPath(path)
  const image = renderHandoverQrSync(payload, format, options)
  try {
    await writeFileAtomic(path, image, 0o600)
  } catch (error) {
    // The path's own problem (no folder, no permission, a folder in the way) is the input's; anything else the disk's.
    const code = (error as NodeJS.ErrnoException).code
    throw new VkError(
      code === 'ENOENT' || code === 'EACCES' || code === 'EPERM' || code === 'EISDIR' ? 'input.file' : 'output.write',
      `The QR code could not be written to ${path}: ${describeWriteError(error)}. ${isDiskFull(error) ? 'Free space there or choose' : 'Choose'} another --qr path.`,
      { file: path, field: '--qr' },
      { cause: error },
    )
  }
  return format
}
