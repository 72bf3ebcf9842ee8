/**
 * Every `vkey` command's options, positionals, help text and example, in one table: the
 * commands parse with these options, `vkey help` / `vkey COMMAND --help` print from it,
 * and a test checks that every `vkey …` line a message or a document prints parses
 * against it (parseCommandLine below, the same parser the commands use). The numeric
 * options' ranges (NUMBERS) are checked here too, for every command, with one message.
 */
import type { ParseArgsConfig } from 'node:util'
import { untilExample } from '../../shared/duration'
import { EXIT, EXIT_MEANINGS, QUEUED_SENT_BY, VkError } from '../../shared/errors'
import { MAX_REQUEST_TIMEOUT_SECONDS, MIN_REQUEST_TIMEOUT_SECONDS } from '../../shared/profile'
import { parse } from './args'
import { nearest } from '../core/nearest'
import { shellWord } from './did-you-mean'

type Options = NonNullable<ParseArgsConfig['options']>

export interface CommandSpec {
  /** `profile add`, `token`, … */
  name: string
  /** The synopsis after `vkey `. */
  synopsis: string
  summary: string
  options: Options
  /** Positionals: how many (min, max) and, when fixed words, which. */
  positionals: { min: number; max: number; name?: string; oneOf?: readonly string[] }
  /** Lines to explain the options (shown by `vkey COMMAND --help`); a function for a line written from the clock. */
  details?: readonly (string | (() => string))[]
  /** A command line that works (shell syntax allowed around it). */
  example: string
}

const json = { json: { type: 'boolean' } } as const
const profile = { profile: { type: 'string' } } as const
const timing = { duration: { type: 'string' }, until: { type: 'string' } } as const
const TIMING_HELP = [
  '--duration 3600|90s|90m|8h|2d|1h30m   how long the key works (1 minute to 30 days)',
  // Written when the help is shown: the example is tomorrow's date, and the time zone is not read at every start.
  () => `--until 18:00 | ${untilExample(new Date()).iso}   when it stops: the next 18:00 on this clock, or an ISO date-time with its zone`,
] as const

/** Each command's options, as node:util parseArgs takes them. */
export const OPTIONS = {
  simulator: {
    port: { type: 'string' },
    dir: { type: 'string' },
    latency: { type: 'string' },
    host: { type: 'string' },
    'trust-client-ca': { type: 'string', multiple: true },
  },
  'profile add': {
    env: { type: 'string' },
    'client-id': { type: 'string' },
    login: { type: 'string' },
    'password-stdin': { type: 'boolean' },
    ca: { type: 'string' },
    default: { type: 'boolean' },
    timeout: { type: 'string' },
    replace: { type: 'boolean' },
  },
  'profile list': { ...json },
  'profile remove': {},
  'profile default': {},
  'cert import': { key: { type: 'string' }, 'passphrase-stdin': { type: 'boolean' }, ...profile },
  'cert show': { ...profile, ...json },
  'cert request': {
    ...profile,
    out: { type: 'string' },
    email: { type: 'string' },
    country: { type: 'string' },
    state: { type: 'string' },
    locality: { type: 'string' },
    org: { type: 'string' },
  },
  'cert renew': { ...profile, out: { type: 'string' } },
  token: { cardata: { type: 'string' }, vin: { type: 'string' }, ...timing, ...profile, qr: { type: 'string' }, new: { type: 'boolean' }, ...json },
  batch: { ...timing, concurrency: { type: 'string' }, out: { type: 'string' }, ...profile, ...json },
  list: { ...json, fleet: { type: 'boolean' } },
  show: { qr: { type: 'string' }, ...json },
  pack: { out: { type: 'string' }, 'all-valid': { type: 'boolean' } },
  audit: { csv: { type: 'string' }, fleet: { type: 'boolean' } },
  'fleet join': { laptop: { type: 'string' }, user: { type: 'string' }, 'password-stdin': { type: 'boolean' }, ca: { type: 'string' } },
  'fleet status': { ...json },
  'fleet sync': {},
  'fleet leave': { yes: { type: 'boolean' } },
  'fleet migrate': { user: { type: 'string' }, 'password-stdin': { type: 'boolean' }, ca: { type: 'string' } },
  'purge-expired': {},
  'handed-over': {},
  queue: { watch: { type: 'boolean' }, interval: { type: 'string' }, out: { type: 'string' }, ...json },
  'vault reset': { yes: { type: 'boolean' } },
  'vault rotate': {},
  'vault repair': {},
  'ledger check': { ...json },
  'ledger new': {},
  help: {},
  version: {},
} as const satisfies Record<string, Options>

/** The range of a numeric option; `whole`: an integer, else a decimal number such as 0.5. */
export interface NumberRange {
  min: number
  max: number
  whole: boolean
  /** What the number counts, for the message (seconds, milliseconds). */
  unit?: string
}

/** The numeric options of each command and their ranges: checked once, in parseFor and parseCommandLine. */
export const NUMBERS = {
  simulator: { port: { min: 0, max: 65535, whole: true }, latency: { min: 0, max: 60_000, whole: true, unit: 'milliseconds' } },
  'profile add': { timeout: { min: MIN_REQUEST_TIMEOUT_SECONDS, max: MAX_REQUEST_TIMEOUT_SECONDS, whole: true, unit: 'seconds' } },
  batch: { concurrency: { min: 1, max: 16, whole: true } },
  queue: { interval: { min: 0.1, max: 3600, whole: false, unit: 'seconds' } },
} as const satisfies { [N in keyof typeof OPTIONS]?: { [O in keyof (typeof OPTIONS)[N]]?: NumberRange } }

/** The options whose value is a number or a duration (a value starting with "-" is then a negative number). */
function numericOptions(command: string): string[] {
  return ['duration', ...Object.keys((NUMBERS as Record<string, object>)[command] ?? {})]
}

type Numbers<N> = N extends keyof typeof NUMBERS ? { [O in keyof (typeof NUMBERS)[N]]?: number } : Record<string, never>

/** The numeric options given, as numbers; a value that is not a number in its range is a usage error naming the option and the range. */
function numbersOf(command: string, values: Record<string, unknown>): Record<string, number> {
  const ranges: Record<string, NumberRange> = (NUMBERS as Record<string, Record<string, NumberRange>>)[command] ?? {}
  const numbers: Record<string, number> = {}
  for (const [option, range] of Object.entries(ranges)) {
    const text = values[option]
    if (typeof text !== 'string') continue
    const value = Number(text)
    const shape = range.whole ? /^\d+$/ : /^(\d+\.?\d*|\.\d+)$/
    if (!shape.test(text) || value < range.min || value > range.max) {
      const what = range.whole ? 'a whole number' : 'a number'
      throw new VkError(
        'usage',
        `vkey ${command}: --${option} must be ${what} from ${range.min} to ${range.max}${range.unit ? ` (${range.unit})` : ''}; got "${text}". Run \`vkey help ${command}\` for its options.`,
        { field: `--${option}` },
      )
    }
    numbers[option] = value
  }
  return numbers
}

const ENTRIES: ReadonlyArray<Omit<CommandSpec, 'options' | 'name'> & { name: keyof typeof OPTIONS }> = [
  {
    name: 'simulator',
    synopsis: 'simulator [--port N] [--host ADDRESS] [--dir FOLDER] [--latency MS] [--trust-client-ca CA.pem …]',
    summary: 'runs the PSA simulator (a real mutual-TLS server; default port 7443) until Ctrl-C',

    positionals: { min: 0, max: 0 },
    example: 'vkey simulator --port 7443',
  },
  {
    name: 'profile add',
    synopsis:
      'profile add NAME --env preprod|prod|simulator|https://… [--client-id ID --login LOGIN --password-stdin] [--ca CA.pem] [--timeout SECONDS] [--default] [--replace]',
    summary: 'adds or replaces a profile; the password only ever comes on standard input',

    positionals: { min: 1, max: 1, name: 'NAME' },
    details: [
      '--env simulator fills in the demo login, client id, password and certificate of the running simulator.',
      '--timeout SECONDS   the overall deadline of one request to PSA (default 30)',
      '--replace   needed to change an existing profile to another environment: drops its old certificate and secrets',
    ],
    example: 'printf %s "$PSA_PASSWORD" | vkey profile add depot --env preprod --client-id CLIENT_ID --login MZP123456 --password-stdin --default',
  },
  {
    name: 'profile list',
    synopsis: 'profile list [--json]',
    summary: 'lists the profiles (* marks the default)',
    positionals: { min: 0, max: 0 },
    example: 'vkey profile list',
  },
  {
    name: 'profile remove',
    synopsis: 'profile remove NAME',
    summary: 'removes a profile and its secrets',
    positionals: { min: 1, max: 1, name: 'NAME' },
    example: 'vkey profile remove old-depot',
  },
  {
    name: 'profile default',
    synopsis: 'profile default NAME',
    summary: 'makes NAME the profile used without --profile',
    positionals: { min: 1, max: 1, name: 'NAME' },
    example: 'vkey profile default depot',
  },
  {
    name: 'cert import',
    synopsis: 'cert import FILE [--key KEY.pem] [--passphrase-stdin] [--profile NAME]',
    summary: 'imports the partner certificate: .p12/.pfx, or a PEM certificate with --key',

    positionals: { min: 1, max: 1, name: 'FILE' },
    example: 'vkey cert import partner.p12 --passphrase-stdin --profile depot < passphrase.txt',
  },
  {
    name: 'cert request',
    synopsis: 'cert request [--profile NAME] --email ADDR --country CC --state ST --locality L --org O [--out CSR.pem]',
    summary: "makes the partner key (sealed here) and a CSR for Stellantis (CN = the profile's login, OU = Programs Partners)",
    positionals: { min: 0, max: 0 },
    details: ['Send the CSR to your Stellantis contact; import the signed answer with `vkey cert import FILE` (no --key). See docs/certificates.md.'],
    example: 'vkey cert request --email it@depot.example --country FR --state IDF --locality Paris --org "Depot SA" --out depot.csr',
  },
  {
    name: 'cert renew',
    synopsis: 'cert renew [--profile NAME] [--out CSR.pem]',
    summary: "a new key and CSR with the current certificate's subject",
    positionals: { min: 0, max: 0 },
    example: 'vkey cert renew --out renewal.csr',
  },
  {
    name: 'cert show',
    synopsis: 'cert show [--profile NAME] [--json]',
    summary: 'subject, issuer, serial, validity, days left, SHA-256',
    positionals: { min: 0, max: 0 },
    example: 'vkey cert show --profile depot',
  },
  {
    name: 'token',
    synopsis: 'token --cardata FILE|- [--vin VIN] (--duration D | --until T) [--profile NAME] [--qr OUT.png|OUT.svg] [--new] [--json]',
    summary: 'gets one key (reuses the live one when it covers the window); shown masked unless --json',

    positionals: { min: 0, max: 0 },
    details: [
      '--cardata FILE   the CarData JSON exported from the phone (docs/cardata.md); - reads standard input',
      ...TIMING_HELP,
      '--new            ask PSA for another key even when the live one covers the window (the old one stays valid until it expires)',
      `Offline: the request is queued (exit 6) and ${QUEUED_SENT_BY}; --qr is written then.`,
      'In a fleet (docs/fleet.md): when another laptop holds a live key that covers the window, nothing is sent and vkey exits 7',
      '  naming who holds it and until when; --new asks anyway and marks that key superseded fleet-wide.',
    ],
    example: 'vkey token --cardata car.json --duration 8h --qr car.png',
  },
  {
    name: 'batch',
    synopsis: 'batch FILE… (--duration D | --until T) [--concurrency N] [--out FOLDER] [--profile NAME] [--json]',
    summary: 'many tokens, with progress; run it again after a crash to resume',

    positionals: { min: 1, max: Infinity, name: 'FILE' },
    details: [
      ...TIMING_HELP,
      '--out FOLDER   writes one QR PNG per vehicle there, beside the requests. A folder whose disk',
      '               cannot hold them is refused before anything is sent, and checked again before',
      '               each request; one that fills up stops the sending, names every key left',
      '               without its file (exit 3), and the same command again writes them without',
      '               asking PSA again.',
      'In a fleet, vehicles another laptop holds are not sent: they count as failed, with who holds them (exit 7).',
    ],
    example: 'vkey batch exports/*.json --until 18:00 --out qr/',
  },
  { name: 'list', synopsis: 'list [--json] [--fleet]', summary: 'the handovers, newest first', positionals: { min: 0, max: 0 }, example: 'vkey list' },
  {
    name: 'show',
    synopsis: 'show ID [--qr OUT.png|OUT.svg] [--json]',
    summary: 'one handover (works offline); ID may be a unique prefix or the VIN',
    positionals: { min: 1, max: 1, name: 'ID' },
    example: 'vkey show ID --qr car.svg',
  },
  {
    name: 'pack',
    synopsis: 'pack (ID… | --all-valid) --out PACK.pdf',
    summary: 'a PDF, one page per vehicle: VIN, label, QR, local expiry (--all-valid: every valid key not yet handed over)',
    positionals: { min: 0, max: Infinity, name: 'ID' },
    example: 'vkey pack --all-valid --out handover-pack.pdf',
  },
  {
    name: 'audit',
    synopsis: 'audit --csv OUT.csv [--fleet]',
    summary: 'one CSV row per handover (local and UTC times, handover ID, outcome); no secrets',
    positionals: { min: 0, max: 0 },
    example: 'vkey audit --csv audit.csv',
  },
  {
    name: 'handed-over',
    synopsis: 'handed-over ID…',
    summary: 'marks keys as given to their drivers (ID may be a unique prefix or the VIN); pack --all-valid leaves them out',
    positionals: { min: 1, max: Infinity, name: 'ID' },
    example: 'vkey handed-over VF3MCYHZRKS123456',
  },
  {
    name: 'purge-expired',
    synopsis: 'purge-expired',
    summary: 'erases expired tokens (the records stay, marked expired)',
    positionals: { min: 0, max: 0 },
    example: 'vkey purge-expired',
  },
  {
    name: 'queue',
    synopsis: 'queue [list [--json] | flush [--out FOLDER] [--watch] [--interval S] | cancel ID…]',
    summary: 'the requests queued while offline: list them, send them once (--out: their QR files), or cancel some',
    positionals: { min: 0, max: Infinity, name: 'ID' },
    example: 'vkey queue flush --out qr/',
  },
  {
    name: 'fleet join',
    synopsis: 'fleet join postgres://HOST:PORT/DB --laptop NAME --user ROLE --password-stdin [--ca CA.pem]',
    summary: "shares this laptop's ledger facts (never keys) with the fleet's PostgreSQL (docs/fleet.md)",
    positionals: { min: 1, max: 1, name: 'URL' },
    example: 'printf %s "$FLEET_PASSWORD" | vkey fleet join postgres://fleet.example:5432/vkey --laptop DEPOT-1 --user depot1 --password-stdin',
  },
  {
    name: 'fleet status',
    synopsis: 'fleet status [--json]',
    summary: 'joined or not, last sync, entries waiting to be pushed',
    positionals: { min: 0, max: 0 },
    example: 'vkey fleet status',
  },
  {
    name: 'fleet sync',
    synopsis: 'fleet sync',
    summary: "pushes this laptop's entries and pulls the others'",
    positionals: { min: 0, max: 0 },
    example: 'vkey fleet sync',
  },
  {
    name: 'fleet leave',
    synopsis: 'fleet leave [--yes]',
    summary: 'stops sharing (the local ledger stays); --yes also while entries wait to be pushed',
    positionals: { min: 0, max: 0 },
    example: 'vkey fleet leave',
  },
  {
    name: 'fleet migrate',
    synopsis: 'fleet migrate postgres://HOST:PORT/DB --user OWNER --password-stdin [--ca CA.pem]',
    summary: "creates or updates the fleet schema (the database owner's step)",
    positionals: { min: 1, max: 1, name: 'URL' },
    example: 'printf %s "$OWNER_PASSWORD" | vkey fleet migrate postgres://fleet.example:5432/vkey --user vkey_owner --password-stdin',
  },
  {
    name: 'vault reset',
    synopsis: 'vault reset [--yes]',
    summary: 'after the vault key was lost from the keychain: start a new vault, keep the non-secret facts',
    positionals: { min: 0, max: 0 },
    example: 'vkey vault reset --yes',
  },
  {
    name: 'vault repair',
    synopsis: 'vault repair',
    summary: "vault.json damaged or gone: name again the keychain's key that opens this folder's sealed files",
    positionals: { min: 0, max: 0 },
    example: 'vkey vault repair',
  },
  {
    name: 'vault rotate',
    synopsis: 'vault rotate',
    summary: 'seal everything again under a new vault key',
    positionals: { min: 0, max: 0 },
    example: 'vkey vault rotate',
  },
  {
    name: 'ledger check',
    synopsis: 'ledger check [--json]',
    summary: 'reads the whole ledger (every page) and says whether it is whole, damaged or missing',
    positionals: { min: 0, max: 0 },
    example: 'vkey ledger check',
  },
  {
    name: 'ledger new',
    synopsis: 'ledger new',
    summary: 'a new, empty ledger in place of a damaged, empty or missing one (never over one that reads)',
    positionals: { min: 0, max: 0 },
    example: 'vkey ledger new',
  },
  { name: 'help', synopsis: 'help [COMMAND]', summary: 'this list, or one command in detail', positionals: { min: 0, max: 2 }, example: 'vkey help token' },
  { name: 'version', synopsis: 'version', summary: 'the version of VK Depot', positionals: { min: 0, max: 0 }, example: 'vkey version' },
]

export const COMMANDS: readonly CommandSpec[] = ENTRIES.map((entry) => ({ ...entry, options: OPTIONS[entry.name] }))

const GROUPS = new Set(COMMANDS.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0]!))

/** Spellings runCommand also answers: `vkey --version` is `vkey version`. */
const ALIASES: Readonly<Record<string, string>> = { '--version': 'version' }

/** The queue's subcommands: its first positional (`list` when none), not a command group of its own. */
export const QUEUE_SUBCOMMANDS: readonly string[] = ['list', 'flush', 'cancel']

/** What a group's help and usage errors end with when some of its work lives in other commands (the fleet's keys and audit). */
const SEE_ALSO: Readonly<Record<string, string>> = {
  fleet: "The fleet's keys and audit: `vkey list --fleet`, `vkey audit --fleet --csv OUT.csv`.",
}

/** The commands a group's SEE_ALSO line names (`list --fleet`, …), read from its code spans. */
function seeAlsoCommands(group: string): string[] {
  return [...(SEE_ALSO[group] ?? '').matchAll(/`vkey ([^`]+)`/g)].map((m) => m[1]!)
}

function subcommandsOf(word: string): readonly string[] {
  return word === 'queue' ? QUEUE_SUBCOMMANDS : COMMANDS.filter((c) => c.name.startsWith(`${word} `)).map((c) => c.name.slice(word.length + 1))
}

/**
 * The usage error for a command line that names no command, one wording for all of them:
 * an unknown command, a group (`profile`, `cert`, `fleet`, `vault`) or the queue without its
 * subcommand or with an unknown one. A likely typo gets the command meant, as the user would
 * type it (`vkey help token` after `vkey help tokens`, `vkey profile add` after `vkey profle
 * add`); the next step is always the help.
 */
export function unknownCommand(argv: readonly string[], options: { help?: boolean } = {}): VkError {
  const [given = '', sub] = argv
  const first = ALIASES[given] ?? given
  const subs = subcommandsOf(first)
  // The line printed back: what was typed after the word corrected, or after `vkey help` the command alone.
  const didYouMean = (words: readonly string[]) => ` Did you mean "${[options.help ? 'vkey help' : 'vkey', ...words.map(shellWord)].join(' ')}"?`
  if (!subs.length) {
    const near = nearest(first, [...new Set(COMMANDS.map((c) => c.name.split(' ')[0]!))])
    const helpSub = near !== undefined && sub !== undefined && subcommandsOf(near).includes(sub) ? [sub] : []
    const rest = options.help ? helpSub : argv.slice(1)
    return new VkError('usage', `Unknown command "${first}".${near ? didYouMean([near, ...rest]) : ''} Run \`vkey help\` for the list of commands.`)
  }
  const choices = `${subs.slice(0, -1).join(', ')} or ${subs.at(-1)}`
  const asked = sub !== undefined && !sub.startsWith('-') ? sub : undefined
  const elsewhere = asked && seeAlsoCommands(first).find((c) => c.split(' ')[0] === asked)
  const near = asked && nearest(asked, subs)
  const meant = elsewhere ? elsewhere.split(' ') : near ? [first, near, ...(options.help ? [] : argv.slice(2))] : undefined
  const what = asked === undefined ? `say which: ${choices}.` : `no subcommand "${asked}" (${choices}).`
  const help = first === 'queue' ? 'shows its options and an example' : 'shows each with an example'
  const also = SEE_ALSO[first]
  return new VkError('usage', `vkey ${first}: ${what}${meant ? didYouMean(meant) : ''} \`vkey help ${first}\` ${help}.${also ? ` ${also}` : ''}`)
}

/** The spec for `argv` (`['profile', 'add', …]` → profile add) and the arguments after its name. */
export function findCommand(argv: readonly string[]): { spec: CommandSpec; rest: string[] } | undefined {
  const [given, second] = argv
  const first = given === undefined ? undefined : (ALIASES[given] ?? given)
  if (first !== undefined && GROUPS.has(first)) {
    const spec = COMMANDS.find((c) => c.name === `${first} ${second ?? ''}`)
    return spec ? { spec, rest: argv.slice(2) } : undefined
  }
  const spec = COMMANDS.find((c) => c.name === first)
  return spec ? { spec, rest: argv.slice(1) } : undefined
}

export function commandSpec(name: string): CommandSpec {
  const spec = COMMANDS.find((c) => c.name === name)
  if (!spec) throw new Error(`no vkey command spec "${name}"`)
  return spec
}

/**
 * Parses a command's arguments with its options from the table (strict: unknown options are
 * refused); `numbers` holds its numeric options, checked against their ranges (NUMBERS).
 */
export function parseFor<N extends keyof typeof OPTIONS>(name: N, args: string[]) {
  const parsed = parse(name, args, OPTIONS[name] as (typeof OPTIONS)[N], commandSpec(name).positionals.max > 0, numericOptions(name))
  return { ...parsed, numbers: numbersOf(name, parsed.values) as Numbers<N> }
}

/**
 * Checks a whole `vkey` command line as the commands will: the command exists, its
 * options parse, and it has the right number of positionals. Throws the usage error a
 * user would see.
 */
export function parseCommandLine(argv: readonly string[]): { spec: CommandSpec; values: Record<string, unknown>; positionals: string[] } {
  const found = findCommand(argv)
  if (!found) throw unknownCommand(argv)
  const { spec, rest } = found
  if (rest.some((a) => a === '--help' || a === '-h')) return { spec, values: { help: true }, positionals: [] } // answered by the help, like runCommand does
  const { values, positionals } = parse(spec.name, rest, spec.options, spec.positionals.max > 0, numericOptions(spec.name))
  numbersOf(spec.name, values)
  const { min, max, name, oneOf } = spec.positionals
  if (positionals.length < min || positionals.length > max) {
    throw new VkError(
      'usage',
      `vkey ${spec.name}: ${max === 0 ? 'takes no arguments besides its options' : `give ${min === max ? `exactly ${min}` : `at least ${min}`} ${name ?? 'argument'}`}. Usage: vkey ${spec.synopsis}`,
    )
  }
  if (oneOf && positionals.some((p) => !oneOf.includes(p))) throw new VkError('usage', `vkey ${spec.name}: use one of ${oneOf.join(', ')}.`)
  return { spec, values, positionals }
}

export function commandHelp(spec: CommandSpec): string {
  const lines = [`vkey ${spec.synopsis}`, '', `  ${spec.summary}.`]
  if (spec.details?.length) lines.push('', ...spec.details.map((d) => `  ${typeof d === 'function' ? d() : d}`))
  lines.push('', 'Example:', `  ${spec.example}`, '')
  return lines.join('\n')
}

export function overviewHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length))
  return [
    'vkey — VK Depot command line: PSA virtual-key tokens for depot handovers',
    '',
    ...COMMANDS.map((c) => `  vkey ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Try it without partner credentials:',
    '  vkey simulator &',
    '  vkey profile add sim --env simulator --default',
    '  vkey token --cardata car.json --duration 2h --qr car.png',
    '',
    '`vkey help COMMAND` (or --help after any command, e.g. `vkey token --help`) shows its options and an example.',
    'Data folder: VKEY_HOME, or the folder the desktop app uses.',
    '',
    'Exit codes:',
    ...exitCodeLines(),
    '',
  ].join('\n')
}

/** One line per exit status, from the one table in shared/errors.ts. */
export function exitCodeLines(): string[] {
  return (Object.keys(EXIT) as (keyof typeof EXIT)[]).map((name) => `  ${String(EXIT[name]).padStart(3)}  ${EXIT_MEANINGS[name]}`)
}

/** `vkey help [COMMAND…]`: the overview, or the matching command(s) (`help profile` shows all four). */
export function helpText(words: readonly string[]): string {
  if (!words.length) return overviewHelp()
  const exact = findCommand(words)
  if (exact) return commandHelp(exact.spec)
  const group = COMMANDS.filter((c) => c.name.split(' ')[0] === words[0])
  const also = SEE_ALSO[words[0] ?? '']
  if (group.length) return group.map(commandHelp).join('\n') + (also ? `\n${also}\n` : '')
  throw unknownCommand(words, { help: true })
}
