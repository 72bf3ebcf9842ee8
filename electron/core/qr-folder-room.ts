/**
 * Whether a folder's disk can take QR files, asked before anything is sent: before `vkey token
 * --qr`, a batch or a queue flush starts, and again before each request of a batch (a disk others fill while it
 * runs), so no key is asked for whose file cannot be written. One statfs: the free space for
 * this user (a QR file takes one 4 kB block at most) and the free inodes (a file and its
 * temporary copy each need one), where the file system counts them.
 */
import { existsSync, statfsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { VkError } from '../../shared/errors'
import type { HandoverRecord } from './handover-record'
import { DEFAULT_PARALLEL, qrFileName } from './qr-files'

/** What one QR file takes on disk, at most: a handover PNG is 2–3 kB (bench figure 5), one block of most file systems. */
const QR_FILE_ROOM = 4096

const kB = (bytes: number) => `${Math.ceil(bytes / 1024)} kB`

/**
 * What the disk holding `dir` lacks to take `files` more QR files, in words ("has 4 kB free; 10
 * files need about 56 kB"), or undefined when they fit or the system cannot say.
 */
export function qrFolderShortfall(dir: string, files: number, inHand = DEFAULT_PARALLEL): string | undefined {
  if (files <= 0) return undefined
  let stats: ReturnType<typeof statfsSync>
  try {
    stats = statfsSync(existsSync(dir) ? dir : dirname(dir)) // a new folder: the disk of its parent
  } catch {
    return undefined // a system that cannot say: the writes themselves will tell
  }
  const need = (files + inHand) * Math.ceil(QR_FILE_ROOM / stats.bsize) * stats.bsize
  const free = stats.bavail * stats.bsize
  if (free < need) return `has ${kB(free)} free; ${files} QR file${files === 1 ? ' needs' : 's need'} about ${kB(need)}`
  // A file system that counts no inodes (btrfs says 0 of 0) is left to its writes.
  if (stats.files > 0 && stats.ffree < files + inHand)
    return `has ${stats.ffree} free inode${stats.ffree === 1 ? '' : 's'} (files) left; ${files} QR file${files === 1 ? ' needs' : 's need'} ${files + inHand}`
  return undefined
}

/** What the disk of one QR file (`--qr FILE`, a queued request's) lacks to take it and its temporary copy, as qrFolderShortfall says it. */
export function qrFileShortfall(file: string): string | undefined {
  return qrFolderShortfall(dirname(file), 1, 1)
}

/** Refuses (exit 3, nothing sent) a `--qr FILE` whose disk cannot take it and its temporary copy. */
export function assertRoomForQrFile(file: string): void {
  const shortfall = qrFileShortfall(file)
  if (!shortfall) return
  throw new VkError(
    'output.write',
    `--qr ${file}: its folder ${shortfall}. Nothing was sent. Free space there or choose another --qr, then run the same command again.`,
    { file, field: '--qr' },
  )
}

/**
 * Refuses (VkError `output.write`, exit 3, nothing sent) an --out folder whose disk cannot take
 * the QR files of `records` that are not there yet.
 */
export function assertRoomForQrFiles(dir: string, records: readonly Pick<HandoverRecord, 'vin' | 'id' | 'carDataHash'>[]): void {
  const missing = records.filter((r) => !existsSync(join(dir, qrFileName(r)))).length
  const shortfall = qrFolderShortfall(dir, missing)
  if (!shortfall) return
  throw new VkError(
    'output.write',
    `${dir} ${shortfall}${missing < records.length ? ` (${records.length - missing} of the ${records.length} are there already)` : ''}. Nothing was sent. Free space there or choose another --out, then run the same command again.`,
    { file: dir, field: '--out' },
  )
}
