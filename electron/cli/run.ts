/**
 * Runs one `vkey` command line and returns its exit status: any failure becomes one
 * line on stderr (no stack trace unless VKEY_DEBUG=1) and the documented exit code.
 */
import { accessSync, constants, existsSync } from 'node:fs'
import { dirname } from 'node:path'
import { EXIT, exitCodeFor, isVkError, VkError } from '../../shared/errors'
import { defaultDataFolder } from '../core/paths'
import { runCommand } from './commands'
import { writeHuman, type CliIo } from './io'

export function errorLine(error: unknown): string {
  if (!isVkError(error)) return 'vkey: unexpected internal error. Run again with VKEY_DEBUG=1 and report what it prints.'
  const psa = error.details.psa
  const support = psa?.uuid ? ` [PSA code ${psa.code ?? '?'}, uuid ${psa.uuid}${psa.timestamp ? `, at ${psa.timestamp}` : ''}]` : ''
  // A message already naming its command ("vkey token: …") is not prefixed again.
  return `${error.message.startsWith('vkey ') ? '' : 'vkey: '}${error.message}${support}`
}

const FILE_PROBLEMS: Record<string, string> = {
  ENOENT: 'the folder does not exist',
  ENOTDIR: 'part of the path is a file, not a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the disk is read-only',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EISDIR: 'it is a folder',
}

/**
 * A file-system error (an --out folder that does not exist, a read-only VKEY_HOME) as a
 * clear error naming the path: exit 3 when it is the data folder, 2 for the user's paths.
 */
function fileProblem(error: unknown, env: NodeJS.ProcessEnv): VkError | undefined {
  const { code, path } = (error ?? {}) as NodeJS.ErrnoException
  const problem = code ? FILE_PROBLEMS[code] : undefined
  if (!problem) return undefined
  const dataFolder = defaultDataFolder(env)
  // A write on an open file names no path: a full or read-only disk under the data folder, most likely.
  if (!path && (code === 'ENOSPC' || code === 'EROFS' || code === 'EDQUOT')) {
    return new VkError(
      'config.vault',
      `Cannot use the data folder ${dataFolder}: ${problem}. Free space or fix the disk, then run the command again; nothing was sent.`,
      { file: dataFolder },
    )
  }
  if (!path) return undefined
  if (path.startsWith(dataFolder)) {
    return new VkError(
      'config.vault',
      `Cannot use the data folder ${dataFolder} (${(code === 'ENOENT' && whyMissing(path)) || `${problem} at ${path}`}). Check its permissions and free space, or set VKEY_HOME to a folder you can write.`,
      { file: path },
    )
  }
  return new VkError('input.file', `Cannot write or read ${path}: ${problem}. Check the path and try again.`, { file: path })
}

/** Why a folder that does not exist could not be made (the nearest existing folder is read-only or not ours to write), if that is why. */
function whyMissing(path: string): string | undefined {
  let parent = dirname(path)
  while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent)
  try {
    accessSync(parent, constants.W_OK)
    return undefined
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'EROFS' ? `${parent} is on a read-only disk` : `this user may not write in ${parent}`
    return `${path} does not exist and cannot be made: ${reason}`
  }
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  // Ctrl-C while vkey was still loading: the command is not run at all.
  if (io.interruption?.signal !== undefined) {
    io.interruption.report(io.stderr)
    return EXIT.interrupted
  }
  try {
    const code = await runCommand(argv, io)
    if (code === EXIT.interrupted) io.interruption?.report(io.stderr)
    return code
  } catch (thrown) {
    const error = isVkError(thrown) ? thrown : (fileProblem(thrown, io.env) ?? thrown)
    if (io.env.VKEY_DEBUG === '1') for (const line of String((error as Error)?.stack ?? error).split('\n')) writeHuman(io.stderr, line)
    if (isVkError(error) && error.code === 'cancelled' && io.interruption?.signal !== undefined) {
      // The interruption's own line says what happened to the request.
      io.interruption.report(io.stderr)
      return EXIT.interrupted
    }
    writeHuman(io.stderr, errorLine(error))
    return isVkError(error) ? exitCodeFor(error.code) : EXIT.internal
  }
}
