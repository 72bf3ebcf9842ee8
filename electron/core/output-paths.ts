/**
 * Output paths are checked before anything is stored or sent: a key PSA issued for a QR
 * file that cannot be written would be a key nobody can hand over.
 */
import { constants, accessSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
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

/** A file VK Depot will write: its folder exists and is writable; an existing file is a writable regular file. */
export function assertWritableFile(path: string, option: string): string {
  const full = resolve(path)
  const folder = dirname(full)
  const folderProblem = problemOf(folder, true)
  if (folderProblem === 'missing')
    throw new VkError(
      'input.file',
      `${option} ${full}: its folder ${folder} does not exist. Create it first (mkdir -p) or choose another path; nothing was sent.`,
      { file: full, field: option },
    )
  if (folderProblem)
    throw new VkError('input.file', `${option} ${full}: the folder ${folder} ${folderProblem}. Choose another path; nothing was sent.`, {
      file: full,
      field: option,
    })
  const fileProblem = problemOf(full, false)
  if (fileProblem && fileProblem !== 'missing')
    throw new VkError('input.file', `${option} ${full} ${fileProblem}. Choose another path; nothing was sent.`, { file: full, field: option })
  return full
}

/** A folder VK Depot will create if needed: an existing one is a writable folder, else its nearest existing parent is. */
export function assertWritableFolder(path: string, option: string): string {
  const full = resolve(path)
  let probe = full
  while (problemOf(probe, true) === 'missing' && dirname(probe) !== probe) probe = dirname(probe)
  const problem = problemOf(probe, true)
  if (problem)
    throw new VkError('input.file', `${option} ${full}: ${probe === full ? 'it' : probe} ${problem}. Choose another folder; nothing was sent.`, {
      file: full,
      field: option,
    })
  return full
}
