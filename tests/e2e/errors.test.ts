/**
 * What the technician sees when PSA says no (401, 403, 429), when a request is cancelled,
 * and when the partner certificate has expired: plain language, a next step, and the
 * PSA reference for support.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createCa, issueCertificate, toPkcs12 } from '../../electron/core/pki'
import { assertAccessible, assertNoProblems, browserForFile, workDir, writeFixture, type App } from './harness'
import { simulatorWithVehicle, VIN } from './flows'

const browser = browserForFile()

const DAY = 24 * 60 * 60 * 1000

function simulatorOf(app: App) {
  const simulator = app.handlers.simulator()
  assert.ok(simulator, 'the simulator runs once "Try the simulator" was used')
  return simulator
}

test('401, 403 and 429 from PSA each show their own message, next step and support reference', async (t) => {
  const app = await browser.openApp(t, { viewport: { width: 1280, height: 960 } })
  await app.context.grantPermissions(['clipboard-read', 'clipboard-write'])
  const { page } = app
  await simulatorWithVehicle(app)
  const simulator = simulatorOf(app)
  await page.getByRole('button', { name: `Request token for ${VIN}` }).click()
  await page.getByRole('heading', { level: 1, name: 'Request a token' }).waitFor()

  const cases = [
    { status: 401, code: 'psa.unauthorized', title: 'PSA did not accept the login', next: /Check the credentials in Settings/ },
    { status: 403, code: 'psa.forbidden', title: 'Not allowed for this vehicle', next: /belongs to your fleet contract/ },
    { status: 429, code: 'psa.rate-limited', title: 'Too many requests', next: /Wait a moment/ },
  ]
  for (const c of cases) {
    // A Retry-After longer than the client waits by itself: the 429 reaches the page at once.
    simulator.faults.retryAfterSeconds = 120
    simulator.faults.statuses.push(c.status)
    await page.getByRole('button', { name: 'Request token' }).click()
    const panel = page.locator(`.error-panel[data-code="${c.code}"]`)
    await panel.waitFor({ timeout: 20_000 })
    assert.equal(await panel.getByRole('heading').first().textContent(), c.title)
    assert.match((await panel.textContent()) ?? '', c.next)
    assert.equal(await panel.getAttribute('role'), 'alert')

    // The simulator answers with PSA's error body: its code, uuid and timestamp are shown.
    await panel.getByText('For PSA support').waitFor()
    const uuid = (await panel.locator('dd').nth(1).textContent()) ?? ''
    assert.match(uuid, /^[0-9a-f-]{36}$/)
    if (c.status === 429) await panel.getByText('PSA accepts new requests in 120 s.').waitFor()
    if (c.status === 403) {
      await panel.getByRole('button', { name: 'Copy for support' }).click()
      await panel.getByText('Copied.').waitFor()
      const copied = await page.evaluate(() => navigator.clipboard.readText())
      const lines = copied.split('\n')
      assert.equal(lines.length, 3, 'only code, uuid and timestamp are copied')
      assert.match(lines[0] ?? '', /^code: \S+/)
      assert.equal(lines[1], `uuid: ${uuid}`)
      assert.match(lines[2] ?? '', /^timestamp: \d{4}-\d{2}-\d{2}T/)
      assert.ok(!copied.includes(VIN))
      await app.screenshot('errors')
      await assertAccessible(app, 'errors')
    }
    await panel.getByRole('button', { name: 'Dismiss' }).click()
    await panel.waitFor({ state: 'detached' })
  }
  const { handovers } = await app.call('handovers:list')
  assert.equal(handovers[0]?.status, 'failed')
  await assertNoProblems(app)
})

test('a request in progress shows "Contacting PSA…" and can be cancelled', async (t) => {
  const app = await browser.openApp(t)
  const { page } = app
  await simulatorWithVehicle(app)
  const simulator = simulatorOf(app)
  simulator.faults.latencyMs = 10_000

  await page.getByRole('button', { name: `Request token for ${VIN}` }).click()
  await page.getByRole('button', { name: 'Request token' }).click()
  await page.getByText('Contacting PSA…').waitFor()
  assert.equal(await page.getByLabel('4 h', { exact: true }).isDisabled(), true, 'the duration cannot change while the request runs')
  await app.screenshot('request-progress')
  const started = Date.now()
  await page.getByRole('button', { name: 'Cancel' }).click()
  const panel = page.locator('.error-panel[data-code="cancelled"]')
  await panel.waitFor({ timeout: 5000 })
  assert.ok(Date.now() - started < 5000, 'cancelling does not wait for the slow answer')
  await panel.getByText('The request was cancelled; nothing was changed.').waitFor()
  await page.getByRole('button', { name: 'Request token' }).waitFor()
  const { handovers } = await app.call('handovers:list')
  assert.equal(handovers[0]?.status, 'draft')
})

test('an expired certificate shows red and blocking in Settings, and the request is refused before anything is sent', async (t) => {
  const app = await browser.openApp(t)
  const { page } = app
  await simulatorWithVehicle(app)
  const simulator = simulatorOf(app)
  const files = await workDir(t)

  const now = Date.now()
  const ca = createCa({ commonName: 'Expired test CA', notBefore: new Date(now - 800 * DAY), notAfter: new Date(now + 800 * DAY) })
  const partner = issueCertificate(ca, { subject: { CN: 'MZP107100', O: 'Demo Depot SARL' }, usage: 'client', notBefore: new Date(now - 400 * DAY), notAfter: new Date(now - 10 * DAY) })
  const p12 = await writeFixture(files, 'expired-partner.p12', toPkcs12({ certPem: partner.certPem, keyPem: partner.keyPem, passphrase: 'expired-pass' }))

  await page.getByRole('navigation').getByRole('button', { name: 'Settings' }).click()
  const card = page.locator('[data-profile="Simulator"]')
  await card.getByText('Replace the certificate').click()
  app.nextFiles([p12])
  await card.getByRole('button', { name: 'Choose certificate…' }).click()
  await card.getByText('expired-partner.p12').waitFor()
  await card.getByLabel('Passphrase').fill('expired-pass')
  await card.getByRole('button', { name: 'Import certificate' }).click()
  await card.locator('.certificate[data-status="expired"]').waitFor()
  await card.getByText(/^Expired (9|10|11) days ago$/).waitFor()
  await card.getByText('Token requests are blocked until you import a valid certificate.').waitFor()
  await card.locator('.certificate').scrollIntoViewIfNeeded()
  await app.screenshot('settings-expired')
  await assertAccessible(app, 'settings-expired')

  const before = simulator.stats.requests
  await page.getByRole('navigation').getByRole('button', { name: 'Vehicles' }).click()
  await page.getByRole('button', { name: `Request token for ${VIN}` }).click()
  await page.getByRole('button', { name: 'Request token' }).click()
  const panel = page.locator('.error-panel[data-code="config.certificate-expired"]')
  await panel.waitFor({ timeout: 20_000 })
  await panel.getByRole('heading', { name: 'The partner certificate has expired' }).waitFor()
  await panel.getByText(/import it in Settings/).waitFor()
  assert.equal(simulator.stats.requests, before, 'nothing reached the server')
  await assertNoProblems(app)
})
