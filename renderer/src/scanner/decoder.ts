/**
 * The page's side of the decoder worker: one worker, made on first use (so the decoder's
 * chunk is not part of the first screen), one promise per request.
 */
import type { DecodeReply, DecodeRequest } from './protocol'

type Pending = { resolve: (texts: string[]) => void; reject: (error: Error) => void }

let worker: Worker | undefined
let nextId = 1
const pending = new Map<number, Pending>()

function decoderWorker(): Worker {
  if (worker) return worker
  const made = new Worker(new URL('./decoder.worker.ts', import.meta.url), { type: 'module', name: 'qr-decoder' })
  made.onmessage = (event: MessageEvent<DecodeReply>) => {
    const waiting = pending.get(event.data.id)
    if (!waiting) return
    pending.delete(event.data.id)
    if (event.data.error !== undefined) waiting.reject(new Error(event.data.error))
    else waiting.resolve(event.data.texts)
  }
  made.onerror = (event) => {
    for (const waiting of pending.values()) waiting.reject(new Error(event.message || 'The QR decoder stopped.'))
    pending.clear()
    worker = undefined
  }
  worker = made
  return made
}

type Unnumbered<T> = T extends unknown ? Omit<T, 'id'> : never

function send(request: Unnumbered<DecodeRequest>, transfer: Transferable[]): Promise<string[]> {
  const id = nextId++
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject })
    decoderWorker().postMessage({ ...request, id } as DecodeRequest, transfer)
  })
}

/** The texts of the QR codes in one camera frame (RGBA pixels, transferred). */
export function decodeFrame(image: ImageData): Promise<string[]> {
  const pixels = image.data.buffer as ArrayBuffer
  return send({ kind: 'frame', pixels, width: image.width, height: image.height }, [pixels])
}

/** The texts of the QR codes in a PNG or JPEG file's bytes. */
export function decodePicture(bytes: ArrayBuffer): Promise<string[]> {
  return send({ kind: 'picture', bytes }, [bytes])
}
