/**
 * Output paths are checked before anything is stored or sent: a key PSA issued for a QR
 * file that cannot be written would be a key nobody can hand over.
 */
import { constants, accessSync, statSync } from 'node:fs'
import { dirname, extname, resolve } from 'node:path'
import { VkError } from '../../shared/errors'

function problemOf(path: string, wantDir: boolean): string | undefined {
  let stats
  try {
    stats = statSync(path)
  } catch {
    return 'missing'
  }
  if (wantDir && !stats.isDirectory()) return 'is a file, not a folder'
  if (!wantDir && !stats.isFile()) return 'is not a regular file'
  try {
    accessSync(path, constants.W_OK)
  } catch {
    return 'cannot be written (permission denied or a read-only disk)'
  }
  return undefined
}

/**
 * A file VK Depot will write: its folder exists and is writable; an existing file is a writable
 * regular file. `outcome` ends a refusal: what did not happen ("nothing was sent" before a key
 * request; "nothing was written" for an export).
 */
export function assertWritableFile(path: string, option: string, outcome = 'nothing was sent'): string {
  const full = resolve(path)
  const folder = dirname(full)
  const folderProblem = problemOf(folder, true)
  if (folderProblem === 'missing')
    throw new VkError('input.file', `${option} ${full}: its folder ${folder} does not exist. Create it first (mkdir -p) or choose another path; ${outcome}.`, {
      file: full,
      field: option,
    })
  if (folderProblem)
    throw new VkError('input.file', `${option} ${full}: the folder ${folder} ${folderProblem}. Choose another path; ${outcome}.`, {
      file: full,
      field: option,
    })
  const fileProblem = problemOf(full, false)
  if (fileProblem && fileProblem !== 'missing')
    throw new VkError('input.file', `${option} ${full} ${fileProblem}. Choose another path; ${outcome}.`, { file: full, field: option })
  return full
}

/**
 * A folder for output files: an existing writable folder, or a new one VK Depot creates inside
 * an existing writable folder. Not a chain of missing folders: a mistyped path must not become
 * new folders holding car keys (the same rule as a file's folder above).
 */
export function assertWritableFolder(path: string, option: string): string {
  const full = resolve(path)
  const parent = dirname(full)
  const own = problemOf(full, true)
  // A new folder named like a file is a file name given to a folder option (`--out car.png`).
  if (own === 'missing' && /\.(png|svg|pdf|csv|json)$/i.test(full))
    throw new VkError(
      'usage',
      `${option} ${full}: no such folder, and the name reads as a file's. ${option} takes a folder that gets a QR file for each key: give one (e.g. ${option} qr); nothing was sent.`,
      { file: full, field: option },
    )
  const where = own === 'missing' ? parent : full
  const problem = own === 'missing' ? problemOf(parent, true) : own
  if (problem === 'missing')
    throw new VkError(
      'input.file',
      `${option} ${full}: its parent folder ${parent} does not exist. Create it first (mkdir -p) or choose another folder; nothing was sent.`,
      { file: full, field: option },
    )
  if (problem)
    throw new VkError('input.file', `${option} ${full}: ${where === full ? 'it' : where} ${problem}. Choose another folder; nothing was sent.`, {
      file: full,
      field: option,
    })
  return full
}

export type QrFormat = 'png' | 'svg'

/** The format a `--qr` path asks for, from its extension (.png / .svg, any case). */
export function qrFormatForPath(path: string): QrFormat {
  const ext = extname(path).toLowerCase()
  if (ext === '.png') return 'png'
  if (ext === '.svg') return 'svg'
  throw new VkError('usage', `--qr ${JSON.stringify(path)} must end in .png or .svg, which decides the image format (e.g. --qr handover.png).`, {
    field: '--qr',
    file: path,
  })
}
