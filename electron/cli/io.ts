/**
 * The CLI's view of the outside world, so commands can run in-process in tests with
 * captured streams and the same code runs as the real `vkey` process.
 */
import type { Readable, Writable } from 'node:stream'
import { VkError } from '../../shared/errors'
import { escapeForTerminal } from '../../shared/terminal-text'
import { watchSignals, type Interruption } from './interrupt'

export interface CliIo {
  stdout: Writable
  stderr: Writable
  stdin: Readable
  env: NodeJS.ProcessEnv
  /** Resolves when the user interrupts (Ctrl-C) — long-running commands wait on it. */
  interrupted?: Promise<void>
  /** True when stdout is a terminal (progress bars, colours). */
  isTty?: boolean
  /** The real process's SIGINT/SIGTERM handling (interrupt.ts); absent in-process. */
  interruption?: Interruption
  /** The clock the depot uses (tests move it; the real `vkey` uses the system clock). */
  now?: () => Date
}

export function processIo(): CliIo {
  const interruption = watchSignals(process, process.stderr)
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    isTty: Boolean(process.stdout.isTTY),
    interrupted: interruption.interrupted,
    interruption,
  }
}

/**
 * The one writer of human output (stdout lines, the stderr error line): text from outside
 * (PSA error uuid and message, labels, file names, VINs) is part of these lines, so every
 * character a terminal would act on is shown as a visible escape (`\x1b`, `\n`…), see
 * shared/terminal-text.ts. One call writes one line.
 */
export function writeHuman(stream: Writable, text = ''): void {
  stream.write(`${escapeForTerminal(text)}\n`)
}

/** Machine output (`--json`): written exactly as given (JSON.stringify already escapes control characters). */
export function writeMachine(stream: Writable, json: string): void {
  stream.write(`${json}\n`)
}

/** Reads all of stdin (for `--cardata -`). */
export async function readAll(stream: Readable, limit = 32 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string)
    size += buffer.length
    if (size > limit) throw new Error('stdin is larger than the CarData size limit')
    chunks.push(buffer)
  }
  return Buffer.concat(chunks)
}

/** Reads one secret line from stdin (for `--password-stdin`): the trailing newline is not part of it. */
export async function readSecretLine(stream: Readable): Promise<string> {
  if ((stream as Readable & { isTTY?: boolean }).isTTY) {
    // Typed on a terminal it would be echoed on screen (and wait for Ctrl-D): pipe it in instead.
    throw new VkError('usage', 'The secret is read from standard input, which is a terminal here: pipe it in (`printf %s "$SECRET" |` before the command) or read it from a file (`< secret-file` after it).', { field: '--password-stdin' })
  }
  const all = (await readAll(stream, 64 * 1024)).toString('utf8')
  const newline = all.search(/\r?\n/)
  return newline >= 0 ? all.slice(0, newline) : all
}
