/**
 * Requesting a token and handing it over: the QR a real scanner reads, exports, copy,
 * handover mode, and the same screen in French.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { parseHandoverPayload } from '../../shared/qr-payload'
import { assertAccessible, assertNoProblems, browserForFile, scanQr, screensDir, workDir } from './harness'
import { issueToken, simulatorWithVehicle, VIN } from './flows'

const browser = browserForFile()

test('a 1 h token: the QR scans to the handover payload holding the token the page reveals', async (t) => {
  const app = await browser.openApp(t)
  const { page } = app
  await simulatorWithVehicle(app)

  await page.getByRole('button', { name: `Request token for ${VIN}` }).click()
  await page.getByRole('heading', { level: 1, name: 'Request a token' }).waitFor()
  assert.equal(await page.getByLabel('24 h', { exact: true }).isChecked(), true, '24 h is the default')
  await page.getByLabel('Valid until…').check()
  await page.getByLabel('Valid until (date and time)').waitFor()
  await page.getByLabel('Custom').check()
  await page.getByLabel('Hours').waitFor()
  await page.getByLabel('1 h', { exact: true }).check()
  await app.screenshot('request')
  await assertAccessible(app, 'request')

  const requestedAt = Date.now()
  const callsBefore = app.calls.length
  await page.getByRole('button', { name: 'Request token' }).click()
  await page.getByRole('heading', { level: 1, name: 'Virtual key' }).waitFor({ timeout: 30_000 })
  const qr = page.getByTestId('qr')
  await qr.waitFor()
  await qr.evaluate((img: HTMLImageElement) => img.decode())
  // The token crossed once: the token screen shows what the request answered, QR code included.
  const tokenCalls = app.calls
    .slice(callsBefore)
    .filter(
      ({ channel, input }) =>
        channel === 'token:request' || channel === 'handovers:qr' || (channel === 'handovers:get' && (input as { token?: boolean }).token !== false),
    )
    .map(({ channel }) => channel)
  assert.deepEqual(tokenCalls, ['token:request'])
  assert.equal(await page.getByTestId('token-vin').textContent(), VIN)
  assert.match((await page.getByTestId('token-value').textContent()) ?? '', /^•+$/, 'the token is masked until revealed')

  // The QR, as the page shows it, read by a real scanner.
  const qrPng = join(screensDir, 'token-qr.png')
  await qr.screenshot({ path: qrPng })
  const payload = parseHandoverPayload(await scanQr(qrPng))
  await page.getByRole('button', { name: 'Reveal' }).click()
  const revealed = (await page.getByTestId('token-value').textContent()) ?? ''
  assert.ok(revealed.length > 10)
  assert.equal(payload.accessToken, revealed)
  assert.equal(payload.vin, VIN)
  const expiresIn = Date.parse(payload.expires) - requestedAt
  assert.ok(expiresIn > 3500_000 && expiresIn < 3700_000, `the 1 h preset gives a token for about an hour (got ${expiresIn} ms)`)
  await page.getByRole('button', { name: 'Hide' }).click()

  // The countdown runs.
  const countdown = page.getByTestId('countdown')
  const first = await countdown.textContent()
  assert.match(first ?? '', /^0 h 59 min \d+ s left$/)
  await page.waitForFunction((before) => document.querySelector('[data-testid="countdown"]')?.textContent !== before, first, { timeout: 3000 })

  // Signature: truncated, then expanded.
  const signature = page.getByTestId('signature')
  assert.match((await signature.textContent()) ?? '', /…$/)
  await page.getByRole('button', { name: 'Show all' }).click()
  assert.equal(await signature.textContent(), payload.tokenSignature)

  // Copy: the in-memory clipboard holds the token; the page says when it is cleared.
  await page.getByRole('button', { name: 'Copy token' }).click()
  await page.getByText('Copied; the clipboard is cleared in 30 s.').waitFor()
  assert.equal(app.clipboard.text, revealed)

  await app.screenshot('token')
  await assertAccessible(app, 'token')

  // Handover mode: full screen, focus trapped, Esc leaves and focus comes back.
  const opener = page.getByRole('button', { name: 'Handover mode' })
  await opener.click()
  const dialog = page.getByRole('dialog', { name: 'Handover mode' })
  await dialog.waitFor()
  await dialog.getByRole('img').evaluate((img: HTMLImageElement) => img.decode())
  const box = await dialog.getByRole('img').boundingBox()
  assert.ok(box && box.height >= 600, `the QR fills the window (height ${box?.height})`)
  await page.keyboard.press('Tab')
  await page.keyboard.press('Tab')
  assert.equal(await page.evaluate(() => document.activeElement?.closest('[role="dialog"]') !== null), true, 'focus stays in handover mode')
  await app.screenshot('handover-mode')
  const fullQr = join(screensDir, 'handover-mode-qr.png')
  await dialog.getByRole('img').screenshot({ path: fullQr })
  assert.equal(parseHandoverPayload(await scanQr(fullQr)).accessToken, revealed)
  await assertAccessible(app, 'handover-mode')
  await page.keyboard.press('Escape')
  await dialog.waitFor({ state: 'detached' })
  assert.equal(await opener.evaluate((el) => el === document.activeElement), true, 'focus returns to the button')

  await page.getByRole('button', { name: 'Mark handed over' }).click()
  await page.getByText('Marked as handed over.').waitFor()
  await page.locator('.badge--handed-over').first().waitFor()
  await assertNoProblems(app)
})

test('exports: PNG, SVG and JSON are written where the save dialog says; the PNG scans and the JSON holds the token', async (t) => {
  const app = await browser.openApp(t)
  const { page } = app
  const vehicle = await simulatorWithVehicle(app)
  await issueToken(app, vehicle.id)
  const detail = await app.call('handovers:get', { id: vehicle.id })
  const token = detail.token?.accessToken
  assert.ok(token)
  const dir = await workDir(t)

  await page.getByRole('button', { name: 'Show token' }).click()
  await page.getByRole('heading', { level: 1, name: 'Virtual key' }).waitFor()

  app.nextSavePath(join(dir, 'handover.png'))
  await page.getByRole('button', { name: 'Save PNG' }).click()
  await page.getByText('Saved handover.png.').waitFor()
  assert.equal(parseHandoverPayload(await scanQr(join(dir, 'handover.png'))).accessToken, token)

  app.nextSavePath(join(dir, 'handover.svg'))
  await page.getByRole('button', { name: 'Save SVG' }).click()
  await page.getByText('Saved handover.svg.').waitFor()
  assert.match(await readFile(join(dir, 'handover.svg'), 'utf8'), /<svg[\s>]/)

  app.nextSavePath(join(dir, 'handover.json'))
  await page.getByRole('button', { name: 'Save JSON' }).click()
  await page.getByText('Saved handover.json.').waitFor()
  const json = JSON.parse(await readFile(join(dir, 'handover.json'), 'utf8')) as { access_token: string; vin: string }
  assert.equal(json.access_token, token)
  assert.equal(json.vin, VIN)

  // Cancelling the save dialog writes nothing and says so.
  app.nextSavePath(undefined)
  await page.getByRole('button', { name: 'Save JSON' }).click()
  await page.getByText('Nothing saved.').waitFor()
  const saves = app.dialogs.asked.filter((a) => a.kind === 'save').map((a) => (a.kind === 'save' ? a.format : ''))
  assert.deepEqual(saves, ['png', 'svg', 'json', 'json'])
  // A 30 min request reuses the 1 h key: the page says the key works beyond the window asked, as vkey token does.
  await page.getByRole('navigation').getByRole('button', { name: 'Vehicles' }).click()
  await page.getByRole('button', { name: `Request token for ${VIN}` }).click()
  await page.getByLabel('Custom').check()
  await page.getByLabel('Hours').fill('0')
  await page.getByLabel('Minutes').fill('30')
  await page.getByRole('button', { name: 'Request token' }).click()
  await page.getByTestId('request-reused').waitFor()
  await page.getByTestId('reused-longer').getByText('This key works beyond the window asked', { exact: false }).waitFor()
  assert.equal(app.handlers.simulator()!.stats.tokensIssued, 1, 'reused: nothing sent')
  await assertNoProblems(app)
})

test('French: switching the language in Settings applies at once, and the token screen is in French', async (t) => {
  const app = await browser.openApp(t)
  const { page } = app
  const vehicle = await simulatorWithVehicle(app)
  await issueToken(app, vehicle.id)

  await page.getByRole('navigation').getByRole('button', { name: 'Settings' }).click()
  await page.getByLabel('Language').selectOption('fr')
  await page.getByRole('heading', { level: 1, name: 'Réglages' }).waitFor()
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'fr')
  assert.equal((await app.call('settings:get')).locale, 'fr')

  await page.getByRole('navigation').getByRole('button', { name: 'Véhicules' }).click()
  await page.getByRole('button', { name: 'Voir le jeton' }).click()
  await page.getByRole('heading', { level: 1, name: 'Clé virtuelle' }).waitFor()
  await page.getByTestId('qr').evaluate((img: HTMLImageElement) => img.decode())
  await page.getByRole('button', { name: 'Mode remise' }).waitFor()
  await page.getByRole('button', { name: 'Copier le jeton' }).waitFor()
  assert.match((await page.getByTestId('countdown').textContent()) ?? '', /^Reste 0 h \d+ min \d+ s$/)
  assert.equal(await page.getByText('Virtual key').count(), 0)
  await app.screenshot('token-fr')
  await assertAccessible(app, 'token-fr')

  // The setting survives a restart of the page; "system" follows the system locale again.
  await app.reload()
  await page.getByRole('heading', { level: 1, name: 'Véhicules' }).waitFor()
  await page.getByRole('navigation').getByRole('button', { name: 'Réglages' }).click()
  await page.getByLabel('Langue').selectOption('system')
  await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor()
})

test('the language follows the system locale when the setting is "system"', async (t) => {
  const app = await browser.openApp(t, { systemLocale: 'fr-FR' })
  await app.page.getByRole('heading', { level: 1, name: 'Bienvenue dans VK Depot' }).waitFor()
  await app.page.getByRole('button', { name: 'Essayer le simulateur' }).waitFor()
  assert.equal(await app.page.evaluate(() => document.documentElement.lang), 'fr')
})

test('a production key carries no band, and the token screen says in words that it is a real car key PSA cannot revoke', async (t) => {
  const app = await browser.openApp(t)
  const { page } = app
  const vehicle = await simulatorWithVehicle(app)
  await issueToken(app, vehicle.id)
  // The simulator shows its band and no such note.
  await page.getByRole('button', { name: 'Show token' }).click()
  await page.getByTestId('environment-band').waitFor()
  assert.equal(await page.getByTestId('live-key-note').count(), 0)
  // The same key as if a production profile had issued it: the record keeps the environment it was issued in.
  const issuedIn = async (environment: string) =>
    (await app.handlers.depot.handovers()).db
      .prepare("UPDATE handovers SET record = json_set(record, '$.environment', ?) WHERE id = ?")
      .run(environment, vehicle.id)
  await issuedIn('prod')
  await app.reload()
  await page.getByRole('button', { name: 'Show token' }).click()
  const note = page.getByTestId('live-key-note')
  await note.waitFor()
  assert.match(
    (await note.textContent()) ?? '',
    new RegExp(`^A real car key: whoever scans this code can open ${VIN} until \\d+ \\w+ \\d{4}, \\d{2}:\\d{2} \\S+, and PSA cannot revoke it\\.`),
  )
  assert.equal(await page.getByTestId('environment-band').count(), 0, 'no band on a production key')
  await assertAccessible(app, 'token (production)')
  // Pre-production: its band, no such note. A custom address: the note, with an "if".
  for (const [environment, band, text] of [
    ['preprod', 1, undefined],
    ['custom', 0, /^A custom address: if it is PSA's service, whoever scans this code can open/],
  ] as const) {
    await issuedIn(environment)
    await app.reload()
    await page.getByRole('button', { name: 'Show token' }).click()
    await page.getByTestId('qr').waitFor()
    assert.equal(await page.getByTestId('environment-band').count(), band, environment)
    if (text) assert.match((await note.textContent()) ?? '', text)
    else assert.equal(await note.count(), 0, `no note for ${environment}`)
  }
})
