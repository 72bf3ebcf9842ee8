/**
 * A fake camera for Chromium (--use-file-for-fake-video-capture): a .y4m video written by hand
 * (a header line, then per frame "FRAME\n" + the I420 planes), showing QR codes drawn from
 * the reference encoder's module matrices — straight, or turned a few degrees with noise,
 * the way a laptop camera sees a phone held in front of it.
 */
import { writeFile } from 'node:fs/promises'
import { qrMatrix } from '../../scripts/cardata-qr'

export interface CameraFrameOptions {
  width: number
  height: number
  /** Pixels per module. */
  moduleSize: number
  /** Rotation of the phone, degrees. */
  angle?: number
  /** Noise amplitude (grey levels, ±). */
  noise?: number
  seed?: number
}

const DESK = 70
const SCREEN = 225
const INK = 30

/** One grey frame: a desk, the phone's bright screen with the code (4-module quiet zone). */
export function cameraFrame(text: string, options: CameraFrameOptions): Uint8Array {
  const matrix = qrMatrix(text)
  const modules = matrix.length
  const quiet = 4
  const side = (modules + 2 * quiet) * options.moduleSize
  const { width, height } = options
  const angle = ((options.angle ?? 0) * Math.PI) / 180
  const cos = Math.cos(angle)
  const sin = Math.sin(angle)
  let seed = options.seed ?? 1
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed / 2147483648
  }
  const sample = (x: number, y: number): number => {
    // Into the code's frame: rotate back around the centre.
    const dx = x - width / 2
    const dy = y - height / 2
    const u = cos * dx + sin * dy + side / 2
    const v = -sin * dx + cos * dy + side / 2
    if (u < -12 || v < -12 || u >= side + 12 || v >= side + 12) return DESK
    const col = Math.floor(u / options.moduleSize) - quiet
    const row = Math.floor(v / options.moduleSize) - quiet
    return matrix[row]?.[col] === true ? INK : SCREEN
  }
  const grey = new Uint8Array(width * height)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // 2×2 supersampling: soft edges like a lens gives.
      const value = (sample(x + 0.25, y + 0.25) + sample(x + 0.75, y + 0.25) + sample(x + 0.25, y + 0.75) + sample(x + 0.75, y + 0.75)) / 4
      const noisy = value + (options.noise ? (random() * 2 - 1) * options.noise : 0)
      grey[y * width + x] = Math.max(0, Math.min(255, Math.round(noisy)))
    }
  }
  return grey
}

/** Writes grey frames as a 4:2:0 .y4m video at `fps` frames per second. */
export async function writeY4m(path: string, frames: Uint8Array[], width: number, height: number, fps: number): Promise<void> {
  const chroma = Buffer.alloc((width / 2) * (height / 2), 128)
  const parts: Buffer[] = [Buffer.from(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`)]
  for (const frame of frames) {
    // The grey level is the luma plane; both chroma planes are neutral (128).
    parts.push(Buffer.from('FRAME\n'), Buffer.from(frame), chroma, chroma)
  }
  await writeFile(path, Buffer.concat(parts))
}

/**
 * A camera video showing each code `framesPerCode` frames (Chromium loops it), in order or in
 * the order of `sequence` (indexes into texts, repeats allowed). A frame is drawn once per code.
 */
export async function writeCodeVideo(
  path: string,
  texts: string[],
  options: CameraFrameOptions & { framesPerCode: number; fps: number; sequence?: number[] },
): Promise<void> {
  const drawn = new Map<number, Uint8Array[]>()
  const framesOf = (index: number): Uint8Array[] => {
    let made = drawn.get(index)
    if (!made) {
      made = Array.from({ length: options.framesPerCode }, (_, i) => cameraFrame(texts[index] ?? '', { ...options, seed: index * 100 + i + 1 }))
      drawn.set(index, made)
    }
    return made
  }
  const frames = (options.sequence ?? texts.map((_, i) => i)).flatMap(framesOf)
  await writeY4m(path, frames, options.width, options.height, options.fps)
}
