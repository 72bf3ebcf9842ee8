/** Option parsing and output helpers shared by every `vkey` command. */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { VkError } from '../../shared/errors'
import type { CliIo } from './io'

type Options = NonNullable<ParseArgsConfig['options']>

/** node:util parseArgs in strict mode, with its errors turned into usage errors. */
export function parse<O extends Options>(command: string, args: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true as const })
  } catch (error) {
    throw new VkError('usage', `vkey ${command}: ${(error as Error).message.replace(/\s+/g, ' ')}. Run \`vkey help ${command}\` for its options and an example.`)
  }
}

export function write(io: CliIo, line = ''): void {
  io.stdout.write(`${line}\n`)
}
