/**
 * Environments cannot be mixed up (issue 9, item 6): a profile is not silently moved to
 * another environment (CLI and app), keys from the simulator and pre-production carry a
 * mark (the QR payload's `env`, `vkey list` / `vkey show`, the renderer's summary), and
 * `vkey simulator --host` says which address it really binds.
 */
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { test, type TestContext } from 'node:test'
import { contract } from '../../shared/ipc/contract'
import { parseHandoverPayload } from '../../shared/qr-payload'
import { handoverPayloadOf } from '../../electron/core/handover-payload'
import { dispatch } from '../../electron/app/ipc-dispatch'
import { carDataJson, ROOT, setupDepot, tempFolder, testHandlers, vinFor, vkey } from '../helpers/depot-env'
import { seedSimulatorDir } from '../helpers/sim-material'
import { wrongCaPartner } from '../helpers/pki-fixtures'

const run = promisify(execFile)

test('profile add --env simulator over a production profile is refused; --replace drops its certificate and password', async (t) => {
  const { env, depot, dataDir, simulator } = await setupDepot(t, { profile: false })
  const root = join(dataDir, '..')
  const production = wrongCaPartner('MZP424242')
  await writeFile(join(root, 'prod-cert.pem'), production.certPem)
  await writeFile(join(root, 'prod-key.pem'), production.keyPem)
  const added = await vkey(
    ['profile', 'add', 'depot', '--env', 'prod', '--client-id', 'prod-client', '--login', 'MZP424242', '--password-stdin'],
    env,
    'production-password\n',
  )
  assert.equal(added.code, 0, added.stderr)
  const imported = await vkey(['cert', 'import', join(root, 'prod-cert.pem'), '--key', join(root, 'prod-key.pem'), '--profile', 'depot'], env)
  assert.equal(imported.code, 0, imported.stderr)
  const productionCert = JSON.parse((await vkey(['cert', 'show', '--profile', 'depot', '--json'], env)).stdout) as { fingerprintSha256: string }

  const refused = await vkey(['profile', 'add', 'depot', '--env', 'simulator'], env)
  assert.equal(refused.code, 2, refused.stderr)
  assert.match(refused.stderr, /Profile "depot" is a prod profile .* --replace/)
  const [kept] = JSON.parse((await vkey(['profile', 'list', '--json'], env)).stdout) as {
    environment: string
    baseUrl: string
    certificate: { fingerprintSha256: string }
  }[]
  assert.equal(kept?.environment, 'prod')
  assert.equal(kept?.certificate.fingerprintSha256, productionCert.fingerprintSha256)
  assert.equal((await (await depot.vault()).loadProfileSecrets('depot'))?.password, 'production-password')

  const replaced = await vkey(['profile', 'add', 'depot', '--env', 'simulator', '--replace'], env)
  assert.equal(replaced.code, 0, replaced.stderr)
  const [now] = JSON.parse((await vkey(['profile', 'list', '--json'], env)).stdout) as {
    environment: string
    clientId: string
    certificate: { fingerprintSha256: string; commonName: string }
  }[]
  assert.equal(now?.environment, 'simulator')
  assert.equal(now?.clientId, simulator.material.credentials.clientId)
  assert.notEqual(now?.certificate.fingerprintSha256, productionCert.fingerprintSha256, 'the production certificate is gone')
  assert.equal(now?.certificate.commonName, simulator.material.credentials.login, 'the simulator demo certificate replaced it')
  assert.equal((await (await depot.vault()).loadProfileSecrets('depot'))?.password, simulator.material.credentials.password)
})

test("the app's Settings refuse to switch a profile's environment unless the user confirms", async (t) => {
  const { dataDir } = await setupDepot(t)
  const handlers = await testHandlers(t, dataDir)
  const input = { name: 'sim', environment: 'preprod', clientId: 'preprod-client', login: 'MZP1', password: 'pw' }
  const refused = await dispatch(handlers, 'profiles:save', input)
  assert.equal(refused.ok, false)
  assert.ok(!refused.ok && refused.error.code === 'usage' && /confirm the replacement/.test(refused.error.message))
  const listed = await dispatch(handlers, 'profiles:list', undefined)
  assert.ok(listed.ok && (listed.value as { profiles: { environment: string; certificate: unknown }[] }).profiles[0]?.environment === 'simulator')

  const confirmed = await dispatch(handlers, 'profiles:save', { ...input, replace: true })
  assert.ok(confirmed.ok, JSON.stringify(confirmed))
  const view = confirmed.value as { environment: string; certificate: unknown; hasPassword: boolean }
  assert.equal(view.environment, 'preprod')
  assert.equal(view.certificate, null, 'the simulator certificate was dropped')
  assert.equal(view.hasPassword, true)
})

test('simulator keys carry env in the QR payload, a band in vkey list/show and environment in --json and the IPC summary', async (t) => {
  const { env, dataDir } = await setupDepot(t)
  const file = join(dataDir, '..', 'car.json')
  await writeFile(file, carDataJson(vinFor(60)))
  const qr = join(dataDir, '..', 'car.png')
  const issued = await vkey(['token', '--cardata', file, '--duration', '2h', '--qr', qr], env)
  assert.equal(issued.code, 0, issued.stderr)
  assert.match(issued.stdout, /env: {6}simulator — SIMULATOR — NOT A CAR KEY/)

  const { stdout: scanned } = await run('zbarimg', ['--raw', '-q', qr])
  assert.match(scanned, /^\{"v":1,"typ":"vkey-handover","env":"simulator","vin":/)
  assert.equal(parseHandoverPayload(scanned.trim()).env, 'simulator')

  const listed = await vkey(['list'], env)
  assert.match(listed.stdout, /VF3TEST0000000060 .*\[SIMULATOR — NOT A CAR KEY\]/)
  const [record] = JSON.parse((await vkey(['list', '--json'], env)).stdout) as { id: string; environment: string }[]
  assert.equal(record?.environment, 'simulator')
  const shown = await vkey(['show', record!.id], env)
  assert.match(shown.stdout, /SIMULATOR — NOT A CAR KEY/)
  assert.equal((JSON.parse((await vkey(['show', record!.id, '--json'], env)).stdout) as { environment: string }).environment, 'simulator')

  const handlers = await testHandlers(t, dataDir)
  const summaries = await dispatch(handlers, 'handovers:list', undefined)
  assert.ok(summaries.ok)
  assert.equal((summaries.value as { handovers: { environment?: string }[] }).handovers[0]?.environment, 'simulator')
  const detail = await dispatch(handlers, 'handovers:get', { id: record!.id })
  assert.ok(detail.ok && (detail.value as { environment?: string }).environment === 'simulator')

  // The profile removed: the key keeps its mark, in the QR payload, on the picture's band and in the list.
  assert.equal((await vkey(['profile', 'remove', 'sim'], env)).code, 0)
  const again = join(dataDir, '..', 'again.png')
  assert.equal((await vkey(['show', record!.id, '--qr', again], env)).code, 0)
  assert.equal(parseHandoverPayload((await run('zbarimg', ['--raw', '-q', again])).stdout.trim()).env, 'simulator')
  assert.match((await vkey(['list'], env)).stdout, /VF3TEST0000000060 .*\[SIMULATOR — NOT A CAR KEY\]/)
  assert.ok(contract['handovers:get'].output.shape.environment, 'the contract carries it to the renderer')
})

test('production keys have no env key in the payload; pre-production keys say so', () => {
  const token = { accessToken: 'dG9rZW4=', tokenType: 'bearer', expiresIn: 3600, tokenSignature: 'c2ln' }
  const record = { vin: vinFor(61), expires: '2030-01-01T00:00:00Z' }
  const production = handoverPayloadOf(record, token, 'prod')
  assert.doesNotMatch(production, /"env"/)
  assert.equal(parseHandoverPayload(production).env, undefined)
  assert.equal(parseHandoverPayload(handoverPayloadOf(record, token, 'preprod')).env, 'preprod')
  assert.doesNotMatch(handoverPayloadOf(record, token, undefined), /"env"/, 'unknown: no claim either way')
})

/** Starts `vkey simulator --host HOST`, reads its banner, stops it with SIGTERM and returns all it printed. */
async function simulatorBanner(t: TestContext, host: string): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const root = await tempFolder(t, 'vkey-sim-host-')
  const dir = await seedSimulatorDir(join(root, 'sim'))
  const child = spawn(process.execPath, [join(ROOT, 'scripts/vkey.mjs'), 'simulator', '--host', host, '--port', '0', '--dir', dir], {
    env: { ...process.env, VKEY_HOME: join(root, 'home') },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const closed = once(child, 'close')
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  let stdout = ''
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c))
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c))
  while (!stdout.includes('Ctrl-C')) await once(child.stdout, 'data')
  child.kill('SIGTERM')
  const [code] = (await closed) as [number | null]
  return { stdout, stderr, code }
}

test('vkey simulator --host prints the address it really binds, and warns for all interfaces', async (t) => {
  const everywhere = await simulatorBanner(t, '0.0.0.0')
  assert.match(everywhere.stdout, /bound to: +0\.0\.0\.0:\d+ — all network interfaces: other computers can reach it/)
  assert.match(everywhere.stderr, /warning: listening on all network interfaces/)

  const local = await simulatorBanner(t, '127.0.0.1')
  assert.match(local.stdout, /bound to: +127\.0\.0\.1:\d+ — this computer only/)
  assert.doesNotMatch(local.stderr, /warning/)
  assert.equal(local.code, 0, 'Ctrl-C or SIGTERM is the way to stop the simulator')
})
