/**
 * Reads QR codes from PNG/JPEG bytes in Node (the CLI and the app's main process) with
 * zxing-wasm's reader, which decodes the picture itself. The wasm is read from
 * node_modules and handed over as bytes: zxing-wasm's default would fetch it from a CDN.
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import type { ImportResult } from '../../shared/cardata'
import { codeText, importFromCodes, QR_READER_OPTIONS, type PictureKind } from '../../shared/cardata-scan'

type Reader = typeof import('zxing-wasm/reader')
let reader: Promise<Reader> | undefined

async function loadReader(): Promise<Reader> {
  const zxing = await import('zxing-wasm/reader')
  const require = createRequire(import.meta.url)
  const wasm = await readFile(require.resolve('zxing-wasm/reader/zxing_reader.wasm'))
  const wasmBinary = wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength)
  await zxing.prepareZXingModule({ overrides: { wasmBinary }, fireImmediately: true })
  return zxing
}

/** The UTF-8 texts of the QR codes in a PNG or JPEG file's bytes. */
export async function readQrTexts(bytes: Uint8Array): Promise<string[]> {
  reader ??= loadReader()
  const zxing = await reader
  const results = await zxing.readBarcodes(new Uint8Array(bytes), { ...QR_READER_OPTIONS, formats: [...QR_READER_OPTIONS.formats] })
  const texts: string[] = []
  for (const result of results) {
    if (!result.isValid) continue
    const text = codeText(result.bytes)
    if (text !== undefined) texts.push(text)
  }
  return texts
}

/** Imports the CarData shown in a picture (`kind` from pictureKind). Never throws for a bad picture. */
export async function importCarDataPicture(bytes: Uint8Array, source: string, kind: PictureKind): Promise<ImportResult> {
  let texts: string[]
  try {
    texts = await readQrTexts(bytes)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    return {
      vehicles: [],
      issues: [
        {
          source,
          code: 'input.file',
          message: `${source} could not be read as a ${kind === 'png' ? 'PNG' : 'JPEG'} picture (${reason.slice(0, 120)}). Save the picture again, or import the JSON file the phone app exported.`,
        },
      ],
    }
  }
  return importFromCodes(texts, source, kind)
}
