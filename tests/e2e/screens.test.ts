/**
 * Screens a technician can trust at a glance (issue 11), in Chromium against the real
 * handlers and simulator: handover mode with the car, the end time and a countdown; the
 * simulator band; Vehicles without a connection; the same VIN twice; the "valid until"
 * preview; the side panel; dates in the system's regional format; the same in French.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fleetCarData, issueToken, simulatorWithVehicle, VIN } from './flows'
import { assertAccessible, assertNoProblems, browserForFile, cardataFixture, workDir, writeFixture, type App } from './harness'

const browser = browserForFile()

const PARIS = 'Europe/Paris'
const LABEL = 'Peugeot 3008 — AB-123-CD'

/** The moment as a depot laptop in France set to UK English writes it ("1 Dec 2026, 17:37 CET"). */
function ukInParis(iso: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
    timeZoneName: 'short',
    timeZone: PARIS,
  }).format(new Date(iso))
}

/** Opens the token screen of the one vehicle, with a 1 h token issued. */
async function tokenScreen(app: App, showToken: string, heading: string): Promise<string> {
  const vehicle = await simulatorWithVehicle(app)
  await issueToken(app, vehicle.id)
  await app.page.getByRole('button', { name: showToken }).click()
  await app.page.getByRole('heading', { level: 1, name: heading }).waitFor()
  await app.page.getByTestId('qr').evaluate((img: HTMLImageElement) => img.decode())
  const detail = await app.call('handovers:get', { id: vehicle.id })
  assert.ok(detail.token)
  return detail.token.expires
}

test('handover mode shows the VIN, the label, the end time with its zone and a live countdown, large; a simulator key says it is not a car key', async (t) => {
  const app = await browser.openApp(t, { timeZone: PARIS, regionalLocale: 'en-GB' })
  const { page } = app
  const expires = await tokenScreen(app, 'Show token', 'Virtual key')

  // The token screen: the band, and the end time in the regional format with its zone.
  assert.equal(await page.getByTestId('environment-band').textContent(), 'SIMULATOR — NOT A CAR KEY')
  assert.equal(await page.getByTestId('token-expires').textContent(), ukInParis(expires))
  assert.match(ukInParis(expires), /^\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} CES?T$/)

  await page.getByRole('button', { name: 'Handover mode' }).click()
  const dialog = page.getByRole('dialog', { name: 'Handover mode' })
  await dialog.waitFor()
  assert.equal(await dialog.getByTestId('environment-band').textContent(), 'SIMULATOR — NOT A CAR KEY')
  assert.equal(await dialog.getByTestId('handover-vin').textContent(), VIN)
  assert.equal(await dialog.getByTestId('handover-label').textContent(), LABEL)
  assert.equal(await dialog.getByTestId('handover-expires').textContent(), ukInParis(expires))
  const countdown = dialog.getByTestId('countdown')
  const first = (await countdown.textContent()) ?? ''
  assert.match(first, /^0 h 59 min \d+ s left$/)
  await page.waitForFunction((before) => document.querySelector('[role="dialog"] [data-testid="countdown"]')?.textContent !== before, first, { timeout: 3000 })

  // Readable at arm's length: the facts are set large, the QR still fills the height.
  for (const id of ['handover-vin', 'handover-label', 'handover-expires', 'countdown']) {
    const size = await dialog.getByTestId(id).evaluate((el) => Number.parseFloat(getComputedStyle(el).fontSize))
    assert.ok(size >= 28, `${id} is at least 28 px (${size})`)
  }
  const box = await dialog.getByRole('img').boundingBox()
  assert.ok(box && box.height >= 560, `the QR stays large (height ${box?.height})`)
  await dialog.evaluate((el) => el.querySelectorAll('img').forEach((img) => void img.decode()))
  await app.screenshot('handover-mode-details')
  await assertAccessible(app, 'handover-mode-details')
  await page.keyboard.press('Escape')
  await dialog.waitFor({ state: 'detached' })
  await assertNoProblems(app)
})

test('Vehicles without a connection: Request is off, the row does not read "Ready", and the notice leads to Settings', async (t) => {
  const app = await browser.openApp(t)
  const { page } = app
  await page.getByTestId('first-run').waitFor()
  await page.getByRole('navigation').getByRole('button', { name: 'Vehicles' }).click()
  await page.getByLabel('Or paste CarData JSON').fill(await cardataFixture('sdk-vehicle.json'))
  await page.getByRole('button', { name: 'Import pasted JSON' }).click()
  const row = page.locator(`tr[data-vin="${VIN}"]`)
  await row.waitFor()

  const notice = page.getByTestId('no-connection')
  await notice.getByText('Keys cannot be requested until a connection profile is set up.', { exact: false }).waitFor()
  assert.equal(await row.locator('.badge').textContent(), 'Needs a connection')
  assert.equal(await page.getByText('Ready', { exact: true }).count(), 0, 'no car reads "Ready"')
  const request = page.getByRole('button', { name: `Request token for ${VIN}` })
  assert.equal(await request.isDisabled(), true)
  assert.match((await request.getAttribute('aria-describedby')) ?? '', /.+/, 'the disabled button says why')
  assert.equal(await page.getByRole('heading', { name: 'Prepare several keys' }).count(), 0, 'no batch without a connection')
  await app.screenshot('vehicles-no-connection')
  await assertAccessible(app, 'vehicles-no-connection')

  await notice.getByRole('button', { name: 'Open Settings' }).click()
  await page.getByTestId('first-run').waitFor()

  // A profile without its certificate is not a connection either: the notice says what is missing.
  await app.call('profiles:save', {
    name: 'Recette',
    environment: 'preprod',
    clientId: 'client-1',
    login: 'MZP000001',
    password: 'secret-pass',
    makeDefault: true,
  })
  await app.reload()
  await page.getByRole('heading', { level: 1, name: 'Vehicles' }).waitFor()
  await notice.getByText('The active profile has no partner certificate', { exact: false }).waitFor()
  assert.equal(await request.isDisabled(), true)
  await assertNoProblems(app)
})

test('the same VIN twice is flagged on import and on both rows; a vehicle without a VIN shows none', async (t) => {
  const app = await browser.openApp(t)
  const { page } = app
  await app.call('simulator:try')
  await app.reload()
  await page.getByRole('heading', { level: 1, name: 'Vehicles' }).waitFor()
  const files = await workDir(t)
  const sdk = await cardataFixture('sdk-vehicle.json')

  app.nextFiles([await writeFixture(files, 'phone-export.json', sdk)])
  await page.getByRole('button', { name: 'Choose files…' }).click()
  await page.getByText('Vehicles added: 1. Problems: 0.').waitFor()
  assert.equal(await page.getByTestId('import-duplicates').count(), 0)

  app.nextFiles([await writeFixture(files, 'again.json', sdk), await writeFixture(files, 'fleet.json', await cardataFixture('vehicles-list.json'))])
  await page.getByRole('button', { name: 'Choose files…' }).click()
  await page.getByText('Vehicles added: 4. Problems: 0.').waitFor()
  const duplicates = page.getByRole('list', { name: 'VINs already in the list' }).getByRole('listitem')
  assert.equal(await duplicates.count(), 1)
  const text = (await duplicates.first().textContent()) ?? ''
  assert.ok(text.includes(`again.json · ${VIN}`) && text.includes('already in the list (from phone-export.json)'), text)

  const rows = page.locator(`tr[data-vin="${VIN}"]`)
  assert.equal(await rows.count(), 2)
  for (const index of [0, 1]) assert.equal(await rows.nth(index).getByTestId('duplicate-vin').textContent(), 'Same VIN on 2 rows')
  assert.equal(await page.locator('tr[data-duplicate="true"]').count(), 2, 'only the two rows with the same VIN are flagged')

  // The vehicle imported without a VIN: an input to type it in, and no VIN anywhere in its row.
  const noVin = page.locator('tr[data-vin=""]')
  assert.equal(await noVin.count(), 1)
  await noVin.getByLabel('VIN for Berlingo van (line-wrapped CarData)').waitFor()
  assert.doesNotMatch((await noVin.textContent()) ?? '', /[A-HJ-NPR-Z0-9]{17}/)
  assert.equal(await noVin.locator('.badge').textContent(), 'VIN needed', 'it does not read "Ready" before it has a VIN')
  await app.screenshot('vehicles-duplicates')
  await assertAccessible(app, 'vehicles-duplicates')
  await assertNoProblems(app)
})

test('the request screen previews "valid until" before sending; the side panel names the simulator once', async (t) => {
  const app = await browser.openApp(t, { timeZone: PARIS, regionalLocale: 'en-GB' })
  const { page } = app
  await simulatorWithVehicle(app)
  assert.equal(await page.getByTestId('profile-chip').textContent(), 'Active profileSimulator')

  await page.getByRole('button', { name: `Request token for ${VIN}` }).click()
  await page.getByRole('heading', { level: 1, name: 'Request a token' }).waitFor()
  const preview = page.getByTestId('valid-until')
  /** The preview for a validity of `hours`, allowing for a minute turning over meanwhile. */
  const expected = (hours: number) =>
    [0, 60_000].map((slack) => `Valid until ${ukInParis(new Date(Date.now() + hours * 3600_000 + slack).toISOString())} (${hours} h from now)`)
  let shown = (await preview.textContent()) ?? ''
  assert.ok(expected(24).includes(shown), `24 h by default: ${shown}`)

  await page.getByLabel('4 h', { exact: true }).check()
  await page.waitForFunction(() => document.querySelector('[data-testid="valid-until"]')?.textContent?.includes('(4 h from now)'))
  shown = (await preview.textContent()) ?? ''
  assert.ok(expected(4).includes(shown), `4 h: ${shown}`)

  await page.getByLabel('Valid until…').check()
  await page.getByLabel('Valid until (date and time)').fill('2099-06-01T09:30')
  await page.getByText('Valid until 1 Jun 2099, 09:30 CEST', { exact: false }).waitFor()
  await page.getByLabel('Custom').check()
  await page.getByLabel('Hours').fill('0')
  await page.getByLabel('Minutes').fill('0')
  await preview.waitFor({ state: 'detached' })
  await page.getByLabel('Minutes').fill('45')
  await page.getByText('(45 min from now)', { exact: false }).waitFor()
  await page.getByLabel('4 h', { exact: true }).check()
  await app.screenshot('request-valid-until')
  await assertAccessible(app, 'request-valid-until')

  const before = (await preview.textContent()) ?? ''
  await page.getByRole('button', { name: 'Request token' }).click()
  await page.getByRole('heading', { level: 1, name: 'Virtual key' }).waitFor({ timeout: 30_000 })
  const shownEnd = (await page.getByTestId('token-expires').textContent()) ?? ''
  assert.ok(
    before.startsWith(`Valid until ${shownEnd}`) || expected(4).some((e) => e.startsWith(`Valid until ${shownEnd}`)),
    `the key ends when the preview said: ${before} / ${shownEnd}`,
  )
  await assertNoProblems(app)
})

test('French: handover mode, the no-connection notice, the preview and a running batch with its validity', async (t) => {
  const app = await browser.openApp(t, { systemLocale: 'fr-FR', regionalLocale: 'fr-FR', timeZone: PARIS })
  const { page } = app
  await page.getByRole('navigation').getByRole('button', { name: 'Véhicules' }).click()
  await page.getByLabel('Ou collez du JSON CarData').fill(await cardataFixture('sdk-vehicle.json'))
  await page.getByRole('button', { name: 'Importer le JSON collé' }).click()
  await page.getByTestId('no-connection').getByText('Pas encore de connexion à PSA').waitFor()
  await page.getByText('Connexion requise', { exact: true }).waitFor()
  await app.screenshot('vehicles-no-connection-fr')
  await assertAccessible(app, 'vehicles-no-connection-fr')

  const vehicle = (await app.call('handovers:list')).handovers[0]
  assert.ok(vehicle)
  await app.call('simulator:try')
  await issueToken(app, vehicle.id)
  await app.reload()
  await page.getByRole('button', { name: 'Voir le jeton' }).click()
  await page.getByRole('heading', { level: 1, name: 'Clé virtuelle' }).waitFor()
  await page.getByTestId('environment-band').getByText("SIMULATEUR — CE N'EST PAS UNE CLÉ DE VOITURE").waitFor()
  await page.getByRole('button', { name: 'Mode remise' }).click()
  const dialog = page.getByRole('dialog', { name: 'Mode remise' })
  await dialog.getByText("Valable jusqu'au").waitFor()
  assert.match((await dialog.getByTestId('handover-expires').textContent()) ?? '', /^\d{1,2} [a-zéû]+\.? \d{4}( à|,) \d{2}:\d{2} UTC\+[12]$/)
  await dialog.getByRole('img').evaluate((img: HTMLImageElement) => img.decode())
  await app.screenshot('handover-mode-fr')
  await assertAccessible(app, 'handover-mode-fr')
  await page.keyboard.press('Escape')

  // A batch of three, slow enough to be seen running whatever the machine's load: it is cancelled after.
  const files = await workDir(t)
  const paths = await Promise.all([1, 2, 3].map((n) => writeFixture(files, `voiture-${n}.json`, fleetCarData(n))))
  await page.getByRole('navigation').getByRole('button', { name: 'Véhicules' }).click()
  app.nextFiles(paths)
  await page.getByRole('button', { name: 'Choisir des fichiers…' }).click()
  await page.getByText('Véhicules ajoutés : 3. Problèmes : 0.').waitFor()
  app.handlers.simulator()!.faults.latencyMs = 20_000
  await page.getByRole('button', { name: 'Sélectionner les prêts (3)' }).click()
  await page.getByTestId('valid-until').getByText('Valable jusqu', { exact: false }).waitFor()
  await page.getByRole('button', { name: 'Tout demander (3)' }).click()
  await page.getByTestId('batch-plan').getByText('Validité : 8 h chacune', { exact: false }).waitFor()
  // Condition, not timing: the batch is running and each row shows the batch's word for it, no second status.
  await page.locator('[data-testid="batch-progress"][data-running="true"]').waitFor()
  assert.equal(await page.locator('tbody tr:has([data-batch-state]) .badge').count(), 0, 'one status per row')
  assert.equal(
    await page
      .getByRole('button', { name: /^Demander un jeton pour VR3FLEET/ })
      .first()
      .isDisabled(),
    true,
    'per-row requests are off while the batch runs',
  )
  await app.screenshot('batch-progress-fr')
  await assertAccessible(app, 'batch-progress-fr')
  await page.getByRole('button', { name: 'Annuler le lot' }).click()
  await page.getByRole('heading', { name: 'Lot annulé' }).waitFor()
  await assertNoProblems(app)
})
