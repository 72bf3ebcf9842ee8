/**
 * Reads CarData export files (and `--cardata -` from standard input) and hands the text to
 * the pure parser in shared/cardata.ts. Plain Node.
 *
 * Each file is opened without waiting (O_NONBLOCK), then checked with fstat on the open
 * handle: only a regular file is read (a folder, named pipe or device gives an issue at
 * once, never a read that waits for a writer; a file over MAX_CARDATA_TEXT_BYTES gives an
 * issue without reading it), read to at most the cap plus one byte, and decoded as strict
 * UTF-8 (a BOM is allowed; invalid bytes give an issue). Problems become issues; the
 * function never throws for a bad file. Standard input is `--cardata -`.
 */

import type { FileHandle } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { formatBytes } from '../../shared/byte-size'
import { MAX_CARDATA_TEXT_BYTES, parseCarData, type ImportIssue, type ImportResult, type ParseCarDataOptions } from '../../shared/cardata'
import { pictureKind } from '../../shared/cardata-scan'
import { importCarDataPicture } from './qr-reader'
import { isVkError } from '../../shared/errors'
import { openRegularFile } from './regular-file'

/** The source name stdin gets in vehicles and issues. */
export const STDIN_SOURCE = 'stdin'

/** Imports every file in order and merges the results. */
export async function importCarDataFiles(paths: string[], options: ParseCarDataOptions = {}): Promise<ImportResult> {
  const merged: ImportResult = { vehicles: [], issues: [] }
  // A few files at a time: the disk overlaps the parsing, and the order stays the caller's.
  const results: ImportResult[] = new Array(paths.length)
  let next = 0
  const worker = async (): Promise<void> => {
    for (let index = next++; index < paths.length; index = next++) results[index] = await importCarDataFile(paths[index]!, options)
  }
  await Promise.all(Array.from({ length: Math.min(8, paths.length) }, worker))
  for (const one of results) {
    merged.vehicles.push(...one.vehicles)
    merged.issues.push(...one.issues)
  }
  return merged
}

/** Imports one file. */
export async function importCarDataFile(path: string, options: ParseCarDataOptions = {}): Promise<ImportResult> {
  const cap = options.maxTextBytes ?? MAX_CARDATA_TEXT_BYTES
  const fail = (issue: Omit<ImportIssue, 'source'>): ImportResult => ({ vehicles: [], issues: [{ source: path, ...issue }] })

  let opened: Awaited<ReturnType<typeof openRegularFile>>
  try {
    opened = await openRegularFile(path, 'Pass the JSON file the phone app exported (or pipe it in with --cardata -).')
  } catch (error) {
    return fail({ code: 'input.file', message: isVkError(error) ? error.message : describeOpenError(path, error) })
  }
  const { handle, info } = opened
  try {
    if (info.size > cap) {
      return fail({
        code: 'input.too-large',
        message: `${path} is ${formatBytes(info.size)}, more than the ${formatBytes(cap)} a CarData file may hold; it was not read. It is probably not a CarData export; pick the JSON file the phone app exported, or split it.`,
      })
    }
    let bytes: Buffer
    try {
      // Read in one go at its size (+1 to notice growth).
      bytes = await readUpTo(handle, cap + 1, info.size + 1)
    } catch (error) {
      return fail({ code: 'input.file', message: describeOpenError(path, error) })
    }
    return await parseBytesOrPicture(bytes, path, options)
  } finally {
    await handle.close().catch(() => undefined)
  }
}

/** Reads `--cardata -` from standard input (or any stream), up to the size cap. */
export async function readCarDataStdin(stream: Readable = process.stdin, options: ParseCarDataOptions = {}): Promise<ImportResult> {
  const cap = options.maxTextBytes ?? MAX_CARDATA_TEXT_BYTES
  const chunks: Buffer[] = []
  let total = 0
  try {
    for await (const chunk of stream) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk as Uint8Array)
      total += buf.length
      if (total > cap) {
        stream.destroy()
        return {
          vehicles: [],
          issues: [
            {
              source: STDIN_SOURCE,
              code: 'input.too-large',
              message: `Standard input holds more than the ${formatBytes(cap)} a CarData file may hold; reading stopped. Pipe in the JSON file the phone app exported.`,
            },
          ],
        }
      }
      chunks.push(buf)
    }
  } catch (error) {
    return {
      vehicles: [],
      issues: [
        {
          source: STDIN_SOURCE,
          code: 'input.file',
          message: `Standard input could not be read (${(error as NodeJS.ErrnoException).code ?? 'read error'}). Pass the file with --cardata FILE instead.`,
        },
      ],
    }
  }
  return parseBytesOrPicture(Buffer.concat(chunks, total), STDIN_SOURCE, options)
}

/** A PNG/JPEG (by its first bytes, whatever the name) is read for its CarData QR code; anything else as JSON text. */
async function parseBytesOrPicture(bytes: Buffer, source: string, options: ParseCarDataOptions): Promise<ImportResult> {
  const kind = pictureKind(bytes)
  return kind === undefined ? parseBytes(bytes, source, options) : importCarDataPicture(bytes, source, kind)
}

/** Strict UTF-8 decode, then parse. */
function parseBytes(bytes: Buffer, source: string, options: ParseCarDataOptions): ImportResult {
  const cap = options.maxTextBytes ?? MAX_CARDATA_TEXT_BYTES
  const fail = (code: ImportIssue['code'], message: string): ImportResult => ({ vehicles: [], issues: [{ source, code, message }] })
  if (bytes.length > cap) {
    return fail(
      'input.too-large',
      `${source} is larger than the ${formatBytes(cap)} a CarData file may hold. Pick the JSON file the phone app exported, or split it.`,
    )
  }
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return fail('input.json', `${source} is saved as UTF-16 ("Unicode"). Save it as UTF-8 (in Notepad: Save as… → Encoding: UTF-8) and import it again.`)
  }
  let text: string
  try {
    // fatal: invalid UTF-8 throws; ignoreBOM false: a UTF-8 BOM is removed.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    const at = firstInvalidUtf8(bytes)
    return fail(
      'input.json',
      `${source} is not UTF-8 text${at >= 0 ? ` (invalid byte at offset ${at})` : ''}. Export it again from the phone app, or save it as UTF-8.`,
    )
  }
  return parseCarData(text, source, options)
}

/** Offset of the first byte that breaks UTF-8, or -1. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let lo = 0
  let hi = bytes.length
  // Binary search on the longest prefix that is valid so far (`stream: true` lets a
  // prefix end inside a multi-byte sequence; validity of prefixes is monotonic).
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid), { stream: true })
      lo = mid
    } catch {
      hi = mid - 1
    }
  }
  if (lo >= bytes.length) return -1
  // The prefix may end inside a sequence whose lead byte is the real culprit.
  for (let back = 1; back <= 3 && lo - back >= 0; back++) {
    const b = bytes[lo - back] ?? 0
    if (b < 0x80) break
    if (b >= 0xc0) {
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2
      return need > back ? lo - back : lo
    }
  }
  return lo
}

async function readUpTo(handle: FileHandle, limit: number, chunkSize: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let total = 0
  while (total < limit) {
    const want = Math.min(Math.max(chunkSize, 1), limit - total)
    const buf = Buffer.allocUnsafe(want)
    const { bytesRead } = await handle.read(buf, 0, want, null)
    if (bytesRead === 0) break
    chunks.push(buf.subarray(0, bytesRead))
    total += bytesRead
  }
  return Buffer.concat(chunks, total)
}

function describeOpenError(path: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  switch (code) {
    case 'ENOENT':
      return `${path} was not found. Check the path and file name.`
    case 'EACCES':
    case 'EPERM':
      return `${path} cannot be read: permission denied. Copy it somewhere you can read, or fix its permissions.`
    case 'EISDIR':
      return `${path} is a folder. Pass the JSON file the phone app exported, not the folder holding it.`
    case 'ENOTDIR':
      return `${path} was not found: part of the path is a file, not a folder. Check the path.`
    case 'ELOOP':
      return `${path} cannot be read: it is a loop of symbolic links. Pass the real file.`
    case 'EMFILE':
    case 'ENFILE':
      return `${path} cannot be opened: too many files are open. Close some programs and try again.`
    default:
      return `${path} cannot be read (${code ?? 'unknown error'}). Check the path and try again.`
  }
}
