/** The QR files a batch or a queue flush writes into an --out folder, and the line that says so. */
import { mkdir } from 'node:fs/promises'
import type { Depot } from '../core/depot'
import { environmentResolver } from '../core/handover-environment'
import { QrFilePipeline } from '../core/qr-files'
import { sweepOwnTempFilesIn } from '../core/secure-files'

/** The --out folder's line: with the count, and "a new folder" when VK Depot made it, so a mistyped --out is seen. */
export function qrFilesText(count: number, out: string, newFolder: boolean): string {
  return `QR codes: ${count} in ${out}${newFolder ? ' (a new folder)' : ''} — each is a car key until it expires.`
}

/** QR files for the keys a batch or a flush hands over, written beside the requests (core/qr-files.ts). */
export async function qrPipeline(depot: Depot, out: string): Promise<QrFilePipeline> {
  await mkdir(out, { recursive: true, mode: 0o700 })
  await sweepOwnTempFilesIn(out) // what a batch killed while writing its QR files left
  // Imported here, not at the top: the writer's worker thread runs that module's chunk alone.
  const { qrFileWriter } = await import('../core/qr-file-writer')
  return new QrFilePipeline({
    dir: out,
    store: await depot.handovers(),
    environmentOf: environmentResolver(depot.profiles),
    now: () => depot.now(),
    writer: qrFileWriter(),
  })
}
