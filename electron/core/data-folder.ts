/**
 * The data folder is VK Depot's own only when it says so: a marker file `.vkdepot` (with
 * a format version) sits in it. VK Depot adopts a missing or empty folder (and one written
 * by an earlier VK Depot, recognised by its own files), and refuses any other folder, so a
 * VKEY_HOME pointed at ~/Documents is never tightened, swept or filled.
 *
 * Synchronous on purpose: the desktop app must decide before Electron writes its own files
 * (SingletonLock, Local State) into the folder, which happens before any await.
 */
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { VkError } from '../../shared/errors'

export const MARKER_FILE = '.vkdepot'
export const DATA_FOLDER_VERSION = 1

export type Adoption = 'marked' | 'created' | 'empty' | 'legacy' | 'default-folder'

export interface OpenFolderOptions {
  /** The platform's default folder ("…/VK Depot"): nobody else writes there, so it is adopted as is. */
  isDefault?: boolean
}

/**
 * Makes sure `dir` is a VK Depot data folder, adopting it when it may be (see above), and
 * tightens it to 0700 once it is ours. Returns how it became ours.
 */
export function adoptDataFolder(dir: string, options: OpenFolderOptions = {}): Adoption {
  const kind = folderKind(dir)
  if (kind === 'missing') {
    // A chain of missing folders is a mistyped VKEY_HOME, not a new depot: an empty ledger there would hide every key.
    const parent = path.dirname(dir)
    if (!options.isDefault && folderKind(parent) === 'missing')
      throw new VkError(
        'config.data-folder',
        `VKEY_HOME is ${dir}, whose parent folder ${parent} does not exist: is it mistyped? VK Depot makes a new data folder only inside an existing folder. Fix VKEY_HOME, or create the parent first (mkdir -p ${parent}).`,
        { file: dir, field: 'VKEY_HOME' },
      )
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    writeMarker(dir)
    return 'created'
  }
  if (kind === 'not-a-folder') throw notOurs(dir, 'it is a file, not a folder')
  const marker = readMarker(dir)
  if (marker !== undefined) {
    tighten(dir)
    return 'marked'
  }
  // Another VK Depot process adopting the same new folder right now has only its marker's temp file there yet.
  const entries = readdirSync(dir).filter((name) => !(name.startsWith(`${MARKER_FILE}.`) && name.endsWith('.vkd-tmp')))
  let adoption: Adoption | undefined
  if (entries.length === 0) adoption = 'empty'
  else if (isLegacyDataFolder(dir, entries)) adoption = 'legacy'
  else if (options.isDefault) adoption = 'default-folder'
  if (!adoption)
    throw notOurs(
      dir,
      `it already holds ${entries.length} file${entries.length === 1 ? '' : 's'} or folder${entries.length === 1 ? '' : 's'} and no ${MARKER_FILE} marker`,
    )
  tighten(dir)
  writeMarker(dir)
  return adoption
}

/** True when the folder carries our marker (does not adopt anything). */
export function isDataFolder(dir: string): boolean {
  return folderKind(dir) === 'folder' && readMarker(dir) !== undefined
}

function folderKind(dir: string): 'missing' | 'folder' | 'not-a-folder' {
  try {
    return statSync(dir).isDirectory() ? 'folder' : 'not-a-folder'
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing'
    throw error
  }
}

function notOurs(dir: string, why: string): VkError {
  return new VkError(
    'config.data-folder',
    `${dir} is not a VK Depot data folder (${why}). VK Depot never writes into, tightens or cleans a folder that is not its own: ` +
      'set VKEY_HOME to an empty or new folder (for example VKEY_HOME=~/vk-depot-data), or unset it to use the default folder.',
    { file: dir, field: 'VKEY_HOME' },
  )
}

/** What the marker says: its format version, when the folder was made, and since when it has held a ledger. */
interface Marker {
  version: number
  createdAt?: string
  /** Set once the folder's ledger.db exists (noteLedgerStarted): from then on, a missing ledger is a lost one. */
  ledgerSince?: string
}

function readMarker(dir: string): Marker | undefined {
  const file = path.join(dir, MARKER_FILE)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  let value: { format?: unknown; version?: unknown; createdAt?: unknown; ledgerSince?: unknown }
  try {
    value = JSON.parse(text) as typeof value
  } catch {
    value = {}
  }
  if (value.format !== 'vk-depot-data' || typeof value.version !== 'number' || !Number.isInteger(value.version)) {
    throw new VkError(
      'config.data-folder',
      `${file} is damaged. If ${dir} is your VK Depot data folder, replace that file with {"format":"vk-depot-data","version":1}.`,
      { file },
    )
  }
  if (value.version > DATA_FOLDER_VERSION) {
    throw new VkError(
      'config.data-folder',
      `${dir} was written by a newer VK Depot (data folder format ${value.version}; this one knows ${DATA_FOLDER_VERSION}). Update VK Depot, or set VKEY_HOME to another folder.`,
      { file },
    )
  }
  const string = (field: unknown): string | undefined => (typeof field === 'string' ? field : undefined)
  return { version: value.version, createdAt: string(value.createdAt), ledgerSince: string(value.ledgerSince) }
}

/**
 * Since when the folder has held a ledger, as its marker says; undefined before its first
 * ledger, and where there is no marker (a folder VK Depot did not adopt, as in some tests).
 */
export function ledgerSince(dir: string): string | undefined {
  try {
    return readMarker(dir)?.ledgerSince
  } catch {
    return undefined // a damaged marker: adoptDataFolder names it before anything opens the ledger
  }
}

/** Records in the marker that the folder holds a ledger since `at` (written only when that changes; a folder without a marker is left alone). */
export function noteLedgerStarted(dir: string, at: string): void {
  const marker = readMarker(dir)
  if (marker && marker.ledgerSince !== at) writeMarker(dir, { createdAt: marker.createdAt, ledgerSince: at })
}

function writeMarker(dir: string, fields: Omit<Marker, 'version'> = {}): void {
  const file = path.join(dir, MARKER_FILE)
  const temporary = `${file}.${randomBytes(6).toString('hex')}.vkd-tmp`
  const fd = openSync(temporary, 'wx', 0o600)
  try {
    const marker = {
      format: 'vk-depot-data',
      version: DATA_FOLDER_VERSION,
      createdAt: fields.createdAt ?? new Date().toISOString(),
      ...(fields.ledgerSince ? { ledgerSince: fields.ledgerSince } : {}),
    }
    writeSync(fd, `${JSON.stringify(marker)}\n`)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(temporary, file)
}

function tighten(dir: string): void {
  if (process.platform === 'win32') return
  if ((statSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700)
}

/**
 * A folder an earlier VK Depot (before the marker) wrote: decided by the content of its own
 * files, not their names alone (a `settings.json` is common in other programs' folders).
 */
export function isLegacyDataFolder(dir: string, entries: string[] = readdirSync(dir)): boolean {
  const json = (name: string): Record<string, unknown> | undefined => {
    if (!entries.includes(name)) return undefined
    try {
      const value = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as unknown
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
    } catch {
      return undefined
    }
  }
  const vault = json('vault.json')
  if (vault && vault.version === 1 && typeof vault.vaultId === 'string' && /^[A-Za-z0-9_-]{16,64}$/.test(vault.vaultId)) return true
  const handovers = json('handovers.json')
  if (handovers && handovers.version === 1 && Array.isArray(handovers.records)) return true
  const settings = json('settings.json')
  if (settings) {
    const keys = Object.keys(settings)
    const ours = new Set(['profiles', 'defaultProfile', 'settings'])
    if (keys.length > 0 && keys.every((key) => ours.has(key)) && (settings.profiles === undefined || Array.isArray(settings.profiles))) return true
  }
  return false
}
