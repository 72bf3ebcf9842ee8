/**
 * The `vkey` command line's own rules, checked without a data folder: every numeric
 * option refuses a value that is not a number in its range, with one message naming the
 * option and the range (exit 2), before anything is read or opened; every exit status is
 * in `vkey --help` and in the README; a secret read from standard input is refused clearly
 * when it cannot be read or is too large, and its bytes are zeroed once read.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { test } from 'node:test'
import { findCommand, NUMBERS, parseCommandLine, QUEUE_SUBCOMMANDS, type NumberRange } from '../../electron/cli/spec'
import { readSecretLine, type CliIo } from '../../electron/cli/io'
import { wipeAfter } from '../../electron/core/secret-bytes'
import { runCli } from '../../electron/cli/run'
import { EXIT, EXIT_MEANINGS } from '../../shared/errors'
import { ROOT, vkey } from '../helpers/depot-env'

/** Nothing here may touch a data folder: one that cannot exist. */
const env = { ...process.env, VKEY_HOME: '/nonexistent-vkey-home' }

/** The smallest command line around an option (`--option=VALUE`, so that -1 reads as a value). */
function commandLine(command: string, option: string, value: string): string[] {
  const words = command.split(' ')
  const given = `--${option}=${value}`
  if (command === 'profile add') return [...words, 'depot', '--env', 'simulator', given]
  if (command === 'batch') return [...words, 'car.json', '--duration', '1h', given]
  if (command === 'queue') return [...words, 'flush', '--watch', given]
  return [...words, given]
}

function badValues(range: NumberRange): string[] {
  const below = range.whole ? String(range.min - 1) : String(range.min / 2)
  return ['abc', '', below, String(range.max + 1), '1e3', '-1', ...(range.whole ? ['1.5'] : []), 'Infinity', '0x10']
}

test('every numeric option refuses a value that is not a number in its range, naming the option and the range, with exit 2', async () => {
  const checked: string[] = []
  for (const [command, options] of Object.entries(NUMBERS) as [string, Record<string, NumberRange>][]) {
    for (const [option, range] of Object.entries(options)) {
      for (const value of badValues(range)) {
        const argv = commandLine(command, option, value)
        const started = Date.now()
        const result = await vkey(argv, env)
        const what = `vkey ${argv.join(' ')}`
        assert.equal(result.code, 2, `${what}: ${result.stderr}`)
        assert.ok(Date.now() - started < 5_000, `${what} answers at once`)
        assert.ok(
          result.stderr.includes(`vkey ${command}: --${option} must be ${range.whole ? 'a whole number' : 'a number'} from ${range.min} to ${range.max}`),
          `${what}: ${result.stderr}`,
        )
        assert.ok(result.stderr.includes(`got "${value}"`), `${what}: ${result.stderr}`)
        assert.equal(result.stderr.trim().split('\n').length, 1, `${what}: one line`)
        assert.equal(result.stdout, '')
        // The checker of suggested commands refuses it the same way.
        assert.throws(() => parseCommandLine(argv), new RegExp(`--${option} must be`), what)
      }
      checked.push(`${command} --${option}`)
    }
  }
  assert.deepEqual(checked.sort(), ['batch --concurrency', 'profile add --timeout', 'queue --interval', 'simulator --latency', 'simulator --port'])
})

test('vkey queue flush --watch --interval abc stops at once with exit 2 instead of looping', async () => {
  const result = await vkey(['queue', 'flush', '--watch', '--interval', 'abc'], env)
  assert.equal(result.code, 2)
  assert.match(result.stderr, /^vkey queue: --interval must be a number from 0\.1 to 3600 \(seconds\); got "abc"\. Run `vkey help queue` for its options\.\n$/)
})

test('a mistyped command, subcommand or option names the one meant, the line as it would be typed; every group without its subcommand lists them; exit 2, one prefix', async () => {
  // [command line, what stderr says, the suggestion ("Did you mean …"), or undefined when nothing is close]
  const cases: Array<[string[], RegExp, string | undefined]> = [
    [
      ['tokn', '--cardata', 'car.json'],
      /^vkey: Unknown command "tokn"\. Did you mean "vkey token --cardata car\.json"\? Run `vkey help` for the list of commands\.\n$/,
      'token --cardata car.json',
    ],
    [['lst'], /^vkey: Unknown command "lst"\./, 'list'],
    // Asked for help: the help of the command meant.
    [['help', 'tokens'], /^vkey: Unknown command "tokens"\./, 'help token'],
    [['tokens', '--help'], /^vkey: Unknown command "tokens"\./, 'help token'],
    // A mistyped group keeps the subcommand typed after it.
    [['profle', 'add', 'depot'], /^vkey: Unknown command "profle"\./, 'profile add depot'],
    [['profile', 'ad', 'depot'], /^vkey profile: no subcommand "ad" \(add, list, remove or default\)\. .* `vkey help profile` shows each/, 'profile add depot'],
    [['fleet', 'stat'], /^vkey fleet: no subcommand "stat" \(join, status, sync, leave or migrate\)\./, 'fleet status'],
    // Two neighbouring letters swapped (two edits for Levenshtein).
    [['fleet', 'jion'], /^vkey fleet: no subcommand "jion" /, 'fleet join'],
    [['tokne', '--cardata', 'car.json'], /^vkey: Unknown command "tokne"\./, 'token --cardata car.json'],
    // The fleet's keys live in `list --fleet`: the group says so.
    [
      ['fleet', 'list'],
      /`vkey help fleet` shows each with an example\. The fleet's keys and audit: `vkey list --fleet`, `vkey audit --fleet --csv OUT\.csv`\.\n$/,
      'list --fleet',
    ],
    [
      ['queue', 'flsh'],
      /^vkey queue: no subcommand "flsh" \(list, flush or cancel\)\. .* `vkey help queue` shows its options and an example\.\n$/,
      'queue flush',
    ],
    [['cert'], /^vkey cert: say which: import, request, renew or show\. `vkey help cert` shows each with an example\.\n$/, undefined],
    [['vault', '--yes'], /^vkey vault: say which: reset, repair or rotate\./, undefined],
    [['xyzzy'], /^vkey: Unknown command "xyzzy"\. Run `vkey help` for the list of commands\.\n$/, undefined],
    // A mistyped option: the option meant.
    [
      ['token', '--cardata', 'car.json', '--profle', 'sim'],
      /^vkey token: Unknown option '--profle'\. Did you mean --profile\? Run `vkey help token`/,
      undefined,
    ],
    // An option of another command whose job this one does with its own: the one to write here.
    [
      ['batch', 'car.json', '--duration', '1h', '--qr', 'car.png'],
      /^vkey batch: Unknown option '--qr'\. Did you mean --out FOLDER \(a QR file for each key, in that folder\)\? Run `vkey help batch` for its options and an example\.\n$/,
      undefined,
    ],
    [
      ['token', '--cardata', 'car.json', '--duration', '1h', '--out', 'qr'],
      /^vkey token: Unknown option '--out'\. Did you mean --qr FILE\.png or FILE\.svg/,
      undefined,
    ],
    // Nothing close: the option alone, not the parser's advice on positionals that start with "-".
    [['list', '--frobnicate'], /^vkey list: Unknown option '--frobnicate'\. Run `vkey help list` for its options and an example\.\n$/, undefined],
    // One value given twice: which one was meant is not guessed.
    [
      ['token', '--cardata', 'a.json', '--cardata', 'b.json', '--duration', '1h'],
      /^vkey token: --cardata was given 2 times \("a\.json", "b\.json"\); give it once\. Run `vkey help token`/,
      undefined,
    ],
    // A line printed back is quoted where a shell needs it.
    [['tokn', '--cardata', 'my car.json'], /Did you mean "vkey token --cardata 'my car\.json'"\?/, "token --cardata 'my car.json'"],
  ]
  for (const [argv, expected, meant] of cases) {
    const what = argv.join(' ')
    const result = await withStdin(argv, Readable.from([]))
    assert.equal(result.code, 2, what)
    assert.match(result.stderr, expected, what)
    assert.doesNotMatch(result.stderr, /vkey: vkey /, 'the command is named once')
    const suggested = /Did you mean "vkey ([^"]+)"/.exec(result.stderr)?.[1]
    assert.equal(suggested, meant, what)
    if (suggested) {
      // What it suggests is a real command (or its help), and the queue's subcommand is one the queue has.
      const words = suggested.split(' ')
      const command = words[0] === 'help' ? words.slice(1) : words
      assert.ok(findCommand(command), `${what}: "${suggested}" names a command`)
      if (command[0] === 'queue') assert.ok(QUEUE_SUBCOMMANDS.includes(command[1] ?? ''), suggested)
    }
    // The help it points to exists: `vkey help X` prints it (exit 0).
    for (const [, help] of result.stderr.matchAll(/`vkey help ([^`]+)`/g)) {
      const shown = await withStdin(['help', ...help!.split(' ')], Readable.from([]))
      assert.equal(shown.code, 0, `vkey help ${help}`)
    }
  }
})

test('numbers in range parse as the commands read them', () => {
  for (const argv of [
    ['queue', 'flush', '--watch', '--interval', '0.1'],
    ['queue', 'flush', '--interval', '3600'],
    ['queue', 'flush', '--interval', '.5'],
    ['batch', 'car.json', '--duration', '1h', '--concurrency', '16'],
    ['simulator', '--port', '0'],
    ['simulator', '--latency', '60000'],
    ['profile', 'add', 'depot', '--env', 'simulator', '--timeout', '300'],
  ]) {
    assert.doesNotThrow(() => parseCommandLine(argv), argv.join(' '))
  }
})

test('vkey --help lists every exit status with its meaning, 130 (interrupted) included; the README lists the same codes', async () => {
  const help = await vkey(['--help'], env)
  assert.equal(help.code, 0)
  const block = help.stdout.slice(help.stdout.indexOf('Exit codes:'))
  for (const name of Object.keys(EXIT) as (keyof typeof EXIT)[]) {
    assert.ok(block.includes(`${String(EXIT[name]).padStart(3)}  ${EXIT_MEANINGS[name]}`), `vkey --help explains exit ${EXIT[name]}:\n${block}`)
  }
  assert.match(block, /^ {2}130 {2}interrupted: the first Ctrl-C or SIGTERM cancels/m)
  assert.equal((await vkey(['help'], env)).stdout, help.stdout)

  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const cliSection = readme.slice(readme.indexOf('## The command line'), readme.indexOf('\n## ', readme.indexOf('## The command line') + 1))
  const documented = [...cliSection.matchAll(/^\| `(\d+)`\s*\| (.*?)\s*\|$/gm)].map((m) => [Number(m[1]), m[2]])
  assert.deepEqual(
    documented,
    (Object.keys(EXIT) as (keyof typeof EXIT)[]).map((name) => [EXIT[name], EXIT_MEANINGS[name]]),
    "the README's exit-code table lists every code, in order, in the words of `vkey help`",
  )
})

/** Runs `vkey` in this process with a stdin of our own. */
async function withStdin(args: string[], stdin: Readable): Promise<{ code: number; stderr: string }> {
  const stderr = new PassThrough()
  let text = ''
  stderr.on('data', (c: Buffer) => (text += c.toString('utf8')))
  const io: CliIo = { stdout: new PassThrough(), stderr, stdin, env, isTty: false }
  return { code: await runCli(args, io), stderr: text }
}

test('standard input that cannot be read or holds too much is a clear error naming the option, not an internal error', async () => {
  const broken = new Readable({
    read() {
      this.destroy(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }))
    },
  })
  const unreadable = await withStdin(['profile', 'add', 'depot', '--env', 'preprod', '--client-id', 'C1', '--login', 'MZP000001', '--password-stdin'], broken)
  assert.equal(unreadable.code, 2, unreadable.stderr)
  assert.match(
    unreadable.stderr,
    /^vkey: --password-stdin: standard input could not be read \(EIO\): pipe it in \(`printf %s "\$SECRET" \|` before the command\) or read it from a file \(`< secret-file` after it\)\.\n$/,
  )

  const huge = await withStdin(
    ['fleet', 'join', 'postgres://fleet.example:5432/vkey', '--laptop', 'DEPOT-1', '--user', 'depot1', '--password-stdin'],
    Readable.from([Buffer.alloc(70 * 1024, 'x')]),
  )
  assert.equal(huge.code, 2, huge.stderr)
  assert.match(huge.stderr, /^vkey: --password-stdin reads one line from standard input, which holds more than 64 KiB here/)
  for (const result of [unreadable, huge]) assert.doesNotMatch(result.stderr, /unexpected internal error/)
})

test('a secret read from standard input is zeroed in memory once read; held buffers are zeroed when the work fails too', async () => {
  const chunk = Buffer.from('s3cret-passphrase\n')
  assert.equal(await readSecretLine(Readable.from([chunk]), '--passphrase-stdin'), 's3cret-passphrase')
  assert.ok(
    chunk.every((b) => b === 0),
    'the bytes read are zeroed',
  )

  const held = Buffer.from('-----BEGIN PRIVATE KEY-----')
  await assert.rejects(
    wipeAfter(async (hold) => {
      hold(held)
      throw new Error('import failed')
    }),
    /import failed/,
  )
  assert.ok(
    held.every((b) => b === 0),
    'zeroed although the import failed',
  )
})

test('vkey profile add with an unknown --env says so first, before asking for the password', async () => {
  const result = await withStdin(['profile', 'add', 'depot', '--env', 'nowhere'], Readable.from([]))
  assert.equal(result.code, 2)
  assert.match(
    result.stderr,
    /^vkey: --env "nowhere" is not known: use preprod, prod, simulator \(while the simulator runs\) or an https URL ending in \/connectedcar\/v3\.\n$/,
  )
})
