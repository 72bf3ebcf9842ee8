/**
 * Certificate renewal in the app (issue 13), in Chromium against the real handlers under a
 * moved clock: the banner on every screen at 60/30/10 days (amber, then red), "Renew now"
 * opening the request wizard with the same subject, the CSR saved through the save dialog
 * and checked by openssl, the signed answer (test CA, openssl CLI) imported with no key
 * file, and no private key in clear in the data folder at any step. English and French.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { findSecretsInClear } from '../helpers/depot-env'
import { inspectCsr, makeTestCa, signCsr } from '../helpers/openssl-ca'
import { assertAccessible, assertNoProblems, browserForFile, workDir, type App } from './harness'

const browser = browserForFile()
const DAY = 24 * 60 * 60 * 1000

/** A clock the test moves: the handlers' `now` is the real time plus an offset. */
function movableClock(): { now: () => Date; setDaysLeft: (notAfter: number, daysLeft: number) => void } {
  let offsetMs = 0
  return {
    now: () => new Date(Date.now() + offsetMs),
    setDaysLeft(notAfter, daysLeft) {
      offsetMs = notAfter - daysLeft * DAY - 60 * 60 * 1000 - Date.now()
    },
  }
}

/** "Try the simulator" through the handlers; returns the demo certificate's end and the login. */
async function simulatorProfile(app: App): Promise<{ notAfter: number; login: string }> {
  const profile = await app.call('simulator:try')
  assert.ok(profile.certificate)
  return { notAfter: Date.parse(profile.certificate.notAfter), login: profile.login }
}

/** No PEM private key, and none of the keys VK Depot holds (read back through the vault), in the data folder. */
async function assertNoKeyInClear(app: App, step: string): Promise<void> {
  const secrets = await (await app.handlers.depot.vault()).loadProfileSecrets('Simulator')
  const keys = [secrets?.keyPem, ...(secrets?.pendingRequests ?? []).map((p) => p.keyPem)].filter((k): k is string => Boolean(k))
  const lines = keys.flatMap((pem) =>
    pem
      .split('\n')
      .filter((line) => line.length === 64)
      .slice(1, 4),
  )
  assert.deepEqual(await findSecretsInClear(app.dataDir, lines), [], `a private key in clear in the data folder after ${step}`)
}

test('the renewal banner shows on every screen from 60 days (amber) and 10 days (red); Renew now makes a request, and its signed answer installs without a key file', async (t) => {
  const clock = movableClock()
  const app = await browser.openApp(t, { now: clock.now })
  const { page } = app
  const files = await workDir(t)
  const { notAfter, login } = await simulatorProfile(app)
  const banner = page.getByTestId('renewal-banner')
  const vehicles = page.getByRole('heading', { level: 1, name: 'Vehicles' })

  clock.setDaysLeft(notAfter, 61)
  await app.reload()
  await vehicles.waitFor()
  assert.equal(await banner.count(), 0, 'no banner more than 60 days before expiry')

  clock.setDaysLeft(notAfter, 60)
  await app.reload()
  await banner.getByText('The partner certificate expires in 60 days').waitFor()
  assert.equal(await banner.getAttribute('data-tone'), 'amber')

  clock.setDaysLeft(notAfter, 30)
  await app.reload()
  await banner.getByText('The partner certificate expires in 30 days').waitFor()
  assert.equal(await banner.getAttribute('data-tone'), 'amber')
  await app.screenshot('renewal-banner')
  for (const screen of ['History', 'Settings', 'Vehicles']) {
    await page.getByRole('navigation').getByRole('button', { name: screen }).click()
    await page.getByRole('heading', { level: 1, name: screen }).waitFor()
    assert.equal(await banner.count(), 1, `the banner is on ${screen}`)
  }

  clock.setDaysLeft(notAfter, 10)
  await app.reload()
  await banner.getByText('The partner certificate expires in 10 days').waitFor()
  assert.equal(await banner.getAttribute('data-tone'), 'red')
  assert.equal(await banner.getAttribute('role'), 'alert')
  await app.screenshot('renewal-banner-urgent')
  await assertAccessible(app, 'renewal-banner-urgent')

  // Renew now: the wizard, prefilled with the current certificate's subject.
  await banner.getByRole('button', { name: 'Renew now' }).click()
  const wizard = page.getByTestId('cert-request-wizard')
  await wizard.getByRole('heading', { name: 'Request a certificate' }).waitFor()
  await wizard.getByTestId('csr-cn').getByText(`CN=${login}`).waitFor()
  await wizard.getByText('OU=Programs Partners').waitFor()
  const country = wizard.getByLabel('Country (2 letters)')
  await page.waitForFunction(() => (document.querySelector('[data-testid="cert-request-wizard"] input[type="email"]') as HTMLInputElement | null)?.value !== '')
  assert.equal(await wizard.getByLabel('E-mail address').inputValue(), 'fleet@demo-depot.example')
  assert.equal(await country.inputValue(), 'FR')
  assert.equal(await wizard.getByLabel('Company').inputValue(), 'Demo Depot SARL')
  await app.screenshot('cert-request-wizard')
  await assertAccessible(app, 'cert-request-wizard')

  // Bad fields are refused in the page, before any dialog or key.
  await country.fill('F1')
  await wizard.getByLabel('Company').fill('Demo\tDepot')
  await wizard.getByRole('button', { name: 'Make the request and save it…' }).click()
  await wizard.getByText('Enter the two-letter country code, e.g. FR.').waitFor()
  await wizard.getByText('Enter the company name (no line breaks or tabs, at most 64 characters).').waitFor()
  assert.equal(app.dialogs.asked.length, 0)
  await country.fill('fr')
  await wizard.getByLabel('Company').fill('Demo Depot SARL')

  // A cancelled save dialog makes nothing.
  app.nextSavePath(undefined)
  await wizard.getByRole('button', { name: 'Make the request and save it…' }).click()
  await wizard.getByText('Not saved: no key was made.', { exact: false }).waitFor()
  assert.deepEqual((await app.call('certificate:requests', { profile: 'Simulator' })).pending, [])

  const csrPath = join(files, 'renewal.csr')
  app.nextSavePath(csrPath)
  await wizard.getByRole('button', { name: 'Make the request and save it…' }).click()
  await wizard.getByTestId('csr-saved').getByText('Request saved as renewal.csr.').waitFor()
  await wizard.getByText('Send this file to your Stellantis contact, from fleet@demo-depot.example.', { exact: false }).waitFor()
  await wizard.getByText("Request waiting for Stellantis' answer").waitFor()
  assert.deepEqual(app.dialogs.asked.at(-1), { kind: 'save', suggestedName: `${login}-certificate-request.csr`, format: 'csr' })
  await app.screenshot('cert-request-sent')
  const { subject, verify, text } = await inspectCsr(csrPath)
  assert.match(verify, /verify OK/)
  assert.match(text, /Public-Key: \(2048 bit\)/)
  assert.deepEqual(subject, [
    'C=FR',
    'ST=Ile-de-France',
    'L=Paris',
    'O=Demo Depot SARL',
    'OU=Programs Partners',
    `CN=${login}`,
    'emailAddress=fleet@demo-depot.example',
  ])
  assert.doesNotMatch(await readFile(csrPath, 'utf8'), /PRIVATE KEY/)
  const [pending] = (await app.call('certificate:requests', { profile: 'Simulator' })).pending
  await wizard.getByText(pending!.keyFingerprintSha256).waitFor()
  await assertNoKeyInClear(app, 'the request')

  // Stellantis' answer: signed by a test CA with the openssl CLI, long enough to clear the banner.
  const ca = await makeTestCa(files)
  const signed = await signCsr(ca, csrPath, join(files, 'signed.crt'), { days: 800, withChain: true })
  app.nextFiles([signed])
  await wizard.getByRole('button', { name: 'Import the signed certificate…' }).click()
  await wizard.getByText('The new certificate is imported and in use.').waitFor()
  await page.locator('[data-profile="Simulator"]').getByText('O=VK Depot tests, CN=Test Stellantis Partner CA', { exact: true }).waitFor()
  await banner.waitFor({ state: 'detached' })
  assert.deepEqual((await app.call('certificate:requests', { profile: 'Simulator' })).pending, [], 'the pending key is consumed')
  await assertNoKeyInClear(app, 'the import')
  await assertNoProblems(app)
})

test('in French: the banner, Renew now and the wizard; an expired certificate turns the banner red', async (t) => {
  const clock = movableClock()
  const app = await browser.openApp(t, { now: clock.now, systemLocale: 'fr-FR' })
  const { page } = app
  const { notAfter } = await simulatorProfile(app)
  const banner = page.getByTestId('renewal-banner')

  clock.setDaysLeft(notAfter, 25)
  await app.reload()
  await banner.getByText('Le certificat partenaire expire dans 25 jours').waitFor()
  assert.equal(await banner.getAttribute('data-tone'), 'amber')
  await app.screenshot('renewal-banner-fr')

  await banner.getByRole('button', { name: 'Renouveler maintenant' }).click()
  const wizard = page.getByTestId('cert-request-wizard')
  await wizard.getByRole('heading', { name: 'Demander un certificat' }).waitFor()
  await page.waitForFunction(() => (document.querySelector('[data-testid="cert-request-wizard"] input[type="email"]') as HTMLInputElement | null)?.value !== '')
  assert.equal(await wizard.getByLabel('Pays (2 lettres)').inputValue(), 'FR')
  await app.screenshot('cert-request-wizard-fr')
  await assertAccessible(app, 'cert-request-wizard-fr')

  clock.setDaysLeft(notAfter, -2)
  await app.reload()
  await banner.getByText('Le certificat partenaire a expiré').waitFor()
  assert.equal(await banner.getAttribute('data-tone'), 'red')
  await assertNoProblems(app)
})
