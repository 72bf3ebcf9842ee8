/**
 * Handover QR rendering (PNG or SVG) with the `qrcode` package: byte mode, error-correction
 * level M, quiet zone of 4 modules. Payload format: shared/qr-payload.ts, docs/handover-qr.md.
 */

import { extname } from 'node:path'
import QRCode, { type QRCodeSegment } from 'qrcode'
import { VkError } from '../../shared/errors'
import { QR_BYTE_CAPACITY_M } from '../../shared/qr-payload'
import { writeFileAtomic } from './secure-files'

export type QrFormat = 'png' | 'svg'

export interface QrRenderOptions {
  /** Pixels per module (PNG) — default 8. Ignored when `width` is given. */
  scale?: number
  /** Total image width in pixels (PNG) or the SVG's width/height attribute. */
  width?: number
  /** Quiet zone in modules; default 4 (the QR standard's minimum). */
  margin?: number
}

const DEFAULT_SCALE = 8
const DEFAULT_MARGIN = 4

function segmentsFor(payload: string): { bytes: Buffer; segments: QRCodeSegment[] } {
  const bytes = Buffer.from(payload, 'utf8')
  if (bytes.length > QR_BYTE_CAPACITY_M) {
    throw new VkError('input.too-large', `the token is too large for one QR code at error-correction level M (${bytes.length} bytes, maximum ${QR_BYTE_CAPACITY_M}); export it as JSON instead`)
  }
  if (bytes.length === 0) {
    throw new VkError('input.field', 'The handover QR code cannot be made from an empty payload. Issue the token again.')
  }
  return { bytes, segments: [{ mode: 'byte', data: bytes }] }
}

function checkOptions(options: QrRenderOptions): void {
  for (const [name, value, min] of [['scale', options.scale, 1], ['width', options.width, 21], ['margin', options.margin, 0]] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < min || value > 10_000)) {
      throw new VkError('usage', `QR option ${name} must be a whole number from ${min} to 10000 (got ${String(value)}).`, { field: name })
    }
  }
}

/** Renders the payload as a PNG (Buffer) or an SVG document (string). */
export async function renderHandoverQr(payload: string, format: 'png', options?: QrRenderOptions): Promise<Buffer>
export async function renderHandoverQr(payload: string, format: 'svg', options?: QrRenderOptions): Promise<string>
export async function renderHandoverQr(payload: string, format: QrFormat, options?: QrRenderOptions): Promise<Buffer | string>
export async function renderHandoverQr(payload: string, format: QrFormat, options: QrRenderOptions = {}): Promise<Buffer | string> {
  checkOptions(options)
  const { segments } = segmentsFor(payload)
  const margin = options.margin ?? DEFAULT_MARGIN
  try {
    if (format === 'png') {
      return await QRCode.toBuffer(segments, {
        type: 'png',
        errorCorrectionLevel: 'M',
        margin,
        ...(options.width !== undefined ? { width: options.width } : { scale: options.scale ?? DEFAULT_SCALE }),
      })
    }
    if (format === 'svg') {
      return await QRCode.toString(segments, {
        type: 'svg',
        errorCorrectionLevel: 'M',
        margin,
        ...(options.width !== undefined ? { width: options.width } : {}),
      })
    }
  } catch (error) {
    // The length check above should make this unreachable; keep the promised message anyway.
    if (error instanceof Error && /too big|amount of data/i.test(error.message)) {
      throw new VkError('input.too-large', `the token is too large for one QR code at error-correction level M (${Buffer.byteLength(payload, 'utf8')} bytes, maximum ${QR_BYTE_CAPACITY_M}); export it as JSON instead`, {}, { cause: error })
    }
    throw error
  }
  throw new VkError('usage', `Unknown QR format ${JSON.stringify(format)}; use png or svg.`, { field: '--qr' })
}

/** The format a `--qr` path asks for, from its extension (.png / .svg, any case). */
export function qrFormatForPath(path: string): QrFormat {
  const ext = extname(path).toLowerCase()
  if (ext === '.png') return 'png'
  if (ext === '.svg') return 'svg'
  throw new VkError('usage', `--qr ${JSON.stringify(path)} must end in .png or .svg, which decides the image format (e.g. --qr handover.png).`, { field: '--qr', file: path })
}

/**
 * Writes the QR image to `path` (format from the extension) with secure-files'
 * writeFileAtomic: mode 0600, temporary file renamed into place — the code is a car key
 * until it expires. Returns the format written.
 */
export async function writeHandoverQr(path: string, payload: string, options?: QrRenderOptions): Promise<QrFormat> {
  const format = qrFormatForPath(path)
  const image = await renderHandoverQr(payload, format, options)
  try {
    await writeFileAtomic(path, image, 0o600)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'its folder does not exist'
      : code === 'EACCES' || code === 'EPERM' ? 'permission was denied'
      : code === 'EISDIR' ? 'it is a folder'
      : code === 'ENOSPC' ? 'the disk is full'
      : `the system said ${code ?? 'no reason'}`
    throw new VkError('input.file', `The QR code could not be written to ${path}: ${why}. Choose another --qr path.`, { file: path, field: '--qr' }, { cause: error })
  }
  return format
}
