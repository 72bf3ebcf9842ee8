/**
 * The handover pack: a PDF with one page per vehicle (VIN, label, QR, expiry in local
 * time and a warning that the QR is a car key until then), for a technician who hands
 * cars over where there is no network and no laptop at hand.
 */
import { PDFDocument, StandardFonts, rgb, type PDFFont } from 'pdf-lib'
import { buildHandoverPayload } from '../../shared/qr-payload'
import { VkError } from '../../shared/errors'
import { formatLocal } from '../../shared/time'
import type { HandoverRecord, HandoverStore } from './handovers'
import { renderHandoverQr } from './qr'
import { writeFileAtomic } from './secure-files'

const A4: [number, number] = [595.28, 841.89]

/** Expiry as the technician's clock shows it, with the zone: the same text as `vkey` and the audit (shared/time.ts). */
export function localExpiry(iso: string, timeZone?: string): string {
  return formatLocal(iso, timeZone)
}

/** Standard PDF fonts only carry WinAnsi: anything else is shown as '?' rather than failing. */
function printable(font: PDFFont, text: string): string {
  return [...text].map((ch) => { try { font.encodeText(ch); return ch } catch { return '?' } }).join('')
}

export async function buildHandoverPack(records: HandoverRecord[], store: HandoverStore, options: { timeZone?: string } = {}): Promise<Uint8Array> {
  const pdf = await PDFDocument.create()
  pdf.setTitle('VK Depot handover pack')
  pdf.setProducer('VK Depot')
  pdf.setCreator('VK Depot')
  const regular = await pdf.embedFont(StandardFonts.Helvetica)
  const bold = await pdf.embedFont(StandardFonts.HelveticaBold)
  for (const record of records) {
    const token = store.tokenOf(record)
    if (!token || !record.expires) throw new VkError('not-found', `Handover ${record.vin ?? record.id} has no valid token to print.`)
    const payload = buildHandoverPayload({ ...(record.vin ? { vin: record.vin } : {}), accessToken: token.accessToken, tokenType: token.tokenType, expires: record.expires, tokenSignature: token.tokenSignature })
    const png = (await renderHandoverQr(payload, 'png', { width: 900 })) as Buffer
    const image = await pdf.embedPng(png)
    const page = pdf.addPage(A4)
    const [width, height] = A4
    const margin = 56
    page.drawText('VK Depot — vehicle handover', { x: margin, y: height - margin - 10, size: 14, font: regular, color: rgb(0.35, 0.35, 0.4) })
    page.drawText(printable(bold, record.vin ?? 'VIN not recorded'), { x: margin, y: height - margin - 50, size: 30, font: bold })
    if (record.label) page.drawText(printable(regular, record.label), { x: margin, y: height - margin - 80, size: 16, font: regular })
    const size = width - margin * 2 - 60
    page.drawImage(image, { x: (width - size) / 2, y: height - margin - 110 - size, width: size, height: size })
    const expiry = localExpiry(record.expires, options.timeZone)
    page.drawText(printable(regular, `Valid until: ${expiry}`), { x: margin, y: 170, size: 13, font: bold })
    const warning = [
      'This QR code is a car key until the time above: anyone who scans it can open the vehicle.',
      'Keep this page out of sight, hand it only to the driver, and shred it after the handover.',
    ]
    warning.forEach((line, index) => page.drawText(line, { x: margin, y: 140 - index * 16, size: 10.5, font: regular, color: rgb(0.6, 0.1, 0.1) }))
    page.drawText(printable(regular, `Handover ${record.id} · token type ${token.tokenType}`), { x: margin, y: 70, size: 8, font: regular, color: rgb(0.5, 0.5, 0.55) })
  }
  return pdf.save()
}

/**
 * Writes the pack (0600, atomically) and returns the number of pages. The temp file beside
 * `path` is recorded in the data folder before it exists, so a crash (even SIGKILL) while
 * the pages are built leaves a temp file the next VK Depot start removes.
 */
export async function writeHandoverPack(path: string, records: HandoverRecord[], store: HandoverStore, options: { timeZone?: string } = {}): Promise<number> {
  await writeFileAtomic(path, async () => Buffer.from(await buildHandoverPack(records, store, options)), { recordIn: store.dataDir })
  return records.length
}
