/**
 * First run, settings and CarData import, in Chromium against the real handlers.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { parseCarData } from '../../shared/cardata'
import { assertAccessible, assertNoProblems, browserForFile, cardataFixture, workDir, writeFixture } from './harness'

const browser = browserForFile()

test('first run: "Try the simulator" sets up a profile whose certificate subject and days left are shown', async (t) => {
  const app = await browser.openApp(t)
  const { page } = app
  await page.getByTestId('first-run').waitFor()
  await page.getByRole('heading', { level: 1, name: 'Welcome to VK Depot' }).waitFor()
  await app.screenshot('first-run')
  await assertAccessible(app, 'first-run')

  await page.getByRole('button', { name: 'Try the simulator' }).click()
  const card = page.locator('[data-profile="Simulator"]')
  await card.waitFor({ timeout: 30_000 })

  const { profiles } = await app.call('profiles:list')
  const certificate = profiles[0]?.certificate
  assert.ok(certificate, 'the simulator profile has a certificate')
  await card.getByText(certificate.subject, { exact: true }).waitFor()
  await card.getByText(certificate.issuer, { exact: true }).waitFor()
  const state = await card.locator('.certificate__state').textContent()
  assert.match(state ?? '', new RegExp(`${certificate.daysLeft} days left`))
  assert.equal(await card.getByText('Active', { exact: true }).count(), 1)
  assert.equal(await page.getByTestId('first-run').count(), 0, 'the welcome panel goes away once a profile exists')
  assert.match((await page.locator('.profile-chip').textContent()) ?? '', /Simulator/)

  await app.screenshot('settings')
  await assertAccessible(app, 'settings')
  await assertNoProblems(app)
})

test('CarData imports by file dialog, by drop and by paste; a bad file shows the file and the field', async (t) => {
  const app = await browser.openApp(t)
  const { page } = app
  const files = await workDir(t)
  await page.getByRole('navigation').getByRole('button', { name: 'Vehicles' }).click()
  await page.getByRole('heading', { level: 1, name: 'Vehicles' }).waitFor()
  await page.getByText('No vehicles yet').waitFor()

  // 1. The file dialog (the double answers with a fixture the test wrote).
  const sdkPath = await writeFixture(files, 'phone-export.json', await cardataFixture('sdk-vehicle.json'))
  app.nextFiles([sdkPath])
  await page.getByRole('button', { name: 'Choose files…' }).click()
  await page.locator('tr[data-vin="VF3MCYHZRKS123456"]').waitFor()
  await page.getByText('Vehicles added: 1. Problems: 0.').waitFor()
  assert.deepEqual(app.dialogs.asked[0], { kind: 'open', purpose: 'cardata', multiple: true })

  // 2. A real drop event carrying two File objects built in the page.
  const dropped = [
    { name: 'fleet-list.json', text: await cardataFixture('vehicles-list.json') },
    { name: 'api-body.json', text: await cardataFixture('api-body.json') },
  ]
  const dataTransfer = await page.evaluateHandle((list) => {
    const transfer = new DataTransfer()
    for (const file of list) transfer.items.add(new File([file.text], file.name, { type: 'application/json' }))
    return transfer
  }, dropped)
  await page.getByTestId('drop-zone').dispatchEvent('dragenter', { dataTransfer })
  await page.getByTestId('drop-zone').dispatchEvent('drop', { dataTransfer })
  await page.getByText('Vehicles added: 4. Problems: 0.').waitFor()
  for (const vin of ['VF7SAHMZ6LW123456', 'W0VZRHNSXMS654321', 'VR1URHNSSKW012345']) await page.locator(`tr[data-vin="${vin}"]`).waitFor()

  // 3. Pasted JSON.
  const pasted = JSON.parse(await cardataFixture('sdk-vehicle.json')) as Record<string, unknown>
  pasted.vin = 'VF3PASTED0E000001'
  pasted.label = 'Pasted car'
  await page.getByLabel('Or paste CarData JSON').fill(JSON.stringify(pasted))
  await page.getByRole('button', { name: 'Import pasted JSON' }).click()
  await page.locator('tr[data-vin="VF3PASTED0E000001"]').waitFor()
  assert.equal(await page.getByLabel('Or paste CarData JSON').inputValue(), '', 'the paste box is emptied after a successful import')

  // The vehicle without a VIN gets one inline, checked with the same rule as the main side.
  const vinInput = page.getByLabel('VIN for Berlingo van (line-wrapped CarData)')
  await vinInput.fill('VF3MCYHZRKS12345O')
  await page.getByRole('button', { name: 'Save VIN' }).click()
  await page.getByText('A VIN has 17 letters and digits, without I, O or Q.').waitFor()
  await vinInput.fill('vf3mcyhzrks654321')
  await page.getByRole('button', { name: 'Save VIN' }).click()
  await page.locator('tr[data-vin="VF3MCYHZRKS654321"]').waitFor()
  const { handovers } = await app.call('handovers:list')
  assert.ok(handovers.some((h) => h.vin === 'VF3MCYHZRKS654321' && h.label === 'Berlingo van (line-wrapped CarData)'))

  // 4. A file with problems: every problem is listed with its file and field.
  const badText = await cardataFixture('with-problems.json')
  const badPath = await writeFixture(files, 'with-problems.json', badText)
  const expected = parseCarData(badText, 'with-problems.json').issues
  assert.ok(expected.length >= 2)
  app.nextFiles([badPath])
  await page.getByRole('button', { name: 'Choose files…' }).click()
  await page.getByText(`Vehicles added: 1. Problems: ${expected.length}.`).waitFor()
  const items = page.getByRole('list', { name: 'Import problems' }).getByRole('listitem')
  assert.equal(await items.count(), expected.length)
  for (const [index, issue] of expected.entries()) {
    const text = (await items.nth(index).textContent()) ?? ''
    assert.ok(text.includes('with-problems.json'), `issue ${index} names the file: ${text}`)
    assert.ok(issue.field && text.includes(issue.field), `issue ${index} names the field ${issue.field}: ${text}`)
  }

  // A file that is not JSON at all, dropped: one problem naming it.
  const notJson = await page.evaluateHandle(() => {
    const transfer = new DataTransfer()
    transfer.items.add(new File(['this is not json'], 'notes.txt', { type: 'text/plain' }))
    return transfer
  })
  await page.getByTestId('drop-zone').dispatchEvent('drop', { dataTransfer: notJson })
  await page.getByText('Vehicles added: 0. Problems: 1.').waitFor()
  assert.match((await items.first().textContent()) ?? '', /notes\.txt/)

  await page.getByText(`Vehicles added: 0. Problems: 1.`).waitFor()
  await app.screenshot('vehicles')
  await assertAccessible(app, 'vehicles')

  await page.getByRole('navigation').getByRole('button', { name: 'History' }).click()
  await page.getByLabel('VIN', { exact: true }).fill('VF7SAH')
  // The list reloads as the filter changes: wait for it to settle on the one match.
  await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 1, undefined, { timeout: 5000 })
  assert.match((await page.locator('tbody tr').textContent()) ?? '', /VF7SAHMZ6LW123456/)
  await page.getByLabel('Status').selectOption('issued')
  await page.getByText('Nothing matches these filters.').waitFor()
  await page.getByLabel('Status').selectOption('')
  await page.locator('tbody tr').first().waitFor()
  await app.screenshot('history')
  await assertAccessible(app, 'history')
  await assertNoProblems(app)
})

test('the English and French translations have the same keys', async () => {
  const dir = fileURLToPath(new URL('../../renderer/src/i18n/', import.meta.url))
  const keys = (value: unknown, prefix = ''): string[] =>
    value !== null && typeof value === 'object' ? Object.entries(value).flatMap(([key, child]) => keys(child, `${prefix}${key}.`)) : [prefix.slice(0, -1)]
  const en = keys(JSON.parse(await readFile(join(dir, 'en.json'), 'utf8'))).sort()
  const fr = keys(JSON.parse(await readFile(join(dir, 'fr.json'), 'utf8'))).sort()
  assert.ok(en.length > 100)
  assert.deepEqual(fr, en)
  const frText = JSON.parse(await readFile(join(dir, 'fr.json'), 'utf8')) as { token: { title: string } }
  assert.notEqual(frText.token.title, 'Virtual key', 'French is translated, not copied')
})
