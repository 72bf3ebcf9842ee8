/** `vkey` entry point (see run.ts for the error and exit-code rules). */
import { setFlagsFromString } from 'node:v8'
import { isMainThread } from 'node:worker_threads'
import { processIo } from './io'
import { runCli } from './run'

// The command line runs on the main thread only: the QR file writer's worker thread
// (core/qr-file-writer.ts) loads chunks of this bundle and must never start a second vkey.
if (isMainThread) await main()

async function main(): Promise<void> {
  // undici parses HTTP with WebAssembly (llhttp). V8 compiles it with its baseline compiler,
  // then again with its optimising one on a background thread, and a process about to exit
  // waits for that second compile: a core busy and ≈ 0.1 s more for every `vkey token`
  // (docs/performance.md), and ≈ 30 MB of memory for a batch. A vkey process reads small
  // answers; the baseline code is enough.
  // Set before the first connection, which is when undici compiles its parser.
  setFlagsFromString('--liftoff-only')

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
}
