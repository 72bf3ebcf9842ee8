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

test('each PSA status (400 to 504) shows one diagnosis, its next step and the support reference', async (t) => {
  const app = await browser.openApp(t, { viewport: { width: 1280, height: 960 } })
  await app.context.grantPermissions(['clipboard-read', 'clipboard-write'])
  const { page } = app
  await simulatorWithVehicle(app)
  const simulator = simulatorOf(app)
  await page.getByRole('button', { name: `Request token for ${VIN}` }).click()
  await page.getByRole('heading', { level: 1, name: 'Request a token' }).waitFor()

  // One diagnosis per status: the status is named once, and the core's message is not repeated beside it.
  const cases = [
    { status: 400, code: 'psa.bad-request', title: 'PSA found the request invalid', next: /Import the CarData again from the phone/ },
    { status: 401, code: 'psa.unauthorized', title: 'PSA did not accept the login', next: /Check the credentials in Settings/ },
    {
      status: 403,
      code: 'psa.forbidden',
      title: 'PSA refused this account',
      next: /check the profile's client ID and that the certificate's name \(CN\) is its login/,
    },
    { status: 404, code: 'psa.not-found', title: 'The token service was not found', next: /server URL \(it ends with \/connectedcar\/v3\)/ },
    { status: 408, code: 'psa.timeout', title: 'PSA took too long to answer', next: /Check the network connection/ },
    { status: 429, code: 'psa.rate-limited', title: 'Too many requests', next: /Wait a moment/ },
    { status: 500, code: 'server.error', title: 'PSA had an internal error', next: /Try again in a few minutes/ },
    { status: 502, code: 'server.bad-gateway', title: "PSA's gateway got no valid answer", next: /Try again in a few minutes/ },
    { status: 504, code: 'server.gateway-timeout', title: "PSA's gateway timed out", next: /Wait a minute before trying again/ },
  ]
  for (const c of cases) {
    // A Retry-After longer than the client waits by itself: the 429 reaches the page at once.
    simulator.faults.retryAfterSeconds = 120
    simulator.faults.statuses.push(c.status)
    await page.getByRole('button', { name: 'Request token' }).click()
    const panel = page.locator(`.error-panel[data-code="${c.code}"]`)
    await panel.waitFor({ timeout: 20_000 })
    assert.equal(await panel.getByRole('heading').first().textContent(), c.title)
    const text = (await panel.textContent()) ?? ''
    assert.match(text, c.next)
    assert.equal(text.split(`(${c.status})`).length - 1, 1, `(${c.status}) is stated once: ${text}`)
    assert.equal(await panel.locator('.error-panel__text').count(), 1)
    assert.equal(await panel.getAttribute('role'), 'alert')

    // The simulator answers with PSA's error body: its code, uuid and timestamp are shown.
    await panel.getByText('For PSA support').waitFor()
    const uuid = (await panel.locator('dd').nth(1).textContent()) ?? ''
    assert.match(uuid, /^[0-9a-f-]{36}$/)
    if (c.status === 429) await panel.getByText('PSA accepts new requests in 120 s.').waitFor()
    // Where the way forward is in Settings (the login, the account), a button goes there.
    assert.equal(
      await panel.getByRole('button', { name: 'Open Settings' }).count(),
      c.status === 401 || c.status === 403 ? 1 : 0,
      `Open Settings on ${c.status}`,
    )
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
  simulator.faults.statuses.push(401)
  await page.getByRole('button', { name: 'Request token' }).click()
  await page.locator('.error-panel[data-code="psa.unauthorized"]').getByRole('button', { name: 'Open Settings' }).click()
  await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor()
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
  const partner = issueCertificate(ca, {
    subject: { CN: 'MZP107100', O: 'Demo Depot SARL' },
    usage: 'client',
    notBefore: new Date(now - 400 * DAY),
    notAfter: new Date(now - 10 * DAY),
  })
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
  // The import's own message says so too, not a bare "Certificate imported." above an expired one.
  await card.getByText('Certificate imported, but it has expired: token requests stay blocked until you import a valid one.').waitFor()
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
