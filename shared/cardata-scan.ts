/**
 * What the app and the CLI share about reading CarData from pictures: which files are
 * pictures (by their first bytes, never by their name), the decoder's options, and the
 * turning of the codes found in one picture into an import result with clear messages.
 * Pure TypeScript (the decoding itself is zxing-wasm: electron/core/qr-reader.ts in Node,
 * renderer/src/scanner/decoder.worker.ts in the app).
 */
import { parseCarData, type ImportResult } from './cardata'
import { assembleScans } from './cardata-qr'

export type PictureKind = 'png' | 'jpeg'

/** PNG or JPEG by magic bytes; undefined for anything else (JSON text included). */
export function pictureKind(bytes: Uint8Array): PictureKind | undefined {
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
  if (bytes.length >= 8 && png.every((b, i) => bytes[i] === b)) return 'png'
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg'
  return undefined
}

/**
 * zxing-wasm reader options: QR only, try harder (rotated, blurred, low contrast), several
 * codes per picture (a screenshot of a part list), and the raw bytes decoded as UTF-8 by us.
 */
export const QR_READER_OPTIONS = {
  formats: ['QRCode'],
  tryHarder: true,
  tryRotate: true,
  tryInvert: true,
  tryDownscale: true,
  maxNumberOfSymbols: 8,
} as const

/** UTF-8 text of a code's bytes; undefined when they are not UTF-8. */
export function codeText(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return undefined
  }
}

/** The export text shown by the codes found in one picture, or the message saying why not. */
export function exportFromCodes(texts: string[], source: string, kind: PictureKind): { text: string } | { problem: string } {
  const picture = kind === 'png' ? 'PNG image' : 'JPEG photo'
  if (texts.length === 0) {
    return {
      problem: `${source} is a ${picture} with no readable QR code. Take the picture again with the whole code in view, sharp and without glare, or import the JSON file the phone app exported.`,
    }
  }
  const step = assembleScans(texts)
  switch (step.kind) {
    case 'complete':
      return { text: step.text }
    case 'progress':
      return {
        problem: `${source} shows ${step.have} of the ${step.total} parts of a CarData code. Scan the phone's loop with Vehicles → Scan from phone, or import the JSON file the phone app exported.`,
      }
    case 'refused':
      return {
        problem: `${source} shows CarData code parts that do not belong together (${step.reason === 'checksum' ? 'the checksum does not match' : 'one part appears with two contents'}). Show the code again on the phone and take a new picture.`,
      }
    case 'foreign':
      return {
        problem: `${source} shows a QR code that is not a VK Depot CarData code (see docs/cardata-qr.md). In the phone app, show the vehicle's CarData code and take the picture again.`,
      }
  }
}

/** The import result for the code texts found in one picture named `source`. */
export function importFromCodes(texts: string[], source: string, kind: PictureKind): ImportResult {
  const found = exportFromCodes(texts, source, kind)
  if ('problem' in found) return { vehicles: [], issues: [{ source, code: 'input.file', message: found.problem }] }
  return parseCarData(found.text, source)
}
