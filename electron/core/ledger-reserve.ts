/**
 * Room kept on the data folder's disk for the keys PSA issues. A key that cannot be recorded is
 * a car key nobody knows of, and a disk that is nearly full (not quite: the claim before the
 * request still fits) let exactly that happen. So the folder holds `ledger.reserve`, a file of
 * RESERVE_BYTES made while there is room:
 * - no request goes to PSA unless the reserve is there, or can be made again (ensureReserve,
 *   checked just before each request is sent);
 * - a ledger write that finds the disk full deletes it and runs again (ledger-db.ts
 *   WriteGroup), so the keys of the requests already on their way fit in the room it gave back;
 *   the requests after that are refused, with nothing sent, until space is freed.
 * The reserve holds random bytes: a file system that compresses (btrfs, ZFS) would keep zeros
 * in almost no room.
 */
import { randomFillSync } from 'node:crypto'
import { closeSync, fsyncSync, openSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { VkError } from '../../shared/errors'
import { isDiskFull } from './secure-files'

export const RESERVE_FILE = 'ledger.reserve'
/** Far more than the keys of the requests a batch has on their way (≈ 40 kB of ledger pages each). */
export const RESERVE_BYTES = 4 * 1024 * 1024

const CHUNK = 64 * 1024

/** Makes the reserve when it is missing or short; refuses (nothing sent) when the disk has no room for it. */
export function ensureReserve(dataDir: string): void {
  const file = join(dataDir, RESERVE_FILE)
  if ((statSync(file, { throwIfNoEntry: false })?.size ?? 0) >= RESERVE_BYTES) return
  const temp = `${file}.${process.pid}.vkd-tmp`
  try {
    const fd = openSync(temp, 'w', 0o600)
    try {
      const chunk = Buffer.alloc(CHUNK)
      for (let written = 0; written < RESERVE_BYTES; written += CHUNK) writeSync(fd, randomFillSync(chunk))
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temp, file)
  } catch (error) {
    rmSync(temp, { force: true })
    if (!isDiskFull(error)) throw error
    throw new VkError(
      'storage.write',
      `The disk holding ${dataDir} is nearly full: VK Depot keeps ${RESERVE_BYTES / 1024 / 1024} MB there (${RESERVE_FILE}) so that every key PSA issues can be recorded, and that room is gone. Nothing was sent. Free space, then run the command again.`,
      { file },
      { cause: error },
    )
  }
}

/** Gives the reserve's room back to the ledger (a write found the disk full). True when there was one. */
export function releaseReserve(dataDir: string): boolean {
  try {
    unlinkSync(join(dataDir, RESERVE_FILE))
    return true
  } catch {
    return false
  }
}
