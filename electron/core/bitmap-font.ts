/**
 * A 5 × 7 pixel font (capitals, digits, a few signs) for the environment band on 1-bit QR
 * PNGs. Hand-written on purpose: the PNG is drawn pixel by pixel without a canvas, and a
 * font rasteriser dependency for one line of capitals would cost more than these glyphs.
 * Characters it lacks are drawn as a blank; text is upper-cased first.
 */
const GLYPHS: Record<string, string> = {
  A: '01110 10001 10001 11111 10001 10001 10001',
  B: '11110 10001 10001 11110 10001 10001 11110',
  C: '01110 10001 10000 10000 10000 10001 01110',
  D: '11110 10001 10001 10001 10001 10001 11110',
  E: '11111 10000 10000 11110 10000 10000 11111',
  F: '11111 10000 10000 11110 10000 10000 10000',
  G: '01110 10001 10000 10111 10001 10001 01111',
  H: '10001 10001 10001 11111 10001 10001 10001',
  I: '01110 00100 00100 00100 00100 00100 01110',
  J: '00111 00010 00010 00010 00010 10010 01100',
  K: '10001 10010 10100 11000 10100 10010 10001',
  L: '10000 10000 10000 10000 10000 10000 11111',
  M: '10001 11011 10101 10101 10001 10001 10001',
  N: '10001 10001 11001 10101 10011 10001 10001',
  O: '01110 10001 10001 10001 10001 10001 01110',
  P: '11110 10001 10001 11110 10000 10000 10000',
  Q: '01110 10001 10001 10001 10101 10010 01101',
  R: '11110 10001 10001 11110 10100 10010 10001',
  S: '01111 10000 10000 01110 00001 00001 11110',
  T: '11111 00100 00100 00100 00100 00100 00100',
  U: '10001 10001 10001 10001 10001 10001 01110',
  V: '10001 10001 10001 10001 10001 01010 00100',
  W: '10001 10001 10001 10101 10101 10101 01010',
  X: '10001 10001 01010 00100 01010 10001 10001',
  Y: '10001 10001 01010 00100 00100 00100 00100',
  Z: '11111 00001 00010 00100 01000 10000 11111',
  0: '01110 10001 10011 10101 11001 10001 01110',
  1: '00100 01100 00100 00100 00100 00100 01110',
  2: '01110 10001 00001 00010 00100 01000 11111',
  3: '11111 00010 00100 00010 00001 10001 01110',
  4: '00010 00110 01010 10010 11111 00010 00010',
  5: '11111 10000 11110 00001 00001 10001 01110',
  6: '00110 01000 10000 11110 10001 10001 01110',
  7: '11111 00001 00010 00100 01000 01000 01000',
  8: '01110 10001 10001 01110 10001 10001 01110',
  9: '01110 10001 10001 01111 00001 00010 01100',
  '-': '00000 00000 00000 11111 00000 00000 00000',
  '—': '00000 00000 00000 11111 00000 00000 00000',
  '.': '00000 00000 00000 00000 00000 01100 01100',
  ':': '00000 01100 01100 00000 01100 01100 00000',
  '/': '00001 00001 00010 00100 01000 10000 10000',
}

export const GLYPH_WIDTH = 5
export const GLYPH_HEIGHT = 7
/** Advance per character, in font pixels (glyph + one column of space). */
export const GLYPH_ADVANCE = 6

const parsed = new Map<string, boolean[][]>(Object.entries(GLYPHS).map(([ch, rows]) => [ch, rows.split(' ').map((row) => [...row].map((bit) => bit === '1'))]))

/** Width of `text` in font pixels (no trailing space). */
export function textWidth(text: string): number {
  return Math.max(0, [...text].length * GLYPH_ADVANCE - 1)
}

/** Calls `pixel(x, y)` for every lit font pixel of `text` (origin top left, font pixels). */
export function forEachTextPixel(text: string, pixel: (x: number, y: number) => void): void {
  let x = 0
  for (const ch of text.toUpperCase()) {
    const glyph = parsed.get(ch)
    if (glyph) {
      glyph.forEach((row, y) =>
        row.forEach((on, dx) => {
          if (on) pixel(x + dx, y)
        }),
      )
    }
    x += GLYPH_ADVANCE
  }
}
