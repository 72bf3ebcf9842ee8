/**
 * The set-up path the README promises: scripts/setup-system.sh (run first by `npm test`,
 * `npm start` and .ci/run) checks the Debian packages of scripts/system-packages.txt and,
 * when it cannot install the missing ones, stops at once with the one install line; and
 * `npm start` where no Electron binary can be had ends with one clear line.
 */
import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { chmod, readFile, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { ROOT, tempFolder } from '../helpers/depot-env'

const run = promisify(execFile)

async function exec(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(command, args, { cwd: ROOT, env })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

function installed(pkg: string): boolean {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${db:Status-Abbrev}', pkg], { encoding: 'utf8' }).startsWith('ii')
  } catch {
    return false
  }
}

const hasDpkg = existsSync('/usr/bin/dpkg-query')

test(
  'every package in scripts/system-packages.txt is installed here, and the check says nothing and passes',
  { skip: hasDpkg ? false : 'not a Debian/Ubuntu machine (no dpkg-query)' },
  async () => {
    const result = await exec('bash', ['scripts/setup-system.sh', 'test'])
    assert.equal(result.code, 0, result.stderr)
    assert.equal(result.stderr, '')
  },
)

test('a user who cannot install gets one line naming only the missing package and the exact command, at once', async (t) => {
  // A real package that is not installed here; `make` is, and must not be named.
  const missing = 'sl'
  if (!hasDpkg || installed(missing)) return t.skip(`needs a Debian machine without the "${missing}" package`)
  const uid = process.getuid?.() ?? -1
  let sudoWorks = false
  try {
    execFileSync('sudo', ['-n', 'true'], { stdio: 'ignore' })
    sudoWorks = true
  } catch {
    /* no sudo, or it asks for a password: what this test needs */
  }
  if (uid !== 0 && sudoWorks) return t.skip('this user can install without a password; the script would really install the package')
  const dir = await tempFolder(t)
  await chmod(dir, 0o755)
  const list = join(dir, 'packages.txt')
  await writeFile(list, `build make   # present\ntest  ${missing}     # missing\n`, { mode: 0o644 })
  // As root, run it as "nobody", who has no sudo: the path of a plain user.
  const command =
    uid === 0
      ? (['runuser', ['-u', 'nobody', '--', 'env', `VKEY_SYSTEM_PACKAGES=${list}`, 'bash', join(ROOT, 'scripts/setup-system.sh'), 'test']] as const)
      : (['bash', [join(ROOT, 'scripts/setup-system.sh'), 'test']] as const)
  const result = await exec(command[0], [...command[1]], { ...process.env, VKEY_SYSTEM_PACKAGES: list })
  assert.equal(result.code, 1)
  const lines = result.stderr.trim().split('\n')
  assert.equal(lines.length, 1, result.stderr)
  assert.match(
    lines[0]!,
    new RegExp(
      `missing Debian packages: ${missing}\\. Install them with: +(sudo apt-get update && sudo |su -c 'apt-get update && )apt-get install -y --no-install-recommends ${missing}'?$`,
    ),
  )
  assert.doesNotMatch(lines[0]!, /\bmake\b/)
  // Only the build group: nothing is missing there.
  const build = await exec(
    command[0],
    [...command[1]].map((a) => (a === 'test' ? 'build' : a)),
    { ...process.env, VKEY_SYSTEM_PACKAGES: list },
  )
  assert.equal(build.code, 0, build.stderr)
})

test('.ci/run and npm test take their packages from the one list, not an apt line of their own', async () => {
  const ci = await readFile(join(ROOT, '.ci/run'), 'utf8')
  const testSh = await readFile(join(ROOT, 'scripts/test.sh'), 'utf8')
  for (const script of [ci, testSh]) {
    assert.match(script, /scripts\/setup-system\.sh test/)
    assert.doesNotMatch(script, /apt-get install/)
  }
  const list = await readFile(join(ROOT, 'scripts/system-packages.txt'), 'utf8')
  for (const pkg of ['libsecret-1-dev', 'gnome-keyring', 'dbus', 'chromium', 'zbar-tools', 'poppler-utils', 'python3', 'make', 'g++']) {
    assert.match(list, new RegExp(`^(build|test) +${pkg.replace('+', '\\+')} `, 'm'))
  }
})

test('npm start without an Electron binary ends with one line: what is missing, how to get it, and that vkey works meanwhile', async (t) => {
  if (existsSync(join(ROOT, 'node_modules/electron/path.txt'))) return t.skip('the Electron binary is installed here: the app would start')
  for (const script of ['start', 'dev']) {
    const result = await exec('npm', ['run', '--silent', script])
    assert.equal(result.code, 1)
    const lines = result.stderr.trim().split('\n')
    assert.equal(lines.length, 1, `one line, no stack trace:\n${result.stderr}`)
    assert.match(lines[0]!, /Electron binary is not installed/)
    assert.match(lines[0]!, /`npm rebuild electron`/)
    assert.match(lines[0]!, /ELECTRON_SKIP_BINARY_DOWNLOAD unset/)
    assert.match(lines[0]!, /`npx vkey help`/)
    assert.equal(result.stdout.trim(), '')
  }
  // ...and the command it points to works meanwhile.
  const help = await exec(process.execPath, [join(ROOT, 'scripts/vkey.mjs'), 'help'])
  assert.equal(help.code, 0, help.stderr)
})
