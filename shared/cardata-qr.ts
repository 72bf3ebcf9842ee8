/**
 * The CarData QR format (docs/cardata-qr.md): how a phone app shows a CarData export on its
 * screen so that VK Depot reads it with a camera or from a photo. Pure TypeScript.
 *
 * - One code: the export's JSON, compact, UTF-8, QR byte mode, level M — when it is at most
 *   MAX_SINGLE_CODE_BYTES.
 * - Otherwise a sequence of parts, each one QR code whose text is
 *       VKCD1:<index>/<total>:<CRC-32 of the whole, 8 upper-case hex digits>:<piece>
 *   index from 1 to total; the pieces, joined in index order, are the whole compact JSON
 *   (never cut inside a UTF-8 character, so each part is valid UTF-8 text on its own).
 *   The phone shows the parts as a loop; the reader takes them in any order, ignores
 *   repeats, and accepts the whole only when every part is there and the CRC-32 of the
 *   joined bytes matches. A part of another sequence (another CRC or total) starts over.
 *
 * Why not BC-UR (the published multi-part scheme): its parts are CBOR in bytewords, in
 * alphanumeric mode — the same export needs about 37 % more modules than byte mode, the
 * issue asks for the export's own JSON in byte mode, and its fountain codes need a PRNG
 * and a CBOR codec on both sides. ISO 18004 Structured Append is not produced by the usual
 * phone-side generators (iOS CIQRCodeGenerator, Android ZXing). A text header any phone
 * app can write with string formatting is the simplest thing that meets the need.
 */

/** Marks a part of a multi-part sequence (format version 1). */
export const PART_PREFIX = 'VKCD1:'
/** Largest export shown as one code (bytes of compact JSON). Larger ones are split. */
export const MAX_SINGLE_CODE_BYTES = 1000
/** Largest piece of the export one part carries (bytes; the header adds at most 24). */
export const PART_PIECE_BYTES = 800
/** Most parts a sequence may have (an export is at most 64 KiB per vehicle: 84 parts). */
export const MAX_PARTS = 99

const PART_PATTERN = /^VKCD1:([1-9][0-9]?)\/([1-9][0-9]?):([0-9A-F]{8}):/

/** CRC-32 (IEEE 802.3, as in zlib and PNG) of bytes. Hand-written: ten lines, no dependency in shared/. */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff
  for (const byte of bytes) {
    crc ^= byte
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1))
  }
  return (crc ^ 0xffffffff) >>> 0
}

function crcHex(text: string): string {
  return crc32(new TextEncoder().encode(text)).toString(16).toUpperCase().padStart(8, '0')
}

/** The export's JSON made compact (throws SyntaxError when it is not JSON). */
export function compactExport(text: string): string {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  return JSON.stringify(JSON.parse(body))
}

/** Cuts text into pieces of at most `maxBytes` UTF-8 bytes, never inside a character. */
function splitUtf8(text: string, maxBytes: number): string[] {
  const pieces: string[] = []
  let current = ''
  let size = 0
  for (const char of text) {
    const cp = char.codePointAt(0) ?? 0
    const bytes = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4
    if (size + bytes > maxBytes) {
      pieces.push(current)
      current = ''
      size = 0
    }
    current += char
    size += bytes
  }
  if (current !== '') pieces.push(current)
  return pieces
}

/** The texts of the codes a phone shows for an export: one, or the parts in order. */
export function encodeCarDataQr(exportText: string, options: { singleMax?: number; pieceBytes?: number } = {}): string[] {
  const compact = compactExport(exportText)
  const singleMax = options.singleMax ?? MAX_SINGLE_CODE_BYTES
  if (new TextEncoder().encode(compact).length <= singleMax) return [compact]
  const pieces = splitUtf8(compact, options.pieceBytes ?? PART_PIECE_BYTES)
  if (pieces.length > MAX_PARTS) throw new RangeError(`The export needs ${pieces.length} parts; at most ${MAX_PARTS} are allowed.`)
  const crc = crcHex(compact)
  return pieces.map((piece, i) => `${PART_PREFIX}${i + 1}/${pieces.length}:${crc}:${piece}`)
}

export interface QrPart {
  index: number
  total: number
  crc: string
  piece: string
}

/** Reads a part's header; undefined for any text that is not a part. */
export function parsePart(text: string): QrPart | undefined {
  const match = PART_PATTERN.exec(text)
  if (!match) return undefined
  const index = Number(match[1])
  const total = Number(match[2])
  if (index > total) return undefined
  return { index, total, crc: match[3] ?? '', piece: text.slice(match[0].length) }
}

/** What the reader has gathered so far (treat as immutable). */
export interface Assembly {
  total: number
  crc: string
  pieces: ReadonlyMap<number, string>
}

export type ScanStep =
  /** The whole export: one code, or the last missing part with a matching checksum. */
  | { kind: 'complete'; text: string; parts: number }
  /** A new part was added (or a repeat seen): `have` of `total`. */
  | { kind: 'progress'; have: number; total: number; assembly: Assembly; repeat: boolean; restarted: boolean }
  /** Every part was there but the checksum did not match, or one index came with two texts: start over. */
  | { kind: 'refused'; reason: 'checksum' | 'conflict'; total: number }
  /** A code that is neither a CarData export nor a part. */
  | { kind: 'foreign' }

/** True for text a single CarData code may hold (JSON object or list). */
function looksLikeExport(text: string): boolean {
  const start = text.trimStart()
  return start.startsWith('{') || start.startsWith('[')
}

/** Adds one decoded code to what was gathered. Pure: returns the next state in the step. */
export function addScan(assembly: Assembly | undefined, text: string): ScanStep {
  const part = parsePart(text)
  if (part === undefined) {
    return looksLikeExport(text) ? { kind: 'complete', text, parts: 1 } : { kind: 'foreign' }
  }
  const same = assembly !== undefined && assembly.crc === part.crc && assembly.total === part.total
  const pieces = new Map(same ? assembly.pieces : [])
  const known = pieces.get(part.index)
  if (known !== undefined && known !== part.piece) return { kind: 'refused', reason: 'conflict', total: part.total }
  pieces.set(part.index, part.piece)
  if (pieces.size < part.total) {
    return {
      kind: 'progress',
      have: pieces.size,
      total: part.total,
      assembly: { total: part.total, crc: part.crc, pieces },
      repeat: known !== undefined,
      restarted: assembly !== undefined && !same,
    }
  }
  let whole = ''
  for (let i = 1; i <= part.total; i++) whole += pieces.get(i) ?? ''
  if (crcHex(whole) !== part.crc) return { kind: 'refused', reason: 'checksum', total: part.total }
  return { kind: 'complete', text: whole, parts: part.total }
}

/** Assembles a set of decoded codes in any order (photos, tests). */
export function assembleScans(texts: Iterable<string>): ScanStep {
  let assembly: Assembly | undefined
  let last: ScanStep = { kind: 'foreign' }
  for (const text of texts) {
    const step = addScan(assembly, text)
    if (step.kind === 'complete' || step.kind === 'refused') return step
    if (step.kind === 'progress') {
      assembly = step.assembly
      last = step
    }
  }
  return last
}
