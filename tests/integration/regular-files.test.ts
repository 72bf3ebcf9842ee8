/**
 * Only regular files are read as CarData, certificates, keys or CA certificates (issue 9,
 * item 4): a named pipe (made with mkfifo, no writer), a device or a folder is refused at
 * once with exit 2 and a message naming the path. Runs the real `vkey` in a child process,
 * since a read that waits on a FIFO would block the test process itself; the per-test
 * timeout turns a hang into a failure.
 */
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { test, type TestContext } from 'node:test'
import { carDataJson, escapeRe, ROOT, setupDepot, tempFolder, vinFor, type CliResult } from '../helpers/depot-env'

const run = promisify(execFile)

/** Runs the real `vkey`; the child is killed when the test ends, whatever happened. */
function vkeyChild(t: TestContext, args: string[], env: NodeJS.ProcessEnv, stdin = ''): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts/vkey.mjs'), ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }))
    child.stdin.end(stdin)
  })
}

async function setup(t: TestContext): Promise<{ root: string; fifo: string; env: NodeJS.ProcessEnv }> {
  const root = await tempFolder(t, 'vkey-fifo-')
  const fifo = join(root, 'car.fifo')
  await run('mkfifo', [fifo])
  return { root, fifo, env: { ...process.env, VKEY_HOME: join(root, 'home') } }
}

test('vkey token --cardata FIFO returns at once with exit 2, naming the pipe', { timeout: 30_000 }, async (t) => {
  const { fifo, env } = await setup(t)
  const result = await vkeyChild(t, ['token', '--cardata', fifo, '--duration', '1h'], env)
  assert.equal(result.code, 2, result.stderr)
  assert.ok(result.stderr.includes(fifo), result.stderr)
  assert.match(result.stderr, /--cardata .*car\.fifo is a named pipe \(FIFO\), not a regular file/)
  assert.equal(result.stderr.trim().split('\n').length, 1)
  const missing = await vkeyChild(t, ['token', '--cardata', 'no-such-car.json', '--duration', '1h'], env)
  assert.equal(missing.code, 2, missing.stderr)
  assert.equal(missing.stderr, 'vkey: --cardata no-such-car.json was not found. Check the path and file name.\n', 'the option that named it is said')
})

test('vkey batch with a FIFO among the files lists it as failed and issues the others', { timeout: 60_000 }, async (t) => {
  const { env, dataDir } = await setupDepot(t)
  const fifo = join(dataDir, '..', 'car.fifo')
  await run('mkfifo', [fifo])
  const good = join(dataDir, '..', 'good.json')
  await writeFile(good, carDataJson(vinFor(41)))
  const result = await vkeyChild(t, ['batch', fifo, good, '--duration', '1h'], env)
  assert.equal(result.code, 2, result.stderr)
  assert.match(result.stdout, /1 issued/)
  // The message names the file already: it is not said twice.
  assert.ok(result.stdout.includes(`failed: ${fifo} is a named pipe (FIFO), not a regular file`), result.stdout)
})

test('certificates, keys and CA files: a FIFO, a device or a folder is refused with exit 2', { timeout: 60_000 }, async (t) => {
  const { root, fifo, env } = await setup(t)
  const folder = join(root, 'certs')
  await mkdir(folder)
  const cert = join(root, 'partner.pem')
  await writeFile(cert, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')

  const certFifo = await vkeyChild(t, ['cert', 'import', fifo], env)
  assert.equal(certFifo.code, 2, certFifo.stderr)
  assert.ok(certFifo.stderr.includes(fifo))
  assert.match(certFifo.stderr, /not a regular file/)

  const keyDevice = await vkeyChild(t, ['cert', 'import', cert, '--key', '/dev/zero'], env)
  assert.equal(keyDevice.code, 2, keyDevice.stderr)
  assert.match(keyDevice.stderr, /\/dev\/zero is a device, not a regular file/)

  const caFolder = await vkeyChild(
    t,
    ['profile', 'add', 'p', '--env', 'preprod', '--client-id', 'c', '--login', 'MZP1', '--password-stdin', '--ca', folder],
    env,
    'pw\n',
  )
  assert.equal(caFolder.code, 2, caFolder.stderr)
  assert.match(caFolder.stderr, new RegExp(`${escapeRe(folder)} is a folder, not a regular file`))

  const caFifo = await vkeyChild(
    t,
    ['profile', 'add', 'p', '--env', 'preprod', '--client-id', 'c', '--login', 'MZP1', '--password-stdin', '--ca', fifo],
    env,
    'pw\n',
  )
  assert.equal(caFifo.code, 2, caFifo.stderr)
  assert.match(caFifo.stderr, /named pipe \(FIFO\), not a regular file/)
})
