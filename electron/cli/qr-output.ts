/** The QR files a batch or a queue flush writes into an --out folder, and the lines that say so. */
import { mkdir } from 'node:fs/promises'
import type { ErrorCode, VkError } from '../../shared/errors'
import type { Depot } from '../core/depot'
import { environmentResolver } from '../core/handover-environment'
import { QrFilePipeline } from '../core/qr-files'
import { qrFolderShortfall } from '../core/qr-folder-room'
import { sweepOwnTempFilesIn } from '../core/secure-files'

/** The --out folder's line: with the count, and "a new folder" when VK Depot made it, so a mistyped --out is seen. */
export function qrFilesText(count: number, out: string, newFolder: boolean): string {
  return `QR codes: ${count} in ${out}${newFolder ? ' (a new folder)' : ''} — each is a car key until it expires.`
}

/** How the keys of a batch without their file get it: the batch run again reuses them. */
export const RERUN_WRITES_QR = 'run the same command again: the keys stored are reused, nothing is sent again for them, and their files are written'
/** How the keys of a queue flush without their file get it: they have left the queue. */
export const SHOW_WRITES_QR = 'write each with `vkey show ID --qr FILE.png` (the IDs above)'

/**
 * A batch's check before each request (BatchOptions.mayStart): false once the --out folder's
 * disk cannot take the files still to write (the keys waiting for theirs, one for each request
 * on its way, and this one); `shortfall` then says what it lacks.
 */
export function qrRoomCheck(out: string, pipeline: QrFilePipeline): { mayStart: (inFlight: number) => boolean; shortfall: () => string | undefined } {
  let said: string | undefined
  return {
    mayStart: (inFlight) => !(said ??= qrFolderShortfall(out, pipeline.backlog + inFlight + 1)),
    shortfall: () => said,
  }
}

/**
 * What a command says when its QR files stopped it: on stdout the keys without their file (all
 * of them, by VIN and handover ID), on stderr the first failure, or the folder's disk that
 * filled before one, and `next`, the way to write them. Undefined when nothing stopped it.
 */
export function qrStopText(out: string, pipeline: QrFilePipeline | undefined, shortfall: string | undefined, next: string): QrStop | undefined {
  if (pipeline?.failure) {
    const names = pipeline.missing.map((m) => (m.vin ? `${m.vin} (${m.id})` : m.id))
    return {
      ...(names.length ? { stdout: `  QR files not written: ${names.length} (${names.join(', ')}); their keys are stored.` } : {}),
      stderr: `vkey: ${pipeline.failure.message}${pipeline.failure.message.endsWith('.') ? ' Then' : ', then'} ${next}.`,
      code: pipeline.failure.code,
    }
  }
  if (!shortfall) return undefined
  return {
    stderr: `vkey: ${out} ${shortfall}: the sending stopped before asking for keys whose QR files could not be written. Free space there (or choose another --out), then ${next}.`,
    code: 'output.write',
  }
}

export interface QrStop {
  stdout?: string
  stderr: string
  code: ErrorCode
}

/** The --json form of the keys without their QR file. */
export function qrMissingJson(pipeline: QrFilePipeline | undefined): Array<{ id: string; vin: string | null; file: string; reason: string }> {
  return (pipeline?.missing ?? []).map((m) => ({ id: m.id, vin: m.vin ?? null, file: m.file, reason: m.reason }))
}

/** QR files for the keys a batch or a flush hands over, written beside the requests (core/qr-files.ts). */
export async function qrPipeline(depot: Depot, out: string, onFailure?: (failure: VkError) => void): Promise<QrFilePipeline> {
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
    ...(onFailure ? { onFailure } : {}),
  })
}
