/**
 * The handover pack: a PDF with one page per vehicle (VIN, label, QR, expiry in local
 * time and a warning that the QR is a car key until then), for a technician who hands
 * cars over where there is no network and no laptop at hand.
 */
import type { Environment } from '../../shared/profile'
import { deflateSync } from 'node:zlib'
import { PDFDocument, StandardFonts, rgb, type PDFFont, type PDFPage } from 'pdf-lib'
import { environmentMark } from '../../shared/environment-marker'
import { VkError } from '../../shared/errors'
import { formatLocal } from '../../shared/time'
import type { HandoverStore } from './handovers'
import type { HandoverRecord } from './handover-record'
import { forEachDarkRun, qrMatrix } from './qr'
import { handoverPayloadOf } from './handover-payload'
import { writeFileAtomic } from './secure-files'

export interface PackOptions {
  timeZone?: string
  /** The environment each record's key comes from: simulator / pre-production pages carry a band. */
  environmentOf?: (record: HandoverRecord) => Environment | undefined
}

const A4: [number, number] = [595.28, 841.89]

/** Expiry as the technician's clock shows it, with the zone: the same text as `vkey` and the audit (shared/time.ts). */
export function localExpiry(iso: string, timeZone?: string): string {
  return formatLocal(iso, timeZone)
}

/** Standard PDF fonts only carry WinAnsi: anything else is shown as '?' rather than failing. */
function printable(font: PDFFont, text: string): string {
  return [...text]
    .map((ch) => {
      try {
        font.encodeText(ch)
        return ch
      } catch {
        return '?'
      }
    })
    .join('')
}

/**
 * The QR code as vector rectangles (one per horizontal run of dark modules, one fill), in a
 * content stream of its own: a few kB a page instead of an embedded bitmap, sharp at any
 * printer resolution. Quiet zone: the white page around it (≥ 4 modules, see the layout).
 */
function drawQr(pdf: PDFDocument, page: PDFPage, payload: string, box: { x: number; y: number; size: number }): void {
  const matrix = qrMatrix(payload)
  const module = box.size / (matrix.size + 8)
  const left = box.x + 4 * module
  const top = box.y + box.size - 4 * module
  const parts = ['q 0 0 0 rg', `${module.toFixed(4)} 0 0 ${(-module).toFixed(4)} ${left.toFixed(3)} ${top.toFixed(3)} cm`]
  forEachDarkRun(matrix, (row, from, to) => parts.push(`${from} ${row} ${to - from} 1 re`))
  parts.push('f Q')
  // Node's zlib rather than pdf-lib's flateStream (pako, JavaScript): a third of the pack's time.
  page.node.addContentStream(pdf.context.register(pdf.context.stream(deflateSync(parts.join('\n')), { Filter: 'FlateDecode' })))
}

/** A black band across the page with the environment's mark in white (pages of test keys). */
function drawBand(page: PDFPage, mark: string, y: number, font: PDFFont): void {
  const [width] = A4
  page.drawRectangle({ x: 0, y, width, height: 34, color: rgb(0, 0, 0) })
  const size = 17
  page.drawText(mark, { x: (width - font.widthOfTextAtSize(mark, size)) / 2, y: y + 11, size, font, color: rgb(1, 1, 1) })
}

export async function buildHandoverPack(records: HandoverRecord[], store: HandoverStore, options: PackOptions = {}): Promise<Uint8Array> {
  const pdf = await PDFDocument.create()
  pdf.setTitle('VK Depot handover pack')
  pdf.setProducer('VK Depot')
  pdf.setCreator('VK Depot')
  const regular = await pdf.embedFont(StandardFonts.Helvetica)
  const bold = await pdf.embedFont(StandardFonts.HelveticaBold)
  for (const record of records) {
    const token = store.tokenOf(record)
    if (!token || !record.expires) throw new VkError('not-found', `Handover ${record.vin ?? record.id} has no valid token to print.`)
    const environment = options.environmentOf?.(record)
    const payload = handoverPayloadOf(record, token, environment)
    const page = pdf.addPage(A4)
    const [width, height] = A4
    const margin = 56
    page.drawText('VK Depot — vehicle handover', { x: margin, y: height - margin - 10, size: 14, font: regular, color: rgb(0.35, 0.35, 0.4) })
    page.drawText(printable(bold, record.vin ?? 'VIN not recorded'), { x: margin, y: height - margin - 50, size: 30, font: bold })
    if (record.label) page.drawText(printable(regular, record.label), { x: margin, y: height - margin - 80, size: 16, font: regular })
    const size = width - margin * 2 - 60
    drawQr(pdf, page, payload, { x: (width - size) / 2, y: height - margin - 110 - size, size })
    const mark = environmentMark(environment)
    if (mark) {
      drawBand(page, mark, height - 34, bold)
      drawBand(page, mark, 14, bold)
    }
    const expiry = localExpiry(record.expires, options.timeZone)
    page.drawText(printable(regular, `Valid until: ${expiry}`), { x: margin, y: 170, size: 13, font: bold })
    const warning = [
      'This QR code is a car key until the time above: anyone who scans it can open the vehicle.',
      'Keep this page out of sight, hand it only to the driver, and shred it after the handover.',
    ]
    warning.forEach((line, index) => page.drawText(line, { x: margin, y: 140 - index * 16, size: 10.5, font: regular, color: rgb(0.6, 0.1, 0.1) }))
    page.drawText(printable(regular, `Handover ${record.id} · token type ${token.tokenType}`), {
      x: margin,
      y: 70,
      size: 8,
      font: regular,
      color: rgb(0.5, 0.5, 0.55),
    })
  }
  return pdf.save()
}

/**
 * Writes the pack (0600, atomically) and returns the number of pages. The temp file beside
 * `path` is recorded in the data folder before it exists, so a crash (even SIGKILL) while
 * the pages are built leaves a temp file the next VK Depot start removes.
 */
export async function writeHandoverPack(path: string, records: HandoverRecord[], store: HandoverStore, options: PackOptions = {}): Promise<number> {
  await writeFileAtomic(path, async () => Buffer.from(await buildHandoverPack(records, store, options)), { recordIn: store.dataDir })
  return records.length
}
