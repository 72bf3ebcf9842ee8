/** Parts of qrcode its typings do not declare: the SVG writer and the format information (qr-mask.ts). */
declare module 'qrcode/lib/renderer/svg-tag.js' {
  import type { BitMatrix } from 'qrcode'
  export function render(qrData: { modules: BitMatrix }, options?: { margin?: number; width?: number }): string
}

/** qrcode's format information (lib/core/format-info.js): the 15 bits for a level and a mask, BCH-coded and masked. */
declare module 'qrcode/lib/core/format-info.js' {
  export function getEncodedBits(errorCorrectionLevel: { bit: number }, mask: number): number
}
