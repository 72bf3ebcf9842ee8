/** Option parsing and output helpers shared by every `vkey` command. */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { VkError } from '../../shared/errors'
import { writeHuman, writeMachine, type CliIo } from './io'

type Options = NonNullable<ParseArgsConfig['options']>

/** node:util parseArgs in strict mode, with its errors turned into usage errors. */
export function parse<O extends Options>(command: string, args: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true as const })
  } catch (error) {
    throw new VkError('usage', `vkey ${command}: ${(error as Error).message.replace(/\s+/g, ' ')}. Run \`vkey help ${command}\` for its options and an example.`)
  }
}

/** One line of human output on stdout, escaped for the terminal (see io.ts). */
export function write(io: CliIo, line = ''): void {
  writeHuman(io.stdout, line)
}

/** `--json` output on stdout, exact. */
export function writeJson(io: CliIo, json: string): void {
  writeMachine(io.stdout, json)
}
