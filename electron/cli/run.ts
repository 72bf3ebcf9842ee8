/**
 * Runs one `vkey` command line and returns its exit status: any failure becomes one
 * line on stderr (no stack trace unless VKEY_DEBUG=1) and the documented exit code.
 */
import { exitCodeFor, isVkError } from '../../shared/errors'
import { runCommand } from './commands'
import type { CliIo } from './io'

export function errorLine(error: unknown): string {
  if (!isVkError(error)) return 'vkey: unexpected internal error. Run again with VKEY_DEBUG=1 and report what it prints.'
  const psa = error.details.psa
  const support = psa?.uuid ? ` [PSA code ${psa.code ?? '?'}, uuid ${psa.uuid}${psa.timestamp ? `, at ${psa.timestamp}` : ''}]` : ''
  return `vkey: ${error.message}${support}`
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    return await runCommand(argv, io)
  } catch (error) {
    if (io.env.VKEY_DEBUG === '1') io.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`)
    io.stderr.write(`${errorLine(error)}\n`)
    return isVkError(error) ? exitCodeFor(error.code) : 1
  }
}
