/**
 * Opening a file the user named (CarData, certificate, key, CA) so that only a regular
 * file is ever read: a named pipe, a device, a socket or a folder is refused at once with
 * a message naming the path, instead of a read that waits forever for a writer.
 *
 * The file is opened with O_NONBLOCK (opening a FIFO for reading then returns at once
 * instead of waiting for a writer; regular files ignore the flag) and checked with fstat
 * on the open handle, so what is checked is what is read.
 */
import { constants, type Stats } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { VkError } from '../../shared/errors'

/** O_NONBLOCK where the platform has it (not on Windows, where opening a pipe does not wait). */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0)

/** What a path is, in words, when it is not a regular file (undefined for a regular file). */
export function notRegularKind(info: Stats): string | undefined {
  if (info.isFile()) return undefined
  if (info.isDirectory()) return 'a folder'
  if (info.isFIFO()) return 'a named pipe (FIFO)'
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device'
  if (info.isSocket()) return 'a socket'
  return 'not a file'
}

/** The one message for a path that is not a regular file. */
export function notRegularMessage(path: string, kind: string, hint: string): string {
  return `${path} is ${kind}, not a regular file. ${hint}`
}

/**
 * Opens `path` for reading only when it is a regular file. Open errors are rethrown as
 * they are (the caller words ENOENT and the like); a non-regular file throws VkError
 * 'input.file' (exit 2) with `hint` as the next step.
 */
export async function openRegularFile(path: string, hint: string, field?: string): Promise<{ handle: FileHandle; info: Stats }> {
  const handle = await open(path, OPEN_FLAGS)
  try {
    const info = await handle.stat()
    const kind = notRegularKind(info)
    if (kind !== undefined) throw new VkError('input.file', notRegularMessage(path, kind, hint), { file: path, ...(field ? { field } : {}) })
    return { handle, info }
  } catch (error) {
    await handle.close().catch(() => undefined)
    throw error
  }
}

/** Reads a whole regular file (see openRegularFile); at most `maxBytes`. */
export async function readRegularFile(path: string, options: { hint: string; field?: string; maxBytes?: number }): Promise<Buffer> {
  const { handle, info } = await openRegularFile(path, options.hint, options.field)
  try {
    const max = options.maxBytes ?? 16 * 1024 * 1024
    if (info.size > max) {
      throw new VkError(
        'input.too-large',
        `${path} is larger than ${Math.round(max / 1024)} KiB, far more than ${options.field ?? 'this file'} can be. ${options.hint}`,
        { file: path, ...(options.field ? { field: options.field } : {}) },
      )
    }
    return await handle.readFile()
  } finally {
    await handle.close().catch(() => undefined)
  }
}
