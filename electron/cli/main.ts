/**
 * `vkey` entry point: runs one command and turns any failure into one line on stderr
 * and the documented exit code (no stack trace unless VKEY_DEBUG=1).
 */
import { exitCodeFor, isVkError } from '../../shared/errors'
import { runCommand } from './commands'
import { processIo } from './io'

async function main(): Promise<void> {
  const io = processIo()
  let code: number
  try {
    code = await runCommand(process.argv.slice(2), io)
  } catch (error) {
    if (io.env.VKEY_DEBUG === '1') console.error(error)
    if (isVkError(error)) {
      io.stderr.write(`vkey: ${error.message}${error.details.psa?.uuid ? ` [PSA code ${error.details.psa.code ?? '?'}, uuid ${error.details.psa.uuid}${error.details.psa.timestamp ? `, at ${error.details.psa.timestamp}` : ''}]` : ''}\n`)
      code = exitCodeFor(error.code)
    } else {
      io.stderr.write('vkey: unexpected internal error. Run again with VKEY_DEBUG=1 and report what it prints.\n')
      code = 1
    }
  }
  process.exitCode = code
  // Keep-alive sockets or the stdin reader must not hold the process open after the answer.
  setTimeout(() => process.exit(code), 50).unref()
}

await main()
