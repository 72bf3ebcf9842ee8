/** qrcode's SVG writer (lib/renderer/svg-tag.js), which its typings do not declare. */
declare module 'qrcode/lib/renderer/svg-tag.js' {
  import type { BitMatrix } from 'qrcode'
  export function render(qrData: { modules: BitMatrix }, options?: { margin?: number; width?: number }): string
}
