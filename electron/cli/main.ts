/** `vkey` entry point (see run.ts for the error and exit-code rules). */
import { processIo } from './io'
import { runCli } from './run'

// A reader that went away (`vkey list | head -1`) is not an error: stop quietly with 0.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0)
    throw error
  })
}

const code = await runCli(process.argv.slice(2), processIo())
process.exitCode = code
// Keep-alive sockets or a stdin reader must not hold the process open after the answer.
setTimeout(() => process.exit(code), 50).unref()
