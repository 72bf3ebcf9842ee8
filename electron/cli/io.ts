/**
 * The CLI's view of the outside world, so commands can run in-process in tests with
 * captured streams and the same code runs as the real `vkey` process.
 */
import type { Readable, Writable } from 'node:stream'
import { isVkError, VkError } from '../../shared/errors'
import { escapeForTerminal } from '../../shared/terminal-text'
import { watchSignals, type Interruption } from './interrupt'
import { wipeAfter } from '../core/secret-bytes'

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
  const interruption = watchSignals(process, process.stderr, undefined, (globalThis as { vkeyEarlySignal?: string }).vkeyEarlySignal)
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

/** Standard input for a secret is one line: more than this is not a secret piped in. */
const SECRET_LIMIT_BYTES = 64 * 1024

/** How to give a secret on standard input, for the messages below. */
const PIPE_IT_IN = 'pipe it in (`printf %s "$SECRET" |` before the command) or read it from a file (`< secret-file` after it)'

/**
 * Reads all of standard input for `option` (a secret), at most `limit` bytes; each chunk
 * read goes to `hold` so it can be zeroed. A read error or too much input is a usage error
 * naming the option and how to give the secret.
 */
async function readStdin(stream: Readable, option: string, limit: number, hold: (bytes: Buffer) => Buffer): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of stream) {
      const buffer = hold(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string))
      size += buffer.length
      if (size > limit) {
        stream.destroy()
        throw new VkError('input.too-large', `${option} reads one line from standard input, which holds more than ${limit / 1024} KiB here: ${PIPE_IT_IN}.`, {
          field: option,
        })
      }
      chunks.push(buffer)
    }
  } catch (error) {
    if (isVkError(error)) throw error
    const code = (error as NodeJS.ErrnoException | undefined)?.code
    throw new VkError(
      'input.file',
      `${option}: standard input could not be read (${code ?? 'read error'}): ${PIPE_IT_IN}.`,
      { field: option },
      { cause: error },
    )
  }
  return hold(Buffer.concat(chunks, size))
}

/**
 * Reads one secret line from stdin (for `--password-stdin`, `--passphrase-stdin`): the
 * trailing newline is not part of it. The bytes read are zeroed before it returns.
 */
export async function readSecretLine(stream: Readable, option: string): Promise<string> {
  if ((stream as Readable & { isTTY?: boolean }).isTTY) {
    // Typed on a terminal it would be echoed on screen (and wait for Ctrl-D): pipe it in instead.
    throw new VkError('usage', `${option}: the secret is read from standard input, which is a terminal here: ${PIPE_IT_IN}.`, { field: option })
  }
  return wipeAfter(async (hold) => {
    const all = (await readStdin(stream, option, SECRET_LIMIT_BYTES, hold)).toString('utf8')
    const newline = all.search(/\r?\n/)
    return newline >= 0 ? all.slice(0, newline) : all
  })
}
