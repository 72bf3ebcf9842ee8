/**
 * A lost vault key has a way back that works as printed (`vkey vault reset`), and
 * `vkey vault rotate` seals everything again under a new key. Real keychain (the vault key
 * is removed from outside with secret-tool), real simulator over mutual TLS.
 */
import assert from 'node:assert/strict'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { once } from 'node:events'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { keychainService, keytarStore } from '../../electron/core/keychain'
import { Vault, vaultKeyAccount } from '../../electron/core/vault'
import { dispatch } from '../../electron/app/ipc-dispatch'
import { carDataJson, ROOT, setupDepot, testHandlers, vinFor, vkey, type CliResult } from '../helpers/depot-env'

const vaultId = async (dataDir: string) => (JSON.parse(await readFile(join(dataDir, 'vault.json'), 'utf8')) as { vaultId: string }).vaultId

/**
 * Whether the keychain holds this vault key, as secret-tool sees it from outside. One item is
 * looked up (not a listing of all): other tests add and delete items in the same keyring.
 */
function inKeychain(account: string): boolean {
  const result = spawnSync('secret-tool', ['lookup', 'service', keychainService, 'account', account], { encoding: 'utf8' })
  return result.status === 0 && result.stdout.length > 0
}

/** The command a message tells the user to run, in backticks, as words. */
function advised(result: CliResult, pattern: RegExp): string[] {
  const match = pattern.exec(result.stderr + result.stdout)
  assert.ok(match, `the message names the command: ${result.stderr}`)
  const words = match[1]!.split(' ')
  assert.equal(words[0], 'vkey')
  return words.slice(1)
}

async function cars(root: string, numbers: number[]): Promise<string[]> {
  const files: string[] = []
  for (const n of numbers) {
    const file = join(root, `car-${n}.json`)
    await writeFile(file, carDataJson(vinFor(n)))
    files.push(file)
  }
  return files
}

test('after the vault key leaves the keychain, the printed advice works literally and old vehicles get new keys', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t)
  const root = join(dataDir, '..')
  const [carA, carB, carC] = await cars(root, [61, 62, 63])
  assert.equal((await vkey(['token', '--cardata', carA!, '--duration', '2h'], env)).code, 0)
  assert.equal((await vkey(['batch', carB!, carC!, '--duration', '2h'], env)).code, 0)

  // A new user account or a restored backup: the keychain no longer has the vault key.
  const lostId = await vaultId(dataDir)
  execFileSync('secret-tool', ['clear', 'service', keychainService, 'account', vaultKeyAccount(lostId)])
  assert.ok(!inKeychain(vaultKeyAccount(lostId)))

  const broken = await vkey(['list'], env)
  assert.equal(broken.code, 3)
  const first = await vkey(advised(broken, /Run `(vkey [^`]+)`/), env)
  // Not a terminal here: it asks for --yes, and says how.
  assert.equal(first.code, 2, first.stderr)
  const reset = await vkey(advised(first, /run `(vkey vault reset --yes)`/), env)
  assert.equal(reset.code, 0, reset.stderr)
  assert.match(reset.stdout, /kept: +1 profile\(s\) with their settings, 3 handover record\(s\)/)
  assert.match(reset.stdout, /3 vehicle\(s\) marked unreadable/)

  const listed = JSON.parse((await vkey(['list', '--json'], env)).stdout) as {
    vin: string
    status: string
    expires: string | null
    still_valid_at_psa: boolean
  }[]
  assert.deepEqual(listed.map((r) => r.status).sort(), ['unreadable', 'unreadable', 'unreadable'], 'old keys are never counted as live again')
  assert.ok(
    listed.every((r) => r.still_valid_at_psa),
    'yet each still opens its car until it expires (a phone may hold it): the list says so',
  )
  assert.ok(
    listed.every((r) => r.expires),
    'the non-secret facts stay',
  )
  assert.ok(inKeychain(vaultKeyAccount(await vaultId(dataDir))) && !inKeychain(vaultKeyAccount(lostId)), 'a new key, the lost one not recreated')

  // Asking for a key before following it: the same way back, not a certificate file to find.
  const early = await vkey(['token', '--cardata', carA!, '--duration', '1h'], env)
  assert.equal(early.code, 3, early.stderr)
  assert.match(early.stderr, /lost the simulator's demo certificate.*`vkey profile add "sim" --env simulator`/s)
  assert.doesNotMatch(early.stderr, /cert import/)

  // The next step it printed, word for word (the simulator is running).
  const step = /\n {2}(vkey profile add "sim" --env simulator)/.exec(reset.stdout)
  assert.ok(step, reset.stdout)
  const readd = await vkey(step[1]!.replace(/"/g, '').split(' ').slice(1), env)
  assert.equal(readd.code, 0, readd.stderr)
  assert.match(readd.stdout, /demo partner certificate was imported/)
  const certImport = await vkey(
    ['cert', 'import', simulator.material.files.partnerP12, '--passphrase-stdin', '--profile', 'sim'],
    env,
    `${simulator.material.credentials.p12Passphrase}\n`,
  )
  assert.equal(certImport.code, 0, certImport.stderr)

  const token = await vkey(['token', '--cardata', carA!, '--duration', '1h', '--json'], env)
  assert.equal(token.code, 0, token.stderr)
  const batch = await vkey(['batch', carB!, carC!, '--duration', '1h', '--json'], env)
  assert.equal(batch.code, 0, batch.stderr)
  assert.equal((JSON.parse(batch.stdout) as { issued: unknown[] }).issued.length, 2, 'the batch issued new keys for the unreadable vehicles')
  const after = JSON.parse((await vkey(['list', '--json'], env)).stdout) as { vin: string; status: string }[]
  for (const n of [61, 62, 63])
    assert.deepEqual(
      after
        .filter((r) => r.vin === vinFor(n))
        .map((r) => r.status)
        .sort(),
      ['issued', 'unreadable'],
    )
})

test('reset refuses while the vault key works, and points at rotate', async (t) => {
  const { env } = await setupDepot(t)
  const refused = await vkey(['vault', 'reset', '--yes'], env)
  assert.equal(refused.code, 3)
  assert.match(refused.stderr, /nothing was reset.*`vkey vault rotate`/)
})

test('a damaged vault.json whose key the keychain still holds is repaired as printed, never reset: the keys issued stay readable', async (t) => {
  const { env, dataDir } = await setupDepot(t)
  const [car] = await cars(join(dataDir, '..'), [66])
  const issued = await vkey(['token', '--cardata', car!, '--duration', '2h', '--json'], env)
  assert.equal(issued.code, 0, issued.stderr)
  const { id, access_token: token } = JSON.parse(issued.stdout) as { id: string; access_token: string }
  const keptId = await vaultId(dataDir)
  await writeFile(join(dataDir, 'vault.json'), '') // what a crash or a failed copy can leave

  const broken = await vkey(['show', id, '--json'], env)
  assert.equal(broken.code, 3, broken.stderr)
  const repair = advised(broken, /Run `(vkey vault repair)`/)
  const reset = await vkey(['vault', 'reset', '--yes'], env)
  assert.equal(reset.code, 3, 'a reset would drop what the kept key still opens')
  assert.match(reset.stderr, new RegExp(`still holds this folder's vault key \\(vault-key:${keptId}\\).*nothing was reset\\. Run \`vkey vault repair\``))

  const repaired = await vkey(repair, env)
  assert.equal(repaired.code, 0, repaired.stderr)
  assert.match(repaired.stdout, new RegExp(`^Vault repaired: vault\\.json names again the keychain's key vault-key:${keptId}`))
  const shown = await vkey(['show', id, '--json'], env)
  assert.equal(shown.code, 0, shown.stderr)
  assert.equal((JSON.parse(shown.stdout) as { access_token: string }).access_token, token, 'the key issued before is readable again')
  assert.match((await vkey(['vault', 'repair'], env)).stdout, /^Nothing to repair/)

  // vault.json gone altogether: no new vault is made over the sealed files; repair names the key again.
  await rm(join(dataDir, 'vault.json'))
  const missing = await vkey(['show', id, '--json'], env)
  assert.equal(missing.code, 3, missing.stderr)
  assert.match(missing.stderr, /vault\.json is missing, though .* holds sealed files\. Run `vkey vault repair`/)
  assert.equal((await vkey(['vault', 'repair'], env)).code, 0)
  assert.equal((await vaultId(dataDir)) === keptId, true, 'the same key is named again')

  // vault.json naming another vault (a copy from elsewhere): reset refuses, repair names this folder's key again.
  await writeFile(join(dataDir, 'vault.json'), JSON.stringify({ version: 1, vaultId: 'AAAAAAAAAAAAAAAAAAAAAA', createdAt: new Date().toISOString() }))
  const wrong = await vkey(['show', id, '--json'], env)
  assert.equal(wrong.code, 3, wrong.stderr)
  assert.match(wrong.stderr, /If only vault\.json was replaced .*`vkey vault repair`/)
  assert.equal((await vkey(['vault', 'reset', '--yes'], env)).code, 3, 'no reset while repair would work')
  assert.equal((await vkey(['vault', 'repair'], env)).code, 0)
  assert.equal(await vaultId(dataDir), keptId)
  assert.equal((await vkey(['show', id, '--json'], env)).code, 0)

  // With no key in the keychain that opens the sealed files, repair says the key is lost and names reset.
  execFileSync('secret-tool', ['clear', 'service', keychainService, 'account', vaultKeyAccount(keptId)])
  await writeFile(join(dataDir, 'vault.json'), '')
  const lost = await vkey(['vault', 'repair'], env)
  assert.equal(lost.code, 3)
  assert.match(lost.stderr, /No vault key in the keychain opens the sealed files .* `vkey vault reset` starts a new vault/)
})

test('rotate seals everything again under a new key, finishes a rotation a crash interrupted, and waits for no live process', async (t) => {
  const { env, dataDir } = await setupDepot(t)
  const root = join(dataDir, '..')
  const [carA, carB] = await cars(root, [71, 72])
  const issued = JSON.parse((await vkey(['token', '--cardata', carA!, '--duration', '2h', '--json'], env)).stdout) as { id: string; access_token: string }
  const oldId = await vaultId(dataDir)

  // Another process with the vault open: rotate stops and names it.
  const script = `
    import { Depot } from ${JSON.stringify(join(ROOT, 'electron/core/depot.ts'))}
    import { openStore } from ${JSON.stringify(join(ROOT, 'electron/core/settings-store.ts'))}
    const depot = await Depot.open({ dataDir: ${JSON.stringify(dataDir)}, store: openStore(${JSON.stringify(dataDir)}) })
    await depot.vault()
    console.log('open')
    setInterval(() => undefined, 60_000) // alive until killed (a bare pending promise lets the process exit, code 13)
  `
  const holder = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env, stdio: ['ignore', 'pipe', 'inherit'] })
  t.after(() => holder.kill('SIGKILL'))
  // Ready once it has said so and its record is in the data folder (wait on the condition, bounded).
  let said = ''
  holder.stdout.on('data', (chunk: Buffer) => (said += chunk.toString()))
  const record = join(dataDir, 'vault-users', `${holder.pid}.json`)
  for (const deadline = Date.now() + 30_000; !(said.includes('open') && existsSync(record));) {
    assert.ok(Date.now() < deadline, `the holder opened the vault (said: ${JSON.stringify(said)})`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const busy = await vkey(['vault', 'rotate'], env)
  assert.equal(busy.code, 3)
  assert.match(busy.stderr, new RegExp(`pid ${holder.pid}\\) has this data folder open: close it`))
  holder.kill('SIGKILL')
  await once(holder, 'exit')

  // A rotation interrupted after its first step (as by a crash): everything still opens.
  const vault = await Vault.open(dataDir, keytarStore())
  await vault.beginRotation(keytarStore())
  vault.close()
  const shown = await vkey(['show', '--json', '--', issued.id], env)
  assert.equal(shown.code, 0, shown.stderr)
  assert.equal((JSON.parse(shown.stdout) as { access_token: string }).access_token, issued.access_token)

  const rotated = await vkey(['vault', 'rotate'], env)
  assert.equal(rotated.code, 0, rotated.stderr)
  assert.match(rotated.stdout, /1 profile secret file\(s\) and 2 sealed field\(s\)/)
  const newId = await vaultId(dataDir)
  assert.notEqual(newId, oldId)
  assert.ok(inKeychain(vaultKeyAccount(newId)) && !inKeychain(vaultKeyAccount(oldId)), 'the old key left the keychain')
  assert.equal((JSON.parse(await readFile(join(dataDir, 'vault.json'), 'utf8')) as { next?: string }).next, undefined)

  const again = await vkey(['show', '--json', '--', issued.id], env)
  assert.equal((JSON.parse(again.stdout) as { access_token: string }).access_token, issued.access_token, 'the token opens under the new key')
  const token = await vkey(['token', '--cardata', carB!, '--duration', '1h'], env)
  assert.equal(token.code, 0, token.stderr)
})

test('the app: a lost vault key reaches the renderer as config.vault-key-lost, and vault:reset brings it back', async (t) => {
  const { env, dataDir } = await setupDepot(t)
  const [car] = await cars(join(dataDir, '..'), [81])
  assert.equal((await vkey(['token', '--cardata', car!, '--duration', '2h'], env)).code, 0)
  execFileSync('secret-tool', ['clear', 'service', keychainService, 'account', vaultKeyAccount(await vaultId(dataDir))])

  const handlers = await testHandlers(t, dataDir)
  const failed = (await dispatch(handlers, 'profiles:list', undefined)) as { ok: boolean; error?: { code: string; message: string } }
  assert.equal(failed.ok, false)
  assert.equal(failed.error?.code, 'config.vault-key-lost', 'the recovery screen is chosen by this code')
  assert.match(failed.error?.message ?? '', /`vkey vault reset`/)
  assert.equal(((await dispatch(handlers, 'vault:reset', {})) as { ok: boolean }).ok, false, 'not without the confirmation')

  const reset = (await dispatch(handlers, 'vault:reset', { confirm: true })) as {
    ok: boolean
    value: { profiles: number; records: number; unreadable: number }
  }
  assert.deepEqual(reset.value, { profiles: 1, records: 1, unreadable: 1 })
  const profiles = (await dispatch(handlers, 'profiles:list', undefined)) as {
    ok: boolean
    value: { profiles: { name: string; hasPassword: boolean; certificate: unknown }[] }
  }
  assert.deepEqual(
    profiles.value.profiles.map((p) => [p.name, p.hasPassword, p.certificate]),
    [['sim', false, null]],
  )
  const list = (await dispatch(handlers, 'handovers:list', {})) as { value: { handovers: { vin: string; status: string }[] } }
  assert.deepEqual(
    list.value.handovers.map((h) => [h.vin, h.status]),
    [[vinFor(81), 'unreadable']],
  )
  // "Try the simulator" sets the profile up again in the same running app.
  assert.equal(((await dispatch(handlers, 'simulator:try', undefined)) as { ok: boolean }).ok, true)
})
