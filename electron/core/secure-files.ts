import { randomBytes } from 'node:crypto'
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync, constants as fsConstants } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { currentOwner, isOwnerAlive, parseOwner } from './process-owner'

const isPosix = process.platform !== 'win32'

/** Makes the folder (and parents) readable by the owner only; tightens it if it exists looser. */
export async function ensurePrivateFolder(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  if (!isPosix) return
  const stats = await fs.stat(dir)
  if ((stats.mode & 0o077) !== 0) await fs.chmod(dir, 0o700)
}

/** The suffix of every temp file VK Depot writes: the sweep removes these and nothing else of its own making. */
export const TEMP_SUFFIX = '.vkd-tmp'

/** Where temp files written outside the data folder are recorded until they are renamed or removed. */
export const PENDING_FOLDER = 'pending-temp'

export interface AtomicWriteOptions {
  mode?: number
  /**
   * The data folder, for a file written outside it (a pack on the Desktop): the temp file's
   * path and owner are recorded there first, so that if this process is killed mid-write the
   * next VK Depot start removes the temp file it left (see sweepTemporaryFiles).
   */
  recordIn?: string
  /**
   * fsync the folder after the rename (default true). A writer of many files in one folder
   * (the QR files of a batch) passes false and calls syncFolder once when the last is in place.
   */
  syncFolder?: boolean
}

/**
 * Writes a file so that readers see the old or the new content, never a mix.
 * Temp file in the same folder (O_EXCL, owner-only), fsync, rename, then fsync the folder
 * so the rename survives a power cut. `data` may be a function: the temp file then exists
 * (and is recorded) while the content is produced.
 */
export async function writeFileAtomic(
  filePath: string,
  data: string | Uint8Array | (() => Promise<string | Uint8Array>),
  modeOrOptions: number | AtomicWriteOptions = {},
): Promise<void> {
  const options = typeof modeOrOptions === 'number' ? { mode: modeOrOptions } : modeOrOptions
  const mode = options.mode ?? 0o600
  const dir = path.dirname(filePath)
  const temporary = temporaryFor(filePath)
  const record = options.recordIn ? await recordPendingTemp(options.recordIn, temporary) : undefined
  let renamed = false
  try {
    const handle = await fs.open(temporary, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, mode)
    try {
      try {
        // The umask may have cleared bits of `mode`; set it exactly.
        if (isPosix) await handle.chmod(mode)
        await handle.writeFile(typeof data === 'function' ? await data() : data)
        await handle.sync()
      } finally {
        await handle.close()
      }
      await fs.rename(temporary, filePath)
      renamed = true
    } finally {
      if (!renamed) await fs.rm(temporary, { force: true })
    }
  } finally {
    if (record) await fs.rm(record, { force: true })
  }
  if (options.syncFolder ?? true) await syncFolder(dir)
}

/** The temp file beside `filePath` that an atomic write renames into place (TEMP_SUFFIX: the sweep knows it). */
function temporaryFor(filePath: string): string {
  return path.join(path.dirname(filePath), `${path.basename(filePath)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`)
}

/**
 * writeFileAtomic's steps (temp file O_EXCL with `mode`, fsync, rename; the folder is synced
 * by the caller, once for many files) with blocking calls: for a worker thread that only
 * writes files (qr-file-writer.ts), where they cost a quarter of the processor time of the
 * promise calls (0.2 against 0.75 ms a 2 kB file, measured on this project's machine). Never
 * on the main thread: it waits for the disk.
 */
export function writeFileAtomicSync(filePath: string, data: Uint8Array, mode = 0o600): void {
  const temporary = temporaryFor(filePath)
  let renamed = false
  try {
    const fd = openSync(temporary, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, mode)
    try {
      if (isPosix) fchmodSync(fd, mode) // the umask may have cleared bits of `mode`
      writeFileSync(fd, data)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temporary, filePath)
    renamed = true
  } finally {
    if (!renamed) rmSync(temporary, { force: true })
  }
}

async function recordPendingTemp(dataDir: string, temporary: string): Promise<string> {
  const folder = path.join(dataDir, PENDING_FOLDER)
  await fs.mkdir(folder, { recursive: true, mode: 0o700 })
  const record = path.join(folder, `${randomBytes(8).toString('hex')}.json`)
  // Written (and synced) before the temp file exists: a crash can leave a record without a file, never the reverse.
  await writeFileAtomic(record, JSON.stringify({ path: temporary, owner: currentOwner() }))
  return record
}

/**
 * The JSON records in `folder` (its `*.json` files), each with its path; none when the
 * folder does not exist. A file that does not parse is left out: it is being written right
 * now, or not ours to judge. (The pending-temp records here, the vault users' records.)
 */
export async function readJsonRecords(folder: string): Promise<{ file: string; value: unknown }[]> {
  let names: string[]
  try {
    names = (await fs.readdir(folder)).filter((name) => name.endsWith('.json'))
  } catch (error) {
    if (isNotFound(error)) return []
    throw error
  }
  const records: { file: string; value: unknown }[] = []
  for (const name of names) {
    const file = path.join(folder, name)
    try {
      records.push({ file, value: JSON.parse(await fs.readFile(file, 'utf8')) as unknown })
    } catch {
      // being written right now, or not ours to judge
    }
  }
  return records
}

/** Removes the temp files recorded in `<dataDir>/pending-temp` whose writer is gone; returns them. */
async function sweepPendingTemps(dataDir: string): Promise<string[]> {
  const removed: string[] = []
  for (const { file: record, value } of await readJsonRecords(path.join(dataDir, PENDING_FOLDER))) {
    const entry = (typeof value === 'object' && value !== null ? value : {}) as { path?: unknown; owner?: unknown }
    const owner = parseOwner(entry.owner)
    if (owner && isOwnerAlive(owner)) continue
    // Only a name VK Depot gave: whatever the record says, nothing else is ever removed.
    if (typeof entry.path === 'string' && path.isAbsolute(entry.path) && entry.path.endsWith(TEMP_SUFFIX)) {
      try {
        if ((await fs.lstat(entry.path)).isFile()) {
          await fs.rm(entry.path, { force: true })
          removed.push(entry.path)
        }
      } catch (error) {
        if (!isNotFound(error)) throw error
      }
    }
    await fs.rm(record, { force: true })
  }
  return removed
}

/** fsync a folder, so the renames done in it survive a power cut. */
export async function syncFolder(dir: string): Promise<void> {
  if (!isPosix) return // Windows cannot open a folder for fsync; NTFS journals the rename.
  const handle = await fs.open(dir, fsConstants.O_RDONLY)
  try {
    await handle.sync()
  } catch {
    // Some file systems (network mounts) refuse fsync on a folder: the rename is still done.
  } finally {
    await handle.close()
  }
}

/** The names VK Depot's own writers give their temp files (and nothing else's). */
function isOurTempName(name: string, topLevel: boolean): boolean {
  if (name.endsWith(TEMP_SUFFIX)) return true
  // writeFileAtomic before the .vkd-tmp suffix: `<name>.<12 hex>.tmp`.
  if (/\.[0-9a-f]{12}\.tmp$/.test(name)) return true
  // The settings store (conf's atomic writer), for the one settings file VK Depot owns.
  return topLevel && /^settings\.json\.tmp-\d{10}[a-f0-9]{6}$/.test(name)
}

/**
 * Removes the temp files VK Depot's own writers leave when a process is killed mid-write:
 * in `dir` (the data folder, which must be ours: see data-folder.ts) and below, only names
 * VK Depot gives (`*.vkd-tmp`, the older `<name>.<12 hex>.tmp`, and the settings store's
 * `settings.json.tmp-…`), plus temp files written outside the folder that were recorded in
 * it (a pack on the Desktop) once their writer is gone. A `report.docx.tmp` is never touched.
 * Chromium's own profile folder (`chromium/`) is Chromium's business and is not walked.
 * Files younger than `minAgeMs` are kept: another running process may be about to rename them.
 * Returns the removed paths. Symbolic links are neither followed nor removed.
 */
export async function sweepTemporaryFiles(dir: string, { minAgeMs = 60_000 }: { minAgeMs?: number } = {}): Promise<string[]> {
  const removed: string[] = []
  const cutoff = Date.now() - minAgeMs
  const visit = async (folder: string): Promise<void> => {
    let entries
    try {
      entries = await fs.readdir(folder, { withFileTypes: true })
    } catch (error) {
      if (isNotFound(error)) return
      throw error
    }
    for (const entry of entries) {
      const full = path.join(folder, entry.name)
      if (entry.isDirectory()) {
        if (folder !== dir || entry.name !== 'chromium') await visit(full)
      } else if (entry.isFile() && isOurTempName(entry.name, folder === dir)) {
        try {
          const stats = await fs.lstat(full)
          if (stats.mtimeMs > cutoff) continue
          await fs.rm(full, { force: true })
          removed.push(full)
        } catch (error) {
          if (!isNotFound(error)) throw error
        }
      }
    }
  }
  await visit(dir)
  removed.push(...(await sweepPendingTemps(dir)))
  return removed
}

/**
 * In a folder that is the user's, not ours (a batch's --out): only the temp files VK Depot's
 * writers name `*.vkd-tmp`, at its top level, older than `minAgeMs` (a process killed mid-write
 * left them; a running writer renames its own within milliseconds). Returns the removed paths.
 */
export async function sweepOwnTempFilesIn(dir: string, { minAgeMs = 60_000 }: { minAgeMs?: number } = {}): Promise<string[]> {
  const removed: string[] = []
  const cutoff = Date.now() - minAgeMs
  let entries
  try {
    entries = await fs.readdir(dir, { withFileTypes: true })
  } catch (error) {
    if (isNotFound(error)) return removed
    throw error
  }
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith(TEMP_SUFFIX)) continue
    const full = path.join(dir, entry.name)
    try {
      if ((await fs.lstat(full)).mtimeMs > cutoff) continue
      await fs.rm(full, { force: true })
      removed.push(full)
    } catch (error) {
      if (!isNotFound(error)) throw error
    }
  }
  return removed
}

/** The file's bytes, or undefined when it does not exist. */
export async function readFileIfExists(filePath: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(filePath)
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw error
  }
}

/** True when the error (or one it wraps) says the disk is full, or the user's quota on it. */
export function isDiskFull(error: unknown): boolean {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code
    if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') return true
  }
  return false
}

export function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === 'ENOENT'
}

/** Why a write failed, in words. */
export function describeWriteError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code
  return code === 'ENOENT'
    ? 'its folder does not exist'
    : code === 'EACCES' || code === 'EPERM'
      ? 'permission was denied'
      : code === 'EISDIR'
        ? 'it is a folder'
        : isDiskFull(error)
          ? 'the disk is full'
          : code === 'EROFS'
            ? 'the disk is read-only (mounted so)'
            : `the system said ${code ?? (error as Error)?.message ?? 'no reason'}`
}
