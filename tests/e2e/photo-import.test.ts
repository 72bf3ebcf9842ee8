/**
 * Photos and screenshots of the phone's CarData code in the app: by the file dialog (decoded
 * by the main side, electron/core/qr-reader.ts) and by drop (decoded in the page's worker),
 * with the UIN, the age and the warnings shown; an unrelated code gives an error naming the file.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { access, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { encodeExportFrames, qrPng } from '../../scripts/cardata-qr'
import { demoExport, type DemoExport } from '../helpers/cardata-qr-fixtures'
import { assertNoProblems, browserForFile, workDir, type App } from './harness'

const run = promisify(execFile)
const CONVERT = '/usr/bin/convert'
const skip = (await access(CONVERT).then(
  () => true,
  () => false,
))
  ? false
  : 'ImageMagick is not installed (apt-get install -y imagemagick): /usr/bin/convert is missing'
const browser = browserForFile()

async function phonePhoto(png: Buffer, dir: string, name: string): Promise<string> {
  const frame = join(dir, `${name}.frame.png`)
  await writeFile(frame, png)
  const out = join(dir, name)
  await run(CONVERT, [
    frame,
    '-bordercolor',
    '#3c3c3c',
    '-border',
    '50',
    '-background',
    '#808080',
    '-rotate',
    '8',
    '-blur',
    '0x1.2',
    '-quality',
    '60',
    `jpeg:${out}`,
  ])
  return out
}

async function drop(app: App, files: Array<{ name: string; bytes: Buffer }>): Promise<void> {
  const payload = files.map((f) => ({ name: f.name, base64: f.bytes.toString('base64') }))
  const dataTransfer = await app.page.evaluateHandle((list) => {
    const transfer = new DataTransfer()
    for (const file of list) transfer.items.add(new File([Uint8Array.from(atob(file.base64), (c) => c.charCodeAt(0))], file.name))
    return transfer
  }, payload)
  await app.page.getByTestId('drop-zone').dispatchEvent('drop', { dataTransfer })
}

async function storedCarData(app: App, car: DemoExport): Promise<unknown> {
  const store = await app.handlers.depot.handovers()
  const record = (await store.list()).find((r) => r.vin === car.vin)
  return record ? store.carDataOf(record) : undefined
}

test('a phone photo by the file dialog and a screenshot by drop: imported with exact CarData; stale and mismatched CarData warn', { skip }, async (t) => {
  const app = await browser.openApp(t)
  const { page } = app
  const dir = await workDir(t)
  await page.getByRole('navigation').getByRole('button', { name: 'Vehicles' }).click()

  const old = demoExport(21, { signatureBytes: 150, timestamp: new Date(Date.now() - 40 * 86_400_000), innerUin: 'INNERUIN0021' })
  const photo = await phonePhoto((await encodeExportFrames(old.text)).pngs[0] ?? Buffer.alloc(0), dir, 'IMG_2041.HEIC.bin')
  app.nextFiles([photo])
  await page.getByRole('button', { name: 'Choose files…' }).click()
  await page.locator(`tr[data-vin="${old.vin}"]`).waitFor({ timeout: 30_000 })
  assert.deepEqual(await storedCarData(app, old), { carData: old.carData, carDataSignature: old.carDataSignature })
  const notes = page.getByTestId('cardata-notes')
  await notes.getByText(/UIN INNERUIN0021, CarData made .*\(40 days old\)/).waitFor()
  await notes.locator('[data-warning="uin-mismatch"]').getByText('The UIN in the file differs from the one inside CarData.').waitFor()
  await notes.locator('[data-warning="stale"]').getByText('This CarData is 40 days old.').waitFor()
  // The summary counts the warnings and is amber, not a green "Problems: 0." above them.
  const summary = page.getByTestId('import-summary')
  assert.equal(await summary.textContent(), 'Vehicles added: 1. Problems: 0. 2 warnings below: check them before requesting a key.')
  assert.match((await summary.getAttribute('class')) ?? '', /notice--warning/)
  await app.screenshot('photo-import-warnings')

  const fresh = demoExport(22, { signatureBytes: 150 })
  await drop(app, [{ name: 'Screenshot 2026-12-01.png', bytes: (await encodeExportFrames(fresh.text)).pngs[0] ?? Buffer.alloc(0) }])
  await page.locator(`tr[data-vin="${fresh.vin}"]`).waitFor({ timeout: 30_000 })
  assert.deepEqual(await storedCarData(app, fresh), { carData: fresh.carData, carDataSignature: fresh.carDataSignature })
  await page.getByText('Vehicles added: 1. Problems: 0.').waitFor()
  assert.equal(await notes.locator('[data-warning]').count(), 0, 'fresh, matching CarData has no warning')
  assert.equal(await summary.textContent(), 'Vehicles added: 1. Problems: 0.')
  assert.match((await summary.getAttribute('class')) ?? '', /notice--ok/)
  await assertNoProblems(app)
})

test('a photo of an unrelated QR code, dropped or chosen: an error naming the file, nothing imported', { skip }, async (t) => {
  const app = await browser.openApp(t)
  const { page } = app
  const dir = await workDir(t)
  await page.getByRole('navigation').getByRole('button', { name: 'Vehicles' }).click()
  const menu = await phonePhoto(await qrPng('https://example.com/menu'), dir, 'menu.jpg')

  await drop(app, [{ name: 'menu.jpg', bytes: await readFile(menu) }])
  const issue = page.locator('.issue-list__item', { hasText: 'menu.jpg' })
  await issue.getByText(/shows a QR code that is not a VK Depot CarData code/).waitFor({ timeout: 30_000 })

  app.nextFiles([menu])
  await page.getByRole('button', { name: 'Choose files…' }).click()
  await page.getByText('Vehicles added: 0. Problems: 1.').waitFor({ timeout: 30_000 })
  await issue.getByText(/shows a QR code that is not a VK Depot CarData code/).waitFor()
  assert.equal((await (await app.handlers.depot.handovers()).list()).length, 0)
  await assertNoProblems(app)
})
