/**
 * The app after the vault key left the keychain: instead of an error it shows the
 * "Reset the vault" screen, which says what is kept and dropped, asks for confirmation,
 * resets (the same as `vkey vault reset`) and opens Settings. Real keychain, Chromium.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { keychainService } from '../../electron/core/keychain'
import { vaultKeyAccount } from '../../electron/core/vault'
import { assertAccessible, assertNoProblems, browserForFile, type App } from './harness'
import { issueToken, simulatorWithVehicle, VIN } from './flows'

const browser = browserForFile()

/** An app on the simulator with one vehicle holding a 1 h key. */
async function appWithKey(t: TestContext): Promise<App> {
  const app = await browser.openApp(t)
  const vehicle = await simulatorWithVehicle(app)
  await issueToken(app, vehicle.id)
  return app
}

/** The history: one row, the vehicle in this status. */
async function assertHistory(app: App, status: string): Promise<void> {
  const { handovers } = await app.call('handovers:list', {})
  assert.deepEqual(
    handovers.map((h) => [h.vin, h.status]),
    [[VIN, status]],
  )
}

test('a lost vault key opens the recovery screen; resetting keeps the profile and marks the old key unreadable', async (t) => {
  const app = await appWithKey(t)

  // The keychain loses the key (a new user account, a restored backup); the app starts again.
  const { vaultId } = JSON.parse(await readFile(join(app.dataDir, 'vault.json'), 'utf8')) as { vaultId: string }
  execFileSync('secret-tool', ['clear', 'service', keychainService, 'account', vaultKeyAccount(vaultId)])
  await app.handlers.depot.reloadVault()
  await app.reload()

  const { page } = app
  await page.getByRole('heading', { level: 1, name: 'Reset the vault' }).waitFor()
  await page.getByText(/Kept: every profile's settings/).waitFor()
  // The core's technical words (files, keychain entry, the vkey command) are folded away under plain ones.
  const details = page.getByText('Details for whoever supports this depot')
  assert.equal(await page.getByText(/Run `vkey vault reset`/).isVisible(), false, 'folded until asked for')
  await details.click()
  await page.getByText(/Run `vkey vault reset`/).waitFor()
  await details.click()
  const reset = page.getByRole('button', { name: 'Reset the vault' })
  assert.equal(await reset.isDisabled(), true, 'nothing happens before the confirmation')
  await assertAccessible(app, 'vault recovery')
  await app.screenshot('vault-recovery')

  await page.getByRole('checkbox', { name: /dropped for good/ }).check()
  await reset.click()
  await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor()

  const { profiles } = await app.call('profiles:list')
  assert.deepEqual(
    profiles.map((p) => [p.name, p.hasPassword, p.certificate]),
    [['Simulator', false, null]],
  )
  await assertHistory(app, 'unreadable')
  await assertNoProblems(app)
})

test('a damaged vault.json opens "Repair the vault"; Repair names the keychain key again and nothing is lost', async (t) => {
  const app = await appWithKey(t)
  await writeFile(join(app.dataDir, 'vault.json'), '{"version": 1, "vaultId": ') // a crash mid-write
  await app.handlers.depot.reloadVault()
  await app.reload()

  const { page } = app
  await page.getByRole('heading', { level: 1, name: 'Repair the vault' }).waitFor()
  await page.getByText(/If the keychain still holds the key, Repair names it again and nothing is lost/).waitFor()
  await assertAccessible(app, 'vault repair')
  await app.screenshot('vault-repair')
  await page.getByRole('button', { name: 'Repair the vault' }).click()
  await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor()

  const { profiles } = await app.call('profiles:list')
  assert.deepEqual(
    profiles.map((p) => [p.name, p.hasPassword, Boolean(p.certificate)]),
    [['Simulator', true, true]],
    'the password and certificate open again',
  )
  await assertHistory(app, 'issued')
  await assertNoProblems(app)
})

test('a ledger.db deleted under the app: the error names it and offers a new ledger only once confirmed; the app then starts on an empty one', async (t) => {
  const app = await appWithKey(t)
  await app.handlers.depot.reloadVault() // the app's own handle on the file is closed, as at a restart
  for (const suffix of ['', '-wal', '-shm']) await rm(join(app.dataDir, `ledger.db${suffix}`), { force: true })
  await app.reload()

  const { page } = app
  await page.getByRole('navigation').getByRole('button', { name: 'History' }).click()
  const panel = page.locator('[data-code="storage.ledger-lost"]').first()
  await panel.getByRole('heading', { name: 'The ledger of keys is missing or damaged' }).waitFor()
  await panel.getByText(/ledger\.db is missing: this data folder has kept one since/).waitFor()
  const start = panel.getByRole('button', { name: 'Start a new, empty ledger' })
  assert.equal(await start.isDisabled(), true, 'nothing happens before the confirmation')
  await assertAccessible(app, 'ledger lost')
  await app.screenshot('ledger-lost')
  await panel.getByRole('checkbox', { name: /does not count the keys issued before/ }).check()
  await start.click()
  await page.getByRole('navigation').getByRole('button', { name: 'History' }).waitFor()
  await page.locator('[data-code="storage.ledger-lost"]').waitFor({ state: 'detached' })
  const { handovers } = await app.call('handovers:list', {})
  assert.deepEqual(handovers, [], 'a new, empty ledger')
  await assertNoProblems(app)
})
