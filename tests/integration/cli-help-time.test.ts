/**
 * The technician's first day on the command line: help for every command, the
 * simulator's "Next:" line run exactly as printed, one clock for the CLI, the pack and
 * the audit (Europe/Paris and another zone; JSON stays ISO UTC), the audit's handover
 * ID, and a batch's progress line and summary with the same words and counts.
 * Real binary (scripts/vkey.mjs), real simulator over mutual TLS, real keychain.
 */
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { COMMANDS } from '../../electron/cli/spec'
import { formatLocal } from '../../shared/time'
import { carDataJson, ROOT, setupDepot, tempFolder, vinFor, vkey, vkeyProcess } from '../helpers/depot-env'
import { seedSimulatorDir } from '../helpers/sim-material'

const run = promisify(execFile)

test('vkey help lists every command; vkey help COMMAND and vkey COMMAND --help show its options and an example', async () => {
  const env = { ...process.env, VKEY_HOME: '/nonexistent-vkey-home' } // help never touches the data folder
  const overview = await vkey(['help'], env)
  assert.equal(overview.code, 0)
  for (const spec of COMMANDS) {
    assert.match(overview.stdout, new RegExp(`^  vkey ${spec.name} `, 'm'), `vkey help lists ${spec.name}`)
    const words = spec.name.split(' ')
    const viaHelp = await vkey(['help', ...words], env)
    const viaFlag = await vkey([...words, '--help'], env)
    assert.equal(viaHelp.code, 0, viaHelp.stderr)
    assert.equal(viaFlag.code, 0, `vkey ${spec.name} --help: ${viaFlag.stderr}`)
    assert.equal(viaFlag.stdout, viaHelp.stdout)
    assert.match(viaHelp.stdout, new RegExp(`^vkey ${spec.name.replace(/[-]/g, '\\-')}`))
    assert.match(viaHelp.stdout, /\nExample:\n {2}.*vkey /)
    assert.ok(viaHelp.stdout.includes(spec.example))
  }
  // Options after --help do not matter, and -h works too; a wrong option still names the help.
  assert.equal((await vkey(['token', '--cardata', 'x.json', '-h'], env)).code, 0)
  const wrong = await vkey(['token', '--cert', 'x'], env)
  assert.equal(wrong.code, 2)
  assert.match(wrong.stderr, /Unknown option '--cert'.*`vkey help token`/)
  // A value that starts with "-": said in the user's words, not the parser's; a negative number is said to be one.
  const dashed = await vkey(['token', '--cardata', 'x.json', '--duration', '-x'], env)
  assert.equal(dashed.code, 2)
  assert.match(dashed.stderr, /--duration needs a value; one that starts with "-" is written --duration=VALUE\./)
  assert.doesNotMatch(dashed.stderr, /ambiguous/)
  const negative = await vkey(['token', '--cardata', 'x.json', '--duration', '-5h'], env)
  assert.equal(negative.code, 2)
  assert.match(negative.stderr, /vkey token: --duration "-5h" is negative: give a positive value\./)
  const textValue = await vkey(['batch', 'x.json', '--duration', '1h', '--out', '-2024'], env)
  assert.match(textValue.stderr, /--out needs a value; one that starts with "-" is written --out=VALUE\./, 'not a number: no word of negative')
  const unitless = await vkey(['token', '--cardata', 'x.json', '--duration', '8'], env)
  assert.equal(unitless.code, 2)
  assert.match(unitless.stderr, /--duration "8" has no unit, so it would be 8 seconds: write 8h for hours/)
  const unknown = await vkey(['help', 'tokens'], env)
  assert.equal(unknown.code, 2)
  assert.match(unknown.stderr, /Unknown command "tokens"\. Did you mean "vkey help token"\?/)
  // `vkey --version`, as most tools spell it, is `vkey version`.
  const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  for (const spelling of ['version', '--version']) {
    const shown = await vkey([spelling], env)
    assert.deepEqual([shown.code, shown.stdout], [0, `${version}\n`], `vkey ${spelling}`)
  }
})

test("the simulator's Next: line, run exactly as printed, sets up a profile that gets a token", async (t) => {
  const root = await tempFolder(t)
  const env = { ...process.env, VKEY_HOME: join(root, 'home') }
  const simDir = await seedSimulatorDir(join(root, 'sim'))
  const simulator = spawn(process.execPath, [join(ROOT, 'scripts/vkey.mjs'), 'simulator', '--dir', simDir, '--port', '0'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.after(() => simulator.kill('SIGTERM'))
  let banner = ''
  simulator.stdout.setEncoding('utf8')
  while (!banner.includes('Ctrl-C')) banner += ((await once(simulator.stdout, 'data')) as [string])[0]
  const next = /^Next: (vkey .*)$/m.exec(banner)?.[1]
  assert.ok(next, banner)
  assert.doesNotMatch(next, /cert import|&&/, 'nothing left to do by hand after profile add --env simulator')
  const added = await vkeyProcess(next.split(' ').slice(1), env)
  assert.equal(added.code, 0, added.stderr)
  assert.match(added.stdout, /demo partner certificate was imported/)
  const car = join(root, 'car.json')
  await writeFile(car, carDataJson(vinFor(71)))
  const token = await vkeyProcess(['token', '--cardata', car, '--duration', '1h'], env)
  assert.equal(token.code, 0, token.stderr)
})

test('one clock: with TZ=Europe/Paris and TZ=America/New_York, vkey, the pack and the audit show the same local expiry with its zone; JSON stays ISO UTC', async (t) => {
  const { env, dataDir } = await setupDepot(t)
  const out = join(dataDir, '..', 'out')
  await mkdir(out)
  for (const [index, zone] of ['Europe/Paris', 'America/New_York'].entries()) {
    // A car for each zone: one car's key from Paris (to 18:00 there) could cover New York's
    // 18:00 too, and would rightly be reused instead of a new one.
    const car = join(out, `car-${index}.json`)
    await writeFile(car, carDataJson(vinFor(72 + index), { label: 'Clio AB-123-CD' }))
    const zoned = { ...env, TZ: zone }
    // A whole hour two hours ahead there: a fixed 18:00 is under a minute away one minute a day, and then refused.
    const hour = (Number(new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', hourCycle: 'h23' }).format(new Date())) + 2) % 24
    const at = `${String(hour).padStart(2, '0')}:00`
    const human = await vkeyProcess(['token', '--cardata', car, '--until', at], zoned)
    assert.equal(human.code, 0, human.stderr)
    // --until HH:00 is printed back with its date and zone, and the key ends then.
    const echoed = new RegExp(`--until ${at} is (\\w{3} \\d{4}-\\d{2}-\\d{2} ${at}:00 [A-Z]+ \\(UTC[+-]\\d{2}:\\d{2}\\))\\.`).exec(human.stderr)
    assert.ok(echoed, human.stderr)
    const expiresLine = /expires: {2}(.*) \(in /.exec(human.stdout)?.[1]
    // PSA counts the seconds from its own clock, a moment after ours: HH:00:00 to HH:00:0x.
    assert.ok(expiresLine, human.stdout)
    assert.equal(expiresLine.replace(new RegExp(`${at}:0\\d`), `${at}:00`), echoed[1], 'the token ends at the time the user was told')
    const id = /handover (\S+)\)/.exec(human.stdout)?.[1]
    assert.ok(id)

    const list = JSON.parse((await vkeyProcess(['list', '--json'], zoned)).stdout) as { id: string; expires: string }[]
    const record = list.find((r) => r.id === id)!
    assert.match(record.expires, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/, 'JSON is ISO UTC')
    assert.equal(formatLocal(record.expires, zone), expiresLine)

    const pack = join(out, `pack-${zone.replace('/', '-')}.pdf`)
    assert.equal((await vkeyProcess(['pack', id, '--out', pack], zoned)).code, 0)
    const { stdout: pdfText } = await run('pdftotext', [pack, '-'])
    assert.ok(pdfText.includes(`Valid until: ${expiresLine}`), `the pack says ${expiresLine}:\n${pdfText}`)

    const csvPath = join(out, `audit-${zone.replace('/', '-')}.csv`)
    assert.equal((await vkeyProcess(['audit', '--csv', csvPath], zoned)).code, 0)
    const [header, ...rows] = (await readFile(csvPath, 'utf8'))
      .trim()
      .split('\r\n')
      .map((line) => line.split(','))
    const column = (name: string) => header!.indexOf(name)
    const row = rows.find((r) => r[column('handover_id')] === id)
    assert.ok(row, 'the audit has the handover ID')
    assert.equal(row[column('expires')], record.expires, 'machine column: ISO UTC')
    assert.equal(row[column('expires_local')], expiresLine, 'human column: the same text as vkey and the pack')
    assert.equal(row[column('time_local')], formatLocal(row[column('time')]!, zone))
  }
})

test('a batch run twice: the progress line and the summary use the same words and counts', async (t) => {
  const { env, dataDir } = await setupDepot(t)
  const folder = join(dataDir, '..', 'cars')
  await mkdir(folder)
  const files: string[] = []
  for (let i = 0; i < 3; i += 1) {
    files.push(join(folder, `car-${i}.json`))
    await writeFile(files[i]!, carDataJson(vinFor(80 + i)))
  }
  files.push(join(folder, 'broken.json'))
  await writeFile(files[3]!, '{"vin": ')
  const words = (issued: number, reused: number, failed: number) => `${issued} issued, 0 renewed, ${reused} reused, 0 queued, ${failed} failed`
  const first = await vkey(['batch', ...files, '--duration', '2h'], env)
  const again = await vkey(['batch', ...files, '--duration', '2h'], env)
  for (const [result, expected] of [
    [first, words(3, 0, 1)],
    [again, words(0, 3, 1)],
  ] as const) {
    const progress = result.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('vkey batch:'))
      .at(-1)
    assert.equal(progress, `vkey batch: 4/4 (100 %): ${expected}`)
    assert.match(result.stdout, new RegExp(`^Batch \\S+: ${expected}\\.$`, 'm'))
  }
})
