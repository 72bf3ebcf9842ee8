/** Option parsing and output helpers shared by every `vkey` command. */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { parseDuration, resolveUntil, secondsUntil, untilExample } from '../../shared/duration'
import { VkError } from '../../shared/errors'
import { formatLocal } from '../../shared/time'
import type { DurationPlan } from '../../shared/duration'
import { writeHuman, writeMachine, type CliIo } from './io'
import { nearestOption } from './did-you-mean'

type Options = NonNullable<ParseArgsConfig['options']>

/** node:util parseArgs in strict mode, with its errors turned into usage errors. */
export function parse<O extends Options>(command: string, args: string[], options: O, allowPositionals = true, numeric: readonly string[] = []) {
  const usage = (problem: string) => new VkError('usage', `vkey ${command}: ${problem} Run \`vkey help ${command}\` for its options and an example.`)
  let parsed
  try {
    parsed = parseArgs({ args, options, allowPositionals, strict: true as const, tokens: true as const })
  } catch (error) {
    throw usage(parseProblem(error as Error & { code?: string }, Object.keys(options), args, numeric))
  }
  const repeated = repeatedOption(parsed.tokens, options)
  if (repeated) throw usage(repeated)
  const { tokens: _tokens, ...rest } = parsed
  return rest
}

/** An option that takes one value (not a flag: `--json` twice is harmless) given twice (`--cardata a.json --cardata b.json`): which one was meant is not guessed. */
function repeatedOption(tokens: ReturnType<typeof parseArgs>['tokens'] & object, options: Options): string | undefined {
  const seen = new Map<string, string[]>()
  for (const token of tokens) {
    if (token.kind !== 'option' || options[token.name]?.type !== 'string' || options[token.name]?.multiple) continue
    const values = seen.get(token.name) ?? []
    values.push(token.value ?? '')
    seen.set(token.name, values)
  }
  for (const [name, values] of seen) {
    if (values.length < 2) continue
    const given = values.some(Boolean) ? ` (${values.map((v) => JSON.stringify(v)).join(', ')})` : ''
    return `--${name} was given ${values.length} times${given}; give it once.`
  }
  return undefined
}

/** An option a command does not have whose job another option of it does: what to write instead. */
const SAME_JOB: Record<string, { option: string; says: string }> = {
  qr: { option: 'out', says: '--out FOLDER (a QR file for each key, in that folder)' },
  out: { option: 'qr', says: '--qr FILE.png or FILE.svg (the QR file of this key)' },
}

/**
 * parseArgs' message, except where it speaks of parser internals (a value that starts with
 * "-"), and with the option meant when an unknown one is a likely typo (`--profle`).
 */
function parseProblem(error: Error & { code?: string }, known: readonly string[], args: readonly string[], numeric: readonly string[]): string {
  const option = /Option '([^' ]+)/.exec(error.message)?.[1]
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option && error.message.includes('ambiguous')) {
    // A negative number for a numeric option is refused as such, as the value's own check would (not sent round by --option=VALUE first).
    const value = args[args.indexOf(option) + 1]
    if (value && /^-\d/.test(value) && numeric.includes(option.replace(/^--/, '')))
      return `${option} ${JSON.stringify(value)} is negative: give a positive value.`
    return `${option} needs a value; one that starts with "-" is written ${option}=VALUE.`
  }
  const unknown = error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /option '([^']+)'/i.exec(error.message)?.[1] : undefined
  if (unknown) {
    const instead = SAME_JOB[unknown.replace(/^-+/, '')]
    const meant = instead && known.includes(instead.option) ? instead.says : nearestOption(unknown, known)
    // Not parseArgs' advice on positionals that start with "-": no CarData file or ID does.
    return `Unknown option '${unknown}'.${meant ? ` Did you mean ${meant}?` : ''}`
  }
  return `${error.message.replace(/\s+/g, ' ').replace(/\.$/, '')}.`
}

/** One line of human output on stdout, escaped for the terminal (see io.ts). */
export function write(io: CliIo, line = ''): void {
  writeHuman(io.stdout, line)
}

/** `--json` output on stdout, exact. */
export function writeJson(io: CliIo, json: string): void {
  writeMachine(io.stdout, json)
}

/** The window `vkey COMMAND` asks for, from --duration or --until; a problem is said as that command's. */
export function durationPlan(
  command: string,
  values: { duration?: string | undefined; until?: string | undefined },
  note?: (line: string) => void,
): DurationPlan {
  try {
    return planOf(values, note)
  } catch (error) {
    // shared/duration.ts speaks of the option (`--duration "abc" is not …`): the command is named here.
    if (error instanceof VkError) throw new VkError(error.code, `vkey ${command}: ${error.message}`, error.details, { cause: error })
    throw error
  }
}

/** How long a key must work, from --duration or --until (exactly one); `note` hears what --until 18:00 means here. */
function planOf(values: { duration?: string | undefined; until?: string | undefined }, note?: (line: string) => void): DurationPlan {
  if (values.duration !== undefined && values.until !== undefined)
    throw new VkError('usage', 'Give either --duration or --until, not both.', { field: '--duration' })
  if (values.duration !== undefined) return { kind: 'seconds', seconds: parseDuration(values.duration) }
  if (values.until !== undefined) {
    const until = resolveUntil(values.until, new Date())
    secondsUntil(until, new Date()) // refuse a past or malformed time before any file is read or request sent
    if (until !== values.until) note?.(`vkey: --until ${values.until} is ${formatLocal(until)}.`)
    return { kind: 'until', until }
  }
  const example = untilExample(new Date())
  throw new VkError(
    'usage',
    `Say how long the key must work: --duration 3600|90m|8h|2d, --until ${example.timeOfDay} (the next one here) or --until ${example.iso}.`,
    { field: '--duration' },
  )
}
