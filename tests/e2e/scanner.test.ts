/**
 * Vehicles → Scan from phone in Debian's Chromium with a fake camera: Chromium plays a .y4m
 * video (tests/helpers/y4m.ts) of the reference encoder's codes as the laptop camera. One
 * browser per case, since the camera file is a browser switch.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { decodeCarDataInner } from '../../shared/cardata-inner'
import { encodeCarDataQr } from '../../shared/cardata-qr'
import { demoExport, type DemoExport } from '../helpers/cardata-qr-fixtures'
import { writeCodeVideo } from '../helpers/y4m'
import { assertAccessible, assertNoProblems, launchBrowser, workDir, type App } from './harness'

const FAKE_CAMERA = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']
/** Bounded, and generous: on a loaded 2-core CI machine a browser can take half a minute before the scan even starts. */
const SCAN_TIMEOUT = 120_000

/** Records every stream the page opens, so a test can see the camera stop, and when each frame went to the decoder. */
const STREAM_SPY = `(() => {
  const streams = [];
  Object.defineProperty(window, '__streams', { value: streams });
  const md = navigator.mediaDevices;
  if (!md) return;
  const original = md.getUserMedia.bind(md);
  md.getUserMedia = async (constraints) => { const s = await original(constraints); streams.push(s); return s; };
  const decodes = [];
  Object.defineProperty(window, '__decodes', { value: decodes });
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (...args) { decodes.push(performance.now()); return post.apply(this, args); };
})();`

/**
 * Waits for the scan's end text; when it does not come, the failure says where the scan stood:
 * the scanner's status, how many frames went to the decoder and over how long, the video's state.
 */
async function waitForScanEnd(app: App, text: string): Promise<void> {
  try {
    await app.page.getByText(text).waitFor({ timeout: SCAN_TIMEOUT })
  } catch (error) {
    const where = await app.page
      .evaluate(() => {
        const decodes = (window as unknown as { __decodes: number[] }).__decodes
        const video = document.querySelector('video')
        const status = document.querySelector('[data-testid="phone-scanner"]')?.textContent
        const span = decodes.length > 1 ? Math.round(decodes[decodes.length - 1]! - decodes[0]!) : 0
        return `scanner: ${JSON.stringify(status)}; ${decodes.length} frames sent to the decoder over ${span} ms; video: ${video ? `readyState ${video.readyState}, paused ${video.paused}, t ${video.currentTime}` : 'none'}`
      })
      .catch((reason: unknown) => `page not readable: ${String(reason)}`)
    throw new Error(`${(error as Error).message}\n${where}`, { cause: error })
  }
}

async function appWithCamera(t: TestContext, args: string[], options: { locale?: string } = {}): Promise<{ app: App; requests: string[] }> {
  const browser = await launchBrowser(args)
  t.after(() => browser.close())
  const app = await browser.openApp(t, options.locale ? { systemLocale: options.locale } : {})
  const requests: string[] = []
  app.page.on('request', (request) => requests.push(request.url()))
  await app.page.addInitScript({ content: STREAM_SPY })
  await app.reload()
  const vehicles = options.locale?.startsWith('fr') ? 'Véhicules' : 'Vehicles'
  await app.page.getByRole('navigation').getByRole('button', { name: vehicles }).click()
  await app.page.getByRole('heading', { level: 1, name: vehicles }).waitFor()
  return { app, requests }
}

async function cameraVideo(t: TestContext, car: DemoExport, options: { angle?: number; noise?: number; sequence?: number[] } = {}): Promise<string> {
  const path = join(await workDir(t), 'camera.y4m')
  await writeCodeVideo(path, encodeCarDataQr(car.text), { width: 640, height: 480, moduleSize: 3, framesPerCode: 5, fps: 10, ...options })
  return path
}

/** The vehicle is in the list and its stored CarData is exactly the export's. */
async function assertImported(app: App, car: DemoExport): Promise<void> {
  await app.page.locator(`tr[data-vin="${car.vin}"]`).waitFor({ timeout: SCAN_TIMEOUT })
  const store = await app.handlers.depot.handovers()
  const record = (await store.list()).find((r) => r.vin === car.vin)
  assert.ok(record, 'the vehicle was stored')
  assert.deepEqual(store.carDataOf(record), { carData: car.carData, carDataSignature: car.carDataSignature })
}

async function cameraStopped(app: App): Promise<boolean> {
  return app.page.evaluate(() => {
    const streams = (window as unknown as { __streams: MediaStream[] }).__streams
    return streams.length > 0 && streams.every((s) => s.getTracks().every((track) => track.readyState === 'ended'))
  })
}

function onlyOwnOrigin(app: App, requests: string[]): void {
  const own = new URL(app.page.url()).origin
  assert.deepEqual(
    requests.filter((url) => !url.startsWith(own) && !url.startsWith('data:') && !url.startsWith('blob:')),
    [],
    'no request leaves the app origin',
  )
}

test('a one-part code: scanned, success shown, the vehicle imported with exact CarData, the camera stopped, no network', async (t) => {
  const car = demoExport(11, { signatureBytes: 150, timestamp: new Date(Date.now() - 2 * 86_400_000) })
  assert.equal(encodeCarDataQr(car.text).length, 1)
  const { app, requests } = await appWithCamera(t, [...FAKE_CAMERA, `--use-file-for-fake-video-capture=${await cameraVideo(t, car)}`])
  const { page } = app
  await page.getByRole('button', { name: 'Scan from phone' }).click()
  const scanner = page.getByTestId('phone-scanner')
  await scanner.locator('[data-testid="scan-complete"]').waitFor({ timeout: SCAN_TIMEOUT })
  await page.getByText('CarData read from the phone. The vehicle is imported below.').waitFor()
  await assertImported(app, car)
  await page.getByText('Vehicles added: 1. Problems: 0.').waitFor()
  // CarData understood: the UIN inside and its age.
  const inner = decodeCarDataInner(car.carData)
  await page
    .getByTestId('cardata-notes')
    .getByText(new RegExp(`UIN ${inner?.uin}, CarData made .*\\(2 days old\\)`))
    .waitFor()
  assert.equal(await scanner.getAttribute('data-camera'), 'off')
  assert.ok(await cameraStopped(app), 'the camera stops when the scan ends')
  await app.screenshot('scanner-done')
  await assertAccessible(app, 'scanner done')
  onlyOwnOrigin(app, requests)
  await assertNoProblems(app)
})

const SHUFFLED = [3, 1, 0, 4, 2]

test('a 5-part loop: assembled, exact CarData, no network', async (t) => {
  const car = demoExport(12)
  assert.equal(encodeCarDataQr(car.text).length, 5)
  const { app, requests } = await appWithCamera(t, [...FAKE_CAMERA, `--use-file-for-fake-video-capture=${await cameraVideo(t, car)}`])
  const { page } = app
  await page.getByRole('button', { name: 'Scan from phone' }).click()
  await waitForScanEnd(app, 'CarData read from the phone (5 parts). The vehicle is imported below.')
  await assertImported(app, car)
  assert.ok(await cameraStopped(app))
  onlyOwnOrigin(app, requests)
  await assertNoProblems(app)
})

test('a partial loop (3 of 5 parts) shows "3 of 5" and imports nothing; leaving the screen stops the camera (French, then English)', async (t) => {
  const car = demoExport(14)
  const partial = join(await workDir(t), 'partial.y4m')
  await writeCodeVideo(partial, encodeCarDataQr(car.text).slice(0, 3), { width: 640, height: 480, moduleSize: 3, framesPerCode: 5, fps: 10 })
  const { app } = await appWithCamera(t, [...FAKE_CAMERA, `--use-file-for-fake-video-capture=${partial}`], { locale: 'fr-FR' })
  const { page } = app
  await page.getByRole('button', { name: 'Scanner depuis le téléphone' }).click()
  await page.getByText('Partie 3 sur 5 lue', { exact: false }).waitFor({ timeout: SCAN_TIMEOUT })
  await page.locator('[data-testid="phone-scanner"][data-state="scanning"][data-camera="on"]').waitFor()
  await app.screenshot('scanner-fr')
  assert.equal((await (await app.handlers.depot.handovers()).list()).length, 0, 'a partial scan imports nothing')
  await page.getByRole('navigation').getByRole('button', { name: 'Historique' }).click()
  await page.waitForFunction(() => {
    const streams = (window as unknown as { __streams: MediaStream[] }).__streams
    return streams.length === 1 && streams.every((s) => s.getTracks().every((track) => track.readyState === 'ended'))
  })

  await app.call('settings:set', { locale: 'en' })
  await app.reload()
  await page.getByRole('navigation').getByRole('button', { name: 'Vehicles' }).click()
  await page.getByRole('button', { name: 'Scan from phone' }).click()
  await page.getByText('Part 3 of 5 read', { exact: false }).waitFor({ timeout: SCAN_TIMEOUT })
  await app.screenshot('scanner')
  await assertAccessible(app, 'scanner')
  await page.getByRole('button', { name: 'Cancel' }).click()
  assert.equal(await page.getByTestId('phone-scanner').count(), 0)
  assert.ok(await cameraStopped(app), 'Cancel stops the camera')
  await assertNoProblems(app)
})

test('a turned, noisy 5-part loop shown out of order, in French: assembled, with the progress in French', async (t) => {
  const car = demoExport(13)
  const video = await cameraVideo(t, car, { angle: 7, noise: 35, sequence: SHUFFLED })
  const { app } = await appWithCamera(t, [...FAKE_CAMERA, `--use-file-for-fake-video-capture=${video}`], { locale: 'fr-FR' })
  const { page } = app
  await page.getByRole('button', { name: 'Scanner depuis le téléphone' }).click()
  await waitForScanEnd(app, 'CarData lu depuis le téléphone (5 parties). Le véhicule est importé ci-dessous.')
  await assertImported(app, car)
  await assertNoProblems(app)
})

test('camera access refused: a clear message, nothing imported', async (t) => {
  const { app } = await appWithCamera(t, ['--use-fake-device-for-media-stream', '--deny-permission-prompts'])
  const { page } = app
  await page.getByRole('button', { name: 'Scan from phone' }).click()
  await page.locator('[data-problem="denied"]').waitFor({ timeout: SCAN_TIMEOUT })
  await page.getByText(/Camera access was refused\. Allow VK Depot to use the camera/).waitFor()
  await app.screenshot('scanner-denied')
  assert.equal((await app.handlers.depot.handovers().then((s) => s.list())).length, 0)
  await page.getByRole('button', { name: 'Cancel' }).click()
  assert.equal(await page.getByTestId('phone-scanner').count(), 0)
})

test('no camera: a clear message', async (t) => {
  const { app } = await appWithCamera(t, ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream=device-count=0'])
  const { page } = app
  await page.getByRole('button', { name: 'Scan from phone' }).click()
  await page.locator('[data-problem="no-camera"]').waitFor({ timeout: SCAN_TIMEOUT })
  await page.getByText(/No camera was found\. Connect a camera and try again/).waitFor()
})
