/**
 * The `vkey` command line end to end: the real binary (scripts/vkey.mjs), the real
 * simulator over mutual TLS, the real keychain. The first test is the "done
 * when" flow, word for word.
 */
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { once } from 'node:events'
import { promisify } from 'node:util'
import { test } from 'node:test'
import { parseHandoverPayload } from '../../shared/qr-payload'
import { formatLocal } from '../../shared/time'
import { startSimulator, verifyTokenSignature } from '../../electron/core/simulator'
import { registerSimulator } from '../../electron/core/simulator-registration'
import { carDataJson, escapeRe, findSecretsInClear, ROOT, setupDepot, tempFolder, vinFor, vkey, vkeyProcess } from '../helpers/depot-env'

const run = promisify(execFile)

test('simulator, profile add, cert import and token --qr --json work from a shell, and the QR decodes to the token', async (t) => {
  const root = await tempFolder(t)
  const env = { ...process.env, VKEY_HOME: join(root, 'home') }
  const simDir = join(root, 'sim')
  // vkey simulator --dir D &   (port 0: any free port; it prints the URL it listens on)
  const simulator = spawn(process.execPath, [join(ROOT, 'scripts/vkey.mjs'), 'simulator', '--dir', simDir, '--port', '0'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.after(() => simulator.kill('SIGTERM'))
  let banner = ''
  simulator.stdout.setEncoding('utf8')
  while (!banner.includes('Ctrl-C')) {
    const [chunk] = (await once(simulator.stdout, 'data')) as [string]
    banner += chunk
  }
  assert.match(banner, /PSA simulator listening on https:\/\/localhost:\d+\/connectedcar\/v3/)
  const demo = JSON.parse(await readFile(join(simDir, 'demo-credentials.json'), 'utf8')) as {
    login: string
    password: string
    clientId: string
    p12Passphrase: string
  }

  const added = await vkeyProcess(
    ['profile', 'add', 'depot', '--env', 'simulator', '--client-id', demo.clientId, '--login', demo.login, '--password-stdin', '--default'],
    env,
    `${demo.password}\n`,
  )
  assert.equal(added.code, 0, added.stderr)
  assert.match(added.stdout, /Profile "depot" saved/)

  const imported = await vkeyProcess(['cert', 'import', join(simDir, 'partner.p12'), '--passphrase-stdin'], env, `${demo.p12Passphrase}\n`)
  assert.equal(imported.code, 0, imported.stderr)
  assert.match(imported.stdout, new RegExp(`CN=${demo.login}`))

  const cardata = join(root, 'car.json')
  await writeFile(cardata, carDataJson(vinFor(1)))
  const qr = join(root, 'q.png')
  const token = await vkeyProcess(['token', '--cardata', cardata, '--duration', '2h', '--qr', qr, '--json'], env)
  assert.equal(token.code, 0, token.stderr)
  const answer = JSON.parse(token.stdout) as {
    vin: string
    access_token: string
    token_type: string
    expires: string
    expires_in: number
    token_signature: string
    qr: string
  }
  assert.equal(answer.vin, vinFor(1))
  assert.equal(answer.expires_in, 7200)
  assert.equal(typeof answer.expires_in, 'number')
  assert.ok(Math.abs(Date.parse(answer.expires) - Date.now() - 7200_000) < 60_000, 'expires is about two hours from now')
  assert.equal(answer.qr, qr)

  // A real QR scanner reads the PNG back to the same token.
  const { stdout: scanned } = await run('zbarimg', ['--raw', '-q', qr])
  const payload = parseHandoverPayload(scanned.trim())
  assert.equal(payload.accessToken, answer.access_token)
  assert.equal(payload.vin, vinFor(1))
  assert.equal(payload.tokenSignature, answer.token_signature)

  // The simulator's signature over the token verifies (what the phone side would check).
  const material = await import('../../electron/core/simulator').then((m) => m.loadSimulatorMaterial(simDir))
  assert.ok(verifyTokenSignature(material, answer, answer.token_signature))

  // Nothing secret in clear in the data folder: no key, no password, no token.
  assert.deepEqual(await findSecretsInClear(env.VKEY_HOME!, [demo.password, demo.p12Passphrase, answer.access_token, answer.token_signature]), [])
})

test('without --json the token is masked on stdout', async (t) => {
  const { env, dataDir } = await setupDepot(t)
  const file = join(dataDir, '..', 'car.json')
  await writeFile(file, carDataJson(vinFor(2)))
  const shown = await vkey(['token', '--cardata', file, '--duration', '90m'], env)
  assert.equal(shown.code, 0, shown.stderr)
  assert.match(shown.stdout, /Token issued for VF3TEST0000000002/)
  const listed = await vkey(['list', '--json'], env)
  const [record] = JSON.parse(listed.stdout) as { id: string }[]
  const full = await vkey(['show', '--json', '--', record!.id], env)
  const token = (JSON.parse(full.stdout) as { access_token: string }).access_token
  assert.ok(!shown.stdout.includes(token), 'the whole token is not printed without --json')
  assert.match(shown.stdout, /token: +\S{4}•{8}\S{4}/)
})

test('an expired key: `vkey list` and `vkey show` say when it expired (local time with its zone), and show names the way to a new key', async (t) => {
  const { env, dataDir } = await setupDepot(t)
  const file = join(dataDir, '..', 'car.json')
  await writeFile(file, carDataJson(vinFor(3)))
  assert.equal((await vkey(['token', '--cardata', file, '--duration', '1h'], env)).code, 0)
  const [record] = JSON.parse((await vkey(['list', '--json'], env)).stdout) as { id: string; expires: string }[]
  const later = () => new Date(Date.parse(record!.expires) + 60_000)
  const listed = await vkey(['list'], env, '', later)
  assert.match(listed.stdout, new RegExp(`${record!.id} +${vinFor(3)} +expired +since ${escapeRe(formatLocal(record!.expires))}`))
  const shown = await vkey(['show', vinFor(3)], env, '', later)
  assert.equal(shown.code, 2)
  assert.match(
    shown.stderr,
    new RegExp(
      `has no valid token: it expired ${escapeRe(formatLocal(record!.expires))}\\. A new key for the car: \`vkey token --cardata ${escapeRe(file)} --duration 1h --profile sim\``,
    ),
  )
  // A profile removed since is neither named (the command would fail) nor left out (the default would answer): NAME stands in.
  const other = join(dataDir, '..', 'other.json')
  await writeFile(other, carDataJson(vinFor(4)))
  assert.equal((await vkey(['profile', 'add', 'gone', '--env', 'simulator'], env)).code, 0)
  assert.equal((await vkey(['token', '--cardata', other, '--duration', '1h', '--profile', 'gone'], env)).code, 0)
  const removed = await vkey(['profile', 'remove', 'gone'], env)
  assert.equal(removed.code, 0, removed.stderr)
  const gone = await vkey(['show', vinFor(4)], env, '', later)
  assert.match(
    gone.stderr,
    /A new key for the car: `vkey token --cardata \S+ --duration 1h --profile NAME` \(its profile "gone" was removed: NAME is the one to use now, see `vkey profile list`\)/,
  )
})

test('an export to a folder that does not exist is refused saying nothing was written; a key request says nothing was sent', async (t) => {
  const { env, dataDir } = await setupDepot(t)
  const missing = join(dataDir, '..', 'no-such-folder')
  const audit = await vkey(['audit', '--csv', join(missing, 'audit.csv')], env)
  assert.equal(audit.code, 2)
  assert.match(audit.stderr, /its folder .*no-such-folder does not exist\. Create it first \(mkdir -p\) or choose another path; nothing was written\./)
  const file = join(dataDir, '..', 'car.json')
  await writeFile(file, carDataJson(vinFor(5)))
  const token = await vkey(['token', '--cardata', file, '--duration', '1h', '--qr', join(missing, 'key.png')], env)
  assert.equal(token.code, 2)
  assert.match(token.stderr, /or choose another path; nothing was sent\./)
})

test('what a tired technician mistypes is refused before anything is shown or written, naming the way on that works', async (t) => {
  const { env, dataDir } = await setupDepot(t)
  const file = join(dataDir, '..', 'car.json')
  await writeFile(file, carDataJson(vinFor(6)))
  assert.equal((await vkey(['token', '--cardata', file, '--duration', '1h'], env)).code, 0)

  const gif = await vkey(['show', vinFor(6), '--qr', join(dataDir, '..', 'key.gif')], env)
  assert.deepEqual([gif.code, gif.stdout], [2, ''], 'refused before the key is shown')
  assert.match(gif.stderr, /--qr ".*key\.gif" must end in \.png or \.svg/)
  const xlsx = await vkey(['audit', '--csv', join(dataDir, '..', 'audit.xlsx')], env)
  assert.equal(xlsx.code, 2)
  assert.match(xlsx.stderr, /--csv .*audit\.xlsx: the audit is a CSV file; give a file name ending in \.csv/)
  assert.equal(existsSync(join(dataDir, '..', 'audit.xlsx')), false)

  const cancel = await vkey(['queue', 'cancel', 'nosuchid'], env)
  assert.match(cancel.stderr, /No handover "nosuchid"\. List them with `vkey queue list`\./)
  assert.equal((await vkey(['queue', 'list'], env)).code, 0, 'the command it names works')
  const cert = await vkey(['cert', 'import', 'no-such-cert.pem'], env)
  assert.equal(cert.stderr, 'vkey: cannot read no-such-cert.pem (no such file). Check the path.\n', 'no placeholder for a name')
  const typo = await vkey(['token', '--cardata', file, '--duration', '1h', '--profile', 'smi'], env)
  assert.match(
    typo.stderr,
    /There is no profile "smi" \(known: "sim"\)\. Did you mean "sim"\? `vkey profile list` shows them; `vkey help profile` says how to add one\./,
  )
  assert.equal((await vkey(['help', 'profile'], env)).code, 0)
})

test('exit codes: 2 for bad input, 3 for configuration, 4 when PSA refuses, 5 when the server cannot be reached', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t)
  const good = join(dataDir, '..', 'good.json')
  await writeFile(good, carDataJson(vinFor(3)))

  const badDuration = await vkey(['token', '--cardata', good, '--duration', 'soon'], env)
  assert.equal(badDuration.code, 2)
  assert.match(badDuration.stderr, /^vkey token: .*--duration/, "said as the command's, like its other usage errors")
  assert.equal(badDuration.stderr.trim().split('\n').length, 1, 'one line on stderr, no stack trace')
  const noDuration = await vkey(['batch', good], env)
  assert.equal(noDuration.code, 2)
  assert.match(noDuration.stderr, /^vkey batch: Say how long the key must work: --duration /)

  const bad = join(dataDir, '..', 'bad.json')
  await writeFile(bad, JSON.stringify({ vin: vinFor(4), carData: 'not base64 !!', carDataSignature: 'AAAA' }))
  const badFile = await vkey(['token', '--cardata', bad, '--duration', '1h'], env)
  assert.equal(badFile.code, 2)
  assert.match(badFile.stderr, /bad\.json/)
  assert.match(badFile.stderr, /carData/i)

  const noProfile = await vkey(['token', '--cardata', good, '--duration', '1h', '--profile', 'nope'], env)
  assert.equal(noProfile.code, 3)
  assert.match(noProfile.stderr, /nope/)

  simulator.faults.statuses.push(401)
  const refused = await vkey(['token', '--cardata', good, '--duration', '1h'], env)
  assert.equal(refused.code, 4)
  assert.match(refused.stderr, /uuid [0-9a-f-]{36}/, 'the PSA error uuid is shown for support')

  await simulator.close()
  const down = await vkey(['token', '--cardata', good, '--duration', '1h', '--new'], env)
  assert.equal(down.code, 6, down.stderr)
  assert.match(down.stderr, /queued as ID \S+; sent once by `vkey queue flush`, the app, or the next key request/)
})

test('no keychain: a clear error and exit 3, and nothing written in clear', async (t) => {
  const { env, dataDir } = await setupDepot(t)
  const noBus = { ...env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' }
  const result = await vkeyProcess(
    ['profile', 'add', 'other', '--env', 'preprod', '--client-id', 'c1', '--login', 'MZP000001', '--password-stdin'],
    noBus,
    'a-password-that-must-not-land\n',
  )
  assert.equal(result.code, 3, result.stderr)
  assert.match(result.stderr, /Secret Service keyring/)
  assert.deepEqual(await findSecretsInClear(dataDir, ['a-password-that-must-not-land']), [])
})

test('profile list and cert show report the certificate facts as JSON', async (t) => {
  const { env, simulator } = await setupDepot(t)
  const listed = await vkey(['profile', 'list', '--json'], env)
  assert.equal(listed.code, 0, listed.stderr)
  const [profile] = JSON.parse(listed.stdout) as { name: string; default: boolean; hasPassword: boolean; certificate: { commonName: string } }[]
  assert.equal(profile!.name, 'sim')
  assert.equal(profile!.default, true)
  assert.equal(profile!.hasPassword, true)
  assert.equal(profile!.certificate.commonName, simulator.material.credentials.login)
  assert.ok(!listed.stdout.includes(simulator.material.credentials.password))

  const shown = await vkey(['cert', 'show', '--json'], env)
  const facts = JSON.parse(shown.stdout) as { daysLeft: number; fingerprintSha256: string; issuer: string }
  assert.ok(facts.daysLeft > 30)
  assert.match(facts.fingerprintSha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
})

test('profile add --env simulator fills in the demo login, password and certificate: a token with no other step', async (t) => {
  const { env, dataDir } = await setupDepot(t, { profile: false })
  const added = await vkey(['profile', 'add', 'demo', '--env', 'simulator', '--default'], env)
  assert.equal(added.code, 0, added.stderr)
  assert.match(added.stdout, /demo partner certificate was imported/)
  const file = join(dataDir, '..', 'car.json')
  await writeFile(file, carDataJson(vinFor(5)))
  const token = await vkey(['token', '--cardata', file, '--duration', '1h', '--json'], env)
  assert.equal(token.code, 0, token.stderr)
  assert.equal((JSON.parse(token.stdout) as { expires_in: number }).expires_in, 3600)

  // A simulator started from another folder (other demo credentials): the same command, as it prints it, moves the profile whole.
  const other = await startSimulator({ dir: await tempFolder(t), port: 0 })
  t.after(() => other.close())
  await registerSimulator(dataDir, { baseUrl: other.baseUrl, dir: other.material.dir })
  const again = await vkey(['profile', 'add', 'demo', '--env', 'simulator', '--default'], env)
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stdout, /demo partner certificate was imported/)
  const [profile] = JSON.parse((await vkey(['profile', 'list', '--json'], env)).stdout) as { login: string; certificate: { commonName: string } }[]
  assert.deepEqual([profile!.login, profile!.certificate.commonName], [other.material.credentials.login, other.material.credentials.login])
  const renewed = await vkey(['token', '--cardata', file, '--duration', '2h', '--new'], env)
  assert.equal(renewed.code, 0, renewed.stderr)
  assert.equal(other.stats.tokensIssued, 1, 'the new simulator accepted the certificate')
})

test('cert show gives the validity in local time with its zone, like cert import (one printer for both)', async (t) => {
  const { env, simulator } = await setupDepot(t)
  const facts = JSON.parse((await vkey(['cert', 'show', '--json'], env)).stdout) as { notBefore: string; notAfter: string }
  const valid = `  valid:        ${formatLocal(facts.notBefore)} → ${formatLocal(facts.notAfter)} (`
  const shown = await vkey(['cert', 'show'], env)
  assert.equal(shown.code, 0, shown.stderr)
  assert.ok(shown.stdout.includes(valid), shown.stdout)
  const imported = await vkey(
    ['cert', 'import', simulator.material.files.partnerP12, '--passphrase-stdin'],
    env,
    `${simulator.material.credentials.p12Passphrase}\n`,
  )
  assert.equal(imported.code, 0, imported.stderr)
  assert.ok(imported.stdout.includes(valid), imported.stdout)
})

test('vkey token on a file with several vehicles, some unreadable: refused with exit 2 naming what could not be read, unless --vin picks a readable one', async (t) => {
  const { env, simulator } = await setupDepot(t)
  const withProblems = join(ROOT, 'tests/fixtures/cardata/with-problems.json')
  const refused = await vkey(['token', '--cardata', withProblems, '--duration', '1h'], env)
  assert.equal(refused.code, 2, refused.stderr)
  assert.match(refused.stderr, /holds 5 vehicles: 4 could not be read: .+ \(and more\)\. Pick one with --vin/)
  // The suggested command is printed as it must be typed: a path with a space is quoted.
  const spaced = join(dirname(env.VKEY_HOME!), 'my exports', 'list.json')
  await mkdir(dirname(spaced))
  await copyFile(withProblems, spaced)
  const quoted = await vkey(['token', '--cardata', spaced, '--duration', '1h'], env)
  assert.ok(quoted.stderr.includes(`\`vkey batch '${spaced}' --duration 8h\``), quoted.stderr)
  // From standard input there is no file to name: the advice says to save one.
  const piped = await vkey(['token', '--cardata', '-', '--duration', '1h'], env, await readFile(withProblems, 'utf8'))
  assert.match(piped.stderr, /prepare them all with the export saved to a file: `vkey batch FILE --duration 8h`/)
  assert.equal(simulator.stats.tokensIssued, 0, 'nothing was sent')

  const unreadableVin = await vkey(['token', '--cardata', withProblems, '--duration', '1h', '--vin', 'VF3MCYHZRKS654321'], env)
  assert.equal(unreadableVin.code, 2, unreadableVin.stderr)
  assert.match(unreadableVin.stderr, /no readable vehicle with VIN VF3MCYHZRKS654321 \(found VF3MCYHZRKS123456\)\. 4 could not be read/)

  const picked = await vkey(['token', '--cardata', withProblems, '--duration', '1h', '--vin', 'VF3MCYHZRKS123456'], env)
  assert.equal(picked.code, 0, picked.stderr)
  assert.equal(simulator.stats.tokensIssued, 1)
})

test('a damaged settings.json is named with the way forward (exit 3), for every command, and left as it was', async (t) => {
  const { env, dataDir } = await setupDepot(t)
  const file = join(dataDir, 'settings.json')
  for (const damage of ['{"profiles": {"sim": ', '', '[]']) {
    await writeFile(file, damage)
    for (const argv of [['list'], ['profile', 'list']]) {
      const result = await vkey(argv, env)
      assert.equal(result.code, 3, `${argv.join(' ')}: ${result.stderr}`)
      assert.ok(result.stderr.includes(`${file} is damaged`), result.stderr)
      assert.match(result.stderr, /Restore it from a backup, or move it aside and add the profiles again with `vkey profile add NAME …`/)
      assert.doesNotMatch(result.stderr, /internal error/)
    }
    assert.equal(await readFile(file, 'utf8'), damage, 'nothing overwritten')
  }
})

test('a damaged ledger.db is named as damaged (exit 3, nothing sent); `vkey ledger new` as told keeps it aside and starts a new ledger', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t)
  const car = join(dataDir, '..', 'car.json')
  await writeFile(car, carDataJson(vinFor(61)))
  assert.equal((await vkey(['token', '--cardata', car, '--duration', '1h'], env)).code, 0)
  const ledger = join(dataDir, 'ledger.db')
  const damage = 'not a database at all, a crash wrote this '.repeat(200)
  await writeFile(ledger, damage)
  for (const argv of [['list'], ['token', '--cardata', car, '--duration', '1h', '--new'], ['ledger', 'check']]) {
    const result = await vkey(argv, env)
    assert.equal(result.code, 3, `${argv.join(' ')}: ${result.stderr}`)
    assert.ok(`${result.stdout}${result.stderr}`.includes(`The ledger ${ledger} is damaged`), result.stderr)
    assert.match(`${result.stdout}${result.stderr}`, /Nothing was sent\. .*Without one, `vkey ledger new` keeps ledger\.db and its -wal and -shm files aside/)
  }
  assert.equal(simulator.stats.tokensIssued, 1, 'nothing was sent with a damaged ledger')
  const started = await vkey(['ledger', 'new'], env)
  assert.equal(started.code, 0, started.stderr)
  const kept = /kept aside, as they were: ledger\.db in (\S+ledger-damaged-\d{8}T\d{6}Z) /.exec(started.stdout)?.[1]
  assert.ok(kept, started.stdout)
  assert.equal(await readFile(join(kept, 'ledger.db'), 'utf8'), damage, 'the damaged file is kept as it was')
  const fresh = await vkey(['list', '--json'], env)
  assert.equal(fresh.code, 0, fresh.stderr)
  assert.deepEqual(JSON.parse(fresh.stdout), [])
  const again = await vkey(['ledger', 'new'], env)
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stdout, /Nothing done: the ledger .* reads whole \(0 record\(s\), 0 live key\(s\)\)/)
})

test('vkey ledger check: a folder that never had a ledger is "none" (exit 0); a write-ahead log left without its ledger.db is a lost ledger, never a new one', async (t) => {
  const { env, dataDir } = await setupDepot(t)
  const fresh = { ...env, VKEY_HOME: join(dataDir, '..', 'fresh') }
  const none = await vkey(['ledger', 'check', '--json'], fresh)
  assert.equal(none.code, 0, none.stderr)
  assert.deepEqual({ ...JSON.parse(none.stdout), file: undefined, message: undefined }, { file: undefined, message: undefined, state: 'none' })
  // A log with no ledger beside it, in a folder whose marker does not know of one (an earlier VK Depot, or a marker copied without it).
  await writeFile(join(dataDir, '..', 'fresh', 'ledger.db-wal'), 'frames of a ledger that is gone')
  const listed = await vkey(['list'], fresh)
  assert.equal(listed.code, 3, listed.stderr)
  assert.match(listed.stderr, /ledger\.db is missing: this data folder had one \(its write-ahead log is still here\).* copy it somewhere safe first/)
  const started = await vkey(['ledger', 'new'], fresh)
  assert.equal(started.code, 0, started.stderr)
  assert.match(started.stdout, /kept aside, as they were: ledger\.db-wal in \S+ledger-damaged-/)
  assert.equal((await vkey(['list', '--json'], fresh)).stdout.trim(), '[]')
})

test('a ledger.db deleted while `vkey token` waits on PSA: the key is not reported as recorded (exit 3) but rescued beside it, and `vkey ledger new` waits for that process to end', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t)
  const car = join(dataDir, '..', 'car.json')
  await writeFile(car, carDataJson(vinFor(63)))
  let release = (): void => undefined
  simulator.faults.hold = new Promise<void>((resolve) => (release = resolve))
  const received = new Promise<void>((resolve) => (simulator.tap = () => resolve()))
  const running = vkeyProcess(['token', '--cardata', car, '--duration', '1h'], env)
  await received
  for (const suffix of ['', '-wal', '-shm']) await rm(join(dataDir, `ledger.db${suffix}`), { force: true })
  const refused = await vkey(['ledger', 'new'], env)
  assert.equal(refused.code, 3, refused.stderr)
  assert.match(refused.stderr, /Another VK Depot process \(pid \d+\) has this data folder open: close it .*then run `vkey ledger new` again/)
  release()
  const token = await running
  assert.equal(token.code, 3, token.stderr)
  assert.doesNotMatch(token.stdout, /Token issued/)
  const told = new RegExp(
    `PSA issued a key for ${vinFor(63)} .*could not be recorded: The ledger .*ledger\\.db was removed while this VK Depot process had it open, so what it wrote is not in the data folder's ledger\\. Its whole content, keys just issued included, is saved in (\\S+ledger-rescued-\\d{8}T\\d{6}Z-\\d+\\.db)\\. .*then, if ledger\\.db is missing, rename that file to ledger\\.db`,
  ).exec(token.stderr)
  assert.ok(told, token.stderr)
  assert.equal(simulator.stats.tokensIssued, 1)
  assert.equal((await stat(told[1]!)).mode & 0o777, 0o600, "the rescued ledger is the owner's alone")
  // The next command finds the ledger missing and names the rescued copy; `ledger new` will not start over it.
  const lost = await vkey(['list'], env)
  assert.equal(lost.code, 3, lost.stderr)
  assert.ok(lost.stderr.includes(`saved its whole content in ${told[1]}: rename that file to ledger.db.`), lost.stderr)
  const notOver = await vkey(['ledger', 'new'], env)
  assert.equal(notOver.code, 3, notOver.stderr)
  assert.ok(
    notOver.stderr.includes(`saved the ledger's whole content in ${told[1]} when the ledger was deleted under it: nothing was changed. Rename that file`),
    notOver.stderr,
  )
  // Done as it says (here a copy, so the rescued file stays), the key PSA issued is in the ledger; check points at the copy left behind.
  await copyFile(told[1]!, join(dataDir, 'ledger.db'))
  const checked = await vkey(['ledger', 'check'], env)
  assert.equal(checked.code, 0, checked.stderr)
  assert.ok(checked.stdout.includes(`Also here: ${told[1]}, a copy a VK Depot process saved when the ledger was deleted under it.`), checked.stdout)
  const listed = JSON.parse((await vkey(['list', '--json'], env)).stdout) as { vin: string; status: string }[]
  assert.deepEqual(
    listed.map((r) => [r.vin, r.status]),
    [[vinFor(63), 'issued']],
  )
  const again = await vkey(['token', '--cardata', car, '--duration', '1h'], env)
  assert.equal(again.code, 0, again.stderr)
  assert.equal(simulator.stats.tokensIssued, 1, 'the rescued key is reused')
})

test('a ledger.db deleted from a folder that had one is refused (exit 3, nothing sent), not taken for a new ledger; `vkey ledger new` starts one knowingly', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t)
  const car = join(dataDir, '..', 'car.json')
  await writeFile(car, carDataJson(vinFor(62)))
  assert.equal((await vkey(['token', '--cardata', car, '--duration', '1h'], env)).code, 0)
  const whole = await vkey(['ledger', 'check', '--json'], env)
  assert.equal(whole.code, 0, whole.stderr)
  assert.deepEqual({ ...JSON.parse(whole.stdout), file: undefined }, { file: undefined, state: 'whole', records: 1, liveKeys: 1 })
  // A clean-up tool or a restore that left the ledger out: every file of it gone, the rest of the folder kept.
  for (const suffix of ['', '-wal', '-shm']) await rm(join(dataDir, `ledger.db${suffix}`), { force: true })
  for (const argv of [['list'], ['token', '--cardata', car, '--duration', '1h'], ['ledger', 'check']]) {
    const result = await vkey(argv, env)
    assert.equal(result.code, 3, `${argv.join(' ')}: ${result.stderr}`)
    assert.match(
      `${result.stdout}${result.stderr}`,
      /The ledger .*ledger\.db is missing: this data folder has kept one since \w{3} \d{4}-\d{2}-\d{2} \d{2}:\d{2}/,
    )
    assert.match(`${result.stdout}${result.stderr}`, /`vkey ledger new` starts a new, empty/)
  }
  assert.equal(simulator.stats.tokensIssued, 1, 'no second key for a car the lost ledger knew')
  const started = await vkey(['ledger', 'new'], env)
  assert.equal(started.code, 0, started.stderr)
  assert.match(
    started.stdout,
    /Started a new, empty ledger: .*ledger\.db\.\n {2}replaces: +the ledger kept since .*; the keys it recorded are not counted here/,
  )
  const listed = await vkey(['list', '--json'], env)
  assert.equal(listed.code, 0, listed.stderr)
  assert.deepEqual(JSON.parse(listed.stdout), [])
  assert.equal((await vkey(['token', '--cardata', car, '--duration', '1h'], env)).code, 0, 'asked knowingly, the car gets a key again')
  assert.equal(simulator.stats.tokensIssued, 2)
})
