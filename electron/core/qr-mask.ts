/**
 * The mask of a QR symbol, chosen as qrcode chooses it, in about two thirds of the time.
 * qrcode builds the symbol (QRCode.create, here with mask 0); this module tries the eight masks,
 * scores each with the four penalty rules of ISO/IEC 18004 §7.8.3 exactly as qrcode scores them
 * (its MaskPattern.getPenaltyN1…N4), and leaves the matrix with the best one and its format
 * information: the same symbol qrcode makes with its own choice (tests/unit/qr-mask.test.ts
 * compares them for many payloads).
 *
 * Written by hand because qrcode's choice (MaskPattern.getBestMask) calls a function per module
 * and per rule, eight times over: ≈ 80 % of the time a QR file takes (docs/performance.md),
 * the part that kept one PNG above 2 ms. Here each mask is a flat Uint8Array XOR and the four
 * rules are loops over a typed array.
 */
import type { BitMatrix } from 'qrcode'
import { getEncodedBits } from 'qrcode/lib/core/format-info.js'

const N1 = 3
const N2 = 3
const N3 = 40
const N4 = 10

/** The eight mask functions (i: row, j: column), as in the standard and qrcode's getMaskAt. */
const MASKS: ReadonlyArray<(i: number, j: number) => boolean> = [
  (i, j) => (i + j) % 2 === 0,
  (i) => i % 2 === 0,
  (_, j) => j % 3 === 0,
  (i, j) => (i + j) % 3 === 0,
  (i, j) => (Math.floor(i / 2) + Math.floor(j / 3)) % 2 === 0,
  (i, j) => ((i * j) % 2) + ((i * j) % 3) === 0,
  (i, j) => (((i * j) % 2) + ((i * j) % 3)) % 2 === 0,
  (i, j) => (((i * j) % 3) + ((i + j) % 2)) % 2 === 0,
]

/** Each mask as 0/1 per module, for a symbol size (kept: a batch makes many symbols of few sizes). */
const maskCache = new Map<number, Uint8Array[]>()
function masksFor(size: number): Uint8Array[] {
  let masks = maskCache.get(size)
  if (!masks) {
    masks = MASKS.map((at) => {
      const bits = new Uint8Array(size * size)
      for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) bits[i * size + j] = at(i, j) ? 1 : 0
      return bits
    })
    maskCache.set(size, masks)
  }
  return masks
}

const formatCache = new Map<number, number>()
function formatBits(eclBit: number, mask: number): number {
  const key = eclBit * 8 + mask
  let bits = formatCache.get(key)
  if (bits === undefined) formatCache.set(key, (bits = getEncodedBits({ bit: eclBit }, mask)))
  return bits
}

/** The 15 format bits of level `eclBit` and `mask` at their two places, and the dark module (qrcode's setupFormatInfo). */
function placeFormat(data: Uint8Array, size: number, eclBit: number, mask: number): void {
  const bits = formatBits(eclBit, mask)
  for (let i = 0; i < 15; i++) {
    const bit = (bits >> i) & 1
    const row = i < 6 ? i : i < 8 ? i + 1 : size - 15 + i
    data[row * size + 8] = bit
    const col = i < 8 ? size - i - 1 : i < 9 ? 15 - i : 15 - i - 1
    data[8 * size + col] = bit
  }
  data[(size - 8) * size + 8] = 1
}

/** Runs of five or more alike in a line (N1) and 1:1:3:1:1 finder-like patterns (N3), along rows (step 1) or columns (step size). */
function linePenalty(data: Uint8Array, size: number, across: number, along: number): number {
  let points = 0
  for (let line = 0; line < size; line++) {
    const start = line * across
    let last = data[start]!
    let run = 1
    let window = last
    for (let k = 1; k < size; k++) {
      const module = data[start + k * along]!
      const change = module ^ last
      // A run that ends here scores N1 + (length - 5) when it reached 5.
      points += change * ((run >= 5 ? 1 : 0) * (N1 + run - 5))
      run = run * (change ^ 1) + 1
      last = module
      window = ((window << 1) & 0x7ff) | module
      points += k >= 10 && (window === 0x5d0 || window === 0x05d) ? N3 : 0
    }
    if (run >= 5) points += N1 + (run - 5)
  }
  return points
}

/** `into` = `data` XOR `mask`, except where `reserved` (function patterns are never masked). */
function xorOutside(into: Uint8Array, data: Uint8Array, mask: Uint8Array, reserved: Uint8Array): void {
  for (let i = 0; i < into.length; i++) into[i] = reserved[i] ? data[i]! : data[i]! ^ mask[i]!
}

/** The four penalty rules summed, as qrcode computes them. */
function maskPenalty(data: Uint8Array, size: number): number {
  // 2×2 blocks of one colour (N2): each column pair's sum is carried to the next block.
  let blocks = 0
  for (let row = 0; row < size - 1; row++) {
    const top = row * size
    let left = data[top]! + data[top + size]!
    for (let col = 1; col < size; col++) {
      const right = data[top + col]! + data[top + size + col]!
      const sum = left + right
      blocks += sum === 4 || sum === 0 ? 1 : 0
      left = right
    }
  }
  let dark = 0
  for (let i = 0; i < data.length; i++) dark += data[i]!
  const k = Math.abs(Math.ceil((dark * 100) / data.length / 5) - 10)
  return linePenalty(data, size, size, 1) + linePenalty(data, size, 1, size) + blocks * N2 + k * N4
}

/**
 * Gives `modules`, built by qrcode with mask 0 at level `eclBit` (M is 0), the mask qrcode would
 * have chosen (the lowest penalty, the first of equals), with its format bits. Returns that mask.
 */
export function applyBestMask(modules: BitMatrix, eclBit: number): number {
  const { size, data, reservedBit } = modules
  const masks = masksFor(size)
  // The data as it was before mask 0; function patterns (reserved) are never masked.
  const plain = new Uint8Array(data.length)
  xorOutside(plain, data, masks[0]!, reservedBit)
  const candidate = new Uint8Array(data.length)
  const masked = (mask: number): Uint8Array => {
    xorOutside(candidate, plain, masks[mask]!, reservedBit)
    placeFormat(candidate, size, eclBit, mask)
    return candidate
  }
  let best = 0
  let lowest = Infinity
  for (let mask = 0; mask < MASKS.length; mask++) {
    const penalty = maskPenalty(masked(mask), size)
    if (penalty < lowest) {
      lowest = penalty
      best = mask
    }
  }
  data.set(masked(best))
  return best
}
