/**
 * Reference encoder for the CarData QR format (docs/cardata-qr.md): turns a CarData export
 * file into the QR code images a phone app shows — one PNG when the export fits one code,
 * else one PNG per part plus the order to show them in as a loop.
 *
 *     node --import tsx scripts/cardata-qr.ts export.json OUT_FOLDER [--scale N]
 *
 * writes OUT_FOLDER/cardata-01.png … and OUT_FOLDER/sequence.json
 * ({"format":"VKCD1","parts":N,"frames":[{"file","text"}], "frameMs": 500}).
 * The tests use the functions below to make photos and camera videos.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import QRCode from 'qrcode'
import { encodeCarDataQr } from '../shared/cardata-qr'

/** How long the phone shows each part of a loop (ms): slow enough for a webcam at 10 fps. */
export const FRAME_MS = 500

/** QR options of the format: byte mode (one segment of the UTF-8 bytes), level M. */
function segments(text: string): QRCode.QRCodeSegment[] {
  return [{ mode: 'byte', data: new TextEncoder().encode(text) }]
}

/** The module matrix of one code (true = dark), without quiet zone. */
export function qrMatrix(text: string): boolean[][] {
  const code = QRCode.create(segments(text), { errorCorrectionLevel: 'M' })
  const size = code.modules.size
  return Array.from({ length: size }, (_, row) => Array.from({ length: size }, (_, col) => code.modules.get(row, col) === 1))
}

/** One code as PNG bytes (4-module quiet zone). */
export async function qrPng(text: string, scale = 6): Promise<Buffer> {
  return QRCode.toBuffer(segments(text), { errorCorrectionLevel: 'M', type: 'png', margin: 4, scale })
}

export interface EncodedFrames {
  texts: string[]
  pngs: Buffer[]
}

/** An export's codes: their texts and PNG images, in showing order. */
export async function encodeExportFrames(exportText: string, scale = 6): Promise<EncodedFrames> {
  const texts = encodeCarDataQr(exportText)
  const pngs = await Promise.all(texts.map((text) => qrPng(text, scale)))
  return { texts, pngs }
}

async function main(argv: string[]): Promise<number> {
  const [input, out] = argv.filter((a) => !a.startsWith('--'))
  const scaleAt = argv.indexOf('--scale')
  const scale = scaleAt >= 0 ? Number(argv[scaleAt + 1]) : 6
  if (input === undefined || out === undefined || !Number.isInteger(scale) || scale < 1) {
    process.stderr.write('Usage: node --import tsx scripts/cardata-qr.ts EXPORT.json OUT_FOLDER [--scale N]\n')
    return 2
  }
  const { texts, pngs } = await encodeExportFrames(await readFile(input, 'utf8'), scale)
  await mkdir(out, { recursive: true })
  const frames = texts.map((text, i) => ({ file: `cardata-${String(i + 1).padStart(2, '0')}.png`, text }))
  await Promise.all(frames.map((frame, i) => writeFile(join(out, frame.file), pngs[i] ?? Buffer.alloc(0))))
  await writeFile(join(out, 'sequence.json'), JSON.stringify({ format: 'VKCD1', parts: texts.length, frameMs: FRAME_MS, frames }, null, 2) + '\n')
  process.stdout.write(`${texts.length === 1 ? 'One code' : `${texts.length} parts`} written to ${out}\n`)
  return 0
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`cardata-qr: ${error instanceof Error ? error.message : String(error)}\n`)
      process.exit(1)
    },
  )
}
