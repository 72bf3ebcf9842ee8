import { randomBytes } from 'node:crypto'
import { constants as fsConstants } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

const isPosix = process.platform !== 'win32'

/** Makes the folder (and parents) readable by the owner only; tightens it if it exists looser. */
export async function ensurePrivateFolder(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  if (!isPosix) return
  const stats = await fs.stat(dir)
  if ((stats.mode & 0o077) !== 0) await fs.chmod(dir, 0o700)
}

/**
 * Writes a file so that readers see the old or the new content, never a mix.
 * Temp file in the same folder (O_EXCL, owner-only), fsync, rename, then fsync the folder
 * so the rename survives a power cut.
 */
export async function writeFileAtomic(filePath: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = path.dirname(filePath)
  const temporary = path.join(dir, `${path.basename(filePath)}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await fs.open(temporary, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, mode)
  let renamed = false
  try {
    try {
      // The umask may have cleared bits of `mode`; set it exactly.
      if (isPosix) await handle.chmod(mode)
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await fs.rename(temporary, filePath)
    renamed = true
  } finally {
    if (!renamed) await fs.rm(temporary, { force: true })
  }
  await syncFolder(dir)
}

async function syncFolder(dir: string): Promise<void> {
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

/**
 * Removes `*.tmp` files left by processes killed mid-write, in `dir` and below, and the
 * `*.tmp-<digits><hex>` ones the settings store (conf's atomic writer) leaves the same way.
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
      } else if (entry.isFile() && (entry.name.endsWith('.tmp') || /\.tmp-\d{10}[a-f0-9]{6}$/.test(entry.name))) {
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

export function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === 'ENOENT'
}
