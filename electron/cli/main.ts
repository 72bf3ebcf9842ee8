/** `vkey` entry point (see run.ts for the error and exit-code rules). */
import { processIo } from './io'
import { runCli } from './run'

const code = await runCli(process.argv.slice(2), processIo())
process.exitCode = code
// Keep-alive sockets or a stdin reader must not hold the process open after the answer.
setTimeout(() => process.exit(code), 50).unref()
