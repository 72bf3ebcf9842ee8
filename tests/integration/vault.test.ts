/**
 * The vault against the real OS keychain (a private gnome-keyring: run through
 * scripts/with-keyring.sh). Secrets must never reach the data folder in the clear, and
 * only the small vault key may reach the keychain.
 */
import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { promisify } from 'node:util'
import { importPartnerCredentials } from '../../electron/core/credential-import'
import { keychainService, keytarStore } from '../../electron/core/keychain'
import { Vault, vaultKeyAccount, type ProfileSecrets } from '../../electron/core/vault'
import { VkError } from '../../shared/errors'
import { credentialFile, makePartnerFiles, makeTempDir, type PartnerFiles } from '../helpers/cert-fixtures'

const run = promisify(execFile)
const store = keytarStore()

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name))
}

/** Every keychain entry of the service, as secret-tool sees it from outside the program. */
function keychainEntries(service: string): Array<{ account: string; secret: string }> {
  // Other test files add and delete items of the same service meanwhile: an item listed and
  // deleted before secret-tool reads it fails the search, and the next search is consistent.
  let out: string
  for (let attempt = 1; ; attempt += 1) {
    try {
      out = execFileSync('secret-tool', ['search', '--all', '--unlock', 'service', service], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      break
    } catch (error) {
      if (attempt >= 5 || !String((error as { stderr?: unknown }).stderr).includes('No such secret item')) throw error
    }
  }
  const entries: Array<{ account: string; secret: string }> = []
  for (const block of out.split(/^\[/m).slice(1)) {
    // secret-tool prints attributes on stderr; keytar's label is "<service>/<account>" on stdout.
    const label = block.match(/^label = (.*)$/m)?.[1] ?? ''
    const account = label.startsWith(`${service}/`) ? label.slice(service.length + 1) : label
    const secret = block.match(/^secret = (.*)$/m)?.[1] ?? ''
    entries.push({ account, secret })
  }
  return entries
}

function expectVkError(code: string, pattern?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof VkError, String(error))
    assert.equal(error.code, code, error.message)
    if (pattern) assert.match(error.message, pattern)
    return true
  }
}

describe('vault with the real keychain', () => {
  let temp: ReturnType<typeof makeTempDir>
  let files: PartnerFiles
  let bundle: ProfileSecrets
  const password = 'Pa:ss-w0rd with spaces & colons'

  before(() => {
    temp = makeTempDir()
    files = makePartnerFiles(temp.dir, { bits: 4096 })
    const imported = importPartnerCredentials({ file: credentialFile(files.legacyP12), passphrase: files.p12Passphrase })
    bundle = { password, certPem: imported.certPem, keyPem: imported.keyPem, chainPems: imported.chainPems }
  })
  after(() => temp.cleanup())

  const newDataDir = async (name: string) => path.join(temp.dir, 'data', name)

  test('a 6 KB bundle from a legacy RC2-40 .p12 (4096-bit key, chain, password) round-trips', async () => {
    assert.ok(JSON.stringify(bundle).length > 6000, `bundle is ${JSON.stringify(bundle).length} bytes`)
    const dataDir = await newDataDir('round-trip')
    const vault = await Vault.open(dataDir, store)
    await vault.saveProfileSecrets('Depot Lyon', bundle)
    const reopened = await Vault.open(dataDir, store, { create: false })
    assert.equal(reopened.vaultId, vault.vaultId)
    assert.deepEqual(await reopened.loadProfileSecrets('Depot Lyon'), bundle)
    assert.equal(await reopened.loadProfileSecrets('Other'), undefined)
    assert.equal(await reopened.deleteProfileSecrets('Depot Lyon'), true)
    assert.equal(await reopened.deleteProfileSecrets('Depot Lyon'), false)
    assert.equal(await reopened.loadProfileSecrets('Depot Lyon'), undefined)
    await store.delete(vaultKeyAccount(vault.vaultId))
  })

  test('only the vault key reaches the keychain, and nothing readable reaches the data folder', async () => {
    const dataDir = await newDataDir('at-rest')
    const vault = await Vault.open(dataDir, store)
    await vault.saveProfileSecrets('prod', bundle)

    const entries = keychainEntries(keychainService)
    const ours = entries.filter((entry) => entry.account === vaultKeyAccount(vault.vaultId))
    assert.equal(ours.length, 1)
    for (const entry of entries) {
      assert.match(entry.account, /^vault-key:/, 'the keychain holds vault keys only')
      assert.equal(Buffer.from(entry.secret, 'base64').length, 32)
      assert.ok(!entry.secret.includes('BEGIN'))
    }

    const vaultKey = ours[0]?.secret ?? ''
    const keyBody = (bundle.keyPem ?? '').split('\n')[5] ?? '' // a line from the middle of the key's base64
    assert.ok(keyBody.length > 40)
    const needles = ['-----BEGIN', 'PRIVATE KEY', password, 'Pa:ss', keyBody, vaultKey, Buffer.from(password).toString('base64')]
    const written = await filesUnder(dataDir)
    assert.deepEqual(
      written.map((file) => path.relative(dataDir, file)).sort(),
      ['secrets/' + path.basename(vault.profileSecretsFile('prod')), 'vault.json'].sort(),
    )
    for (const file of written) {
      const bytes = await fs.readFile(file)
      for (const needle of needles) assert.equal(bytes.indexOf(needle), -1, `${path.relative(dataDir, file)} contains ${needle.slice(0, 12)}…`)
      if (process.platform !== 'win32') assert.equal((await fs.stat(file)).mode & 0o777, 0o600)
    }
    if (process.platform !== 'win32') {
      assert.equal((await fs.stat(dataDir)).mode & 0o777, 0o700)
      assert.equal((await fs.stat(path.join(dataDir, 'secrets'))).mode & 0o777, 0o700)
    }
    await store.delete(vaultKeyAccount(vault.vaultId))
  })

  test('tampered, swapped or mis-addressed sealed data is refused', async () => {
    const dataDir = await newDataDir('tamper')
    const vault = await Vault.open(dataDir, store)
    const envelope = vault.seal('handover:1', 'token-value')
    assert.equal(vault.unseal('handover:1', envelope).toString(), 'token-value')
    assert.throws(() => vault.unseal('handover:2', envelope), expectVkError('config.vault', /handover:2/))
    const flipped = Buffer.from(envelope, 'base64')
    flipped[20] = (flipped[20] ?? 0) ^ 0x01
    assert.throws(() => vault.unseal('handover:1', flipped.toString('base64')), expectVkError('config.vault'))
    assert.throws(() => vault.unseal('handover:1', 'AAAA'), expectVkError('config.vault'))

    // A file moved to another profile's name does not open as that profile.
    await vault.saveProfileSecrets('a', { password: 'secret-a' })
    await vault.saveProfileSecrets('b', { password: 'secret-b' })
    await fs.copyFile(vault.profileSecretsFile('a'), vault.profileSecretsFile('b'))
    await assert.rejects(vault.loadProfileSecrets('b'), expectVkError('config.vault'))

    // A changed byte in the file on disk.
    const file = vault.profileSecretsFile('a')
    const sealed = JSON.parse(await fs.readFile(file, 'utf8')) as { data: string }
    const data = Buffer.from(sealed.data, 'base64')
    data[data.length - 1] = (data[data.length - 1] ?? 0) ^ 0x80
    await fs.writeFile(file, JSON.stringify({ ...sealed, data: data.toString('base64') }))
    await assert.rejects(vault.loadProfileSecrets('a'), expectVkError('config.vault', /changed/))

    // Another data folder's vault cannot open this one's envelopes.
    const otherVault = await Vault.open(await newDataDir('tamper-other'), store)
    assert.notEqual(otherVault.vaultId, vault.vaultId)
    assert.throws(() => otherVault.unseal('handover:1', envelope), expectVkError('config.vault'))
    await store.delete(vaultKeyAccount(vault.vaultId))
    await store.delete(vaultKeyAccount(otherVault.vaultId))
  })

  test('a vault whose key left the keychain names `vkey vault reset`, and no vault is created when asked not to', async () => {
    const dataDir = await newDataDir('lost-key')
    const vault = await Vault.open(dataDir, store)
    await vault.saveProfileSecrets('p', { password: 'x' })
    assert.equal(await store.delete(vaultKeyAccount(vault.vaultId)), true)
    await assert.rejects(Vault.open(dataDir, store), expectVkError('config.vault-key-lost', /no longer has.*Run `vkey vault reset`/s))

    const empty = await newDataDir('never-created')
    await assert.rejects(Vault.open(empty, store, { create: false }), expectVkError('config.vault', /vkey profile add/))
    assert.equal(await Vault.exists(empty), false)
  })

  test('two processes creating the same vault at once end up with one key', async () => {
    const dataDir = await newDataDir('race')
    const [first, second] = await Promise.all([Vault.open(dataDir, store), Vault.open(dataDir, store)])
    assert.equal(first?.vaultId, second?.vaultId)
    const sealed = first?.seal('x', 'y') ?? ''
    assert.equal(second?.unseal('x', sealed).toString(), 'y')
    const keys = keychainEntries(keychainService).filter((entry) => entry.account.startsWith('vault-key:'))
    assert.equal(keys.filter((entry) => entry.account === vaultKeyAccount(first?.vaultId ?? '')).length, 1)
    await store.delete(vaultKeyAccount(first?.vaultId ?? ''))
  })
})

describe('keychain unavailable', () => {
  test('with no Secret Service the vault refuses clearly and writes no file', async () => {
    const temp = makeTempDir()
    try {
      const dataDir = path.join(temp.dir, 'data')
      const script = `
        import { keytarStore } from ${JSON.stringify(path.resolve('electron/core/keychain.ts'))}
        import { Vault } from ${JSON.stringify(path.resolve('electron/core/vault.ts'))}
        const results = []
        for (const attempt of [() => keytarStore().set('probe', 'value'), () => Vault.open(${JSON.stringify(dataDir)}, keytarStore())]) {
          try { await attempt(); results.push({ ok: true }) } catch (error) { results.push({ code: error.code, message: error.message }) }
        }
        console.log(JSON.stringify(results))
      `
      const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent' },
        timeout: 30_000,
      })
      const results = JSON.parse(stdout.trim().split('\n').pop() ?? '[]') as Array<{ code?: string; message?: string }>
      assert.equal(results.length, 2)
      for (const result of results) {
        assert.equal(result.code, 'config.keychain-unavailable', JSON.stringify(result))
        assert.match(result.message ?? '', /Secret Service/)
        assert.match(result.message ?? '', /gnome-keyring/)
        assert.match(result.message ?? '', /does not store secrets in plain files/)
      }
      assert.deepEqual(await filesUnder(temp.dir), [], 'nothing was written')
    } finally {
      temp.cleanup()
    }
  })
})
