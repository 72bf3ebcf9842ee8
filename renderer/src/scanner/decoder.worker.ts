/**
 * The QR decoder, off the page's thread: zxing-wasm's reader. Its WebAssembly is bundled into
 * this worker's own chunk (a virtual module, see electron.config.ts) and handed over as bytes, so nothing is fetched —
 * not from a CDN (zxing-wasm's default), not even from the app's origin: the CSP keeps
 * connect-src 'none' and only adds 'wasm-unsafe-eval'. The chunk loads only when a scan starts.
 */
import { prepareZXingModule, readBarcodes } from 'zxing-wasm/reader'
import wasmBase64 from 'virtual:zxing-reader-wasm'
import { codeText, QR_READER_OPTIONS } from '../../../shared/cardata-scan'
import type { DecodeReply, DecodeRequest } from './protocol'

function wasmBytes(): ArrayBuffer {
  const binary = atob(wasmBase64)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes.buffer
}

const ready = prepareZXingModule({ overrides: { wasmBinary: wasmBytes() }, fireImmediately: true })

/** Camera frames: a lighter search than for photos, so the loop keeps up with the video. */
const FRAME_OPTIONS = { ...QR_READER_OPTIONS, formats: [...QR_READER_OPTIONS.formats], tryDownscale: true, maxNumberOfSymbols: 1 }
const PICTURE_OPTIONS = { ...QR_READER_OPTIONS, formats: [...QR_READER_OPTIONS.formats] }

self.onmessage = async (event: MessageEvent<DecodeRequest>) => {
  const request = event.data
  try {
    await ready
    const results =
      request.kind === 'frame'
        ? await readBarcodes(new ImageData(new Uint8ClampedArray(request.pixels), request.width, request.height), FRAME_OPTIONS)
        : await readBarcodes(new Uint8Array(request.bytes), PICTURE_OPTIONS)
    const texts = results
      .filter((r) => r.isValid)
      .flatMap((r) => {
        const text = codeText(r.bytes)
        return text === undefined ? [] : [text]
      })
    const reply: DecodeReply = { id: request.id, texts }
    self.postMessage(reply)
  } catch (error) {
    const reply: DecodeReply = { id: request.id, texts: [], error: error instanceof Error ? error.message : String(error) }
    self.postMessage(reply)
  }
}
