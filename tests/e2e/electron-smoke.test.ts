/**
 * The real app in the real Electron binary (Playwright `_electron`): start on an empty data
 * folder, "Try the simulator", import a CarData file, request a token from the simulator.
 * It also checks, from inside the running app, what the static tests can only read in the
 * source: the window is sandboxed and isolated, and the page has no Node.
 *
 * The binary cannot be downloaded on our Linux machines (ELECTRON_SKIP_BINARY_DOWNLOAD), so
 * there this test skips with one line; it runs wherever `npm install` fetched Electron.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { _electron as electron } from 'playwright'

const ROOT = path.resolve(import.meta.dirname, '../..')
const VIN = 'VF3MCYHZRKS123456'

/** The Electron executable, or undefined when the package has no binary. */
function electronBinary(): string | undefined {
  try {
    const found: unknown = createRequire(import.meta.url)('electron')
    return typeof found === 'string' && existsSync(found) ? found : undefined
  } catch {
    // electron/index.js throws "Electron failed to install correctly" without its binary.
    return undefined
  }
}

const executablePath = electronBinary()
const skip = executablePath ? false : 'needs the Electron binary (not installable here: ELECTRON_SKIP_BINARY_DOWNLOAD)'

test('the app starts sandboxed, tries the simulator, imports CarData and gets a token', { skip, timeout: 180_000 }, async (t) => {
  assert.ok(existsSync(path.join(ROOT, 'out/main/index.js')), 'out/ is missing: run `npx electron-vite build -c electron.config.ts` first')
  const home = await mkdtemp(path.join(tmpdir(), 'vkey-electron-'))
  t.after(() => rm(home, { recursive: true, force: true }))
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value
  delete env.ELECTRON_RENDERER_URL
  delete env.ELECTRON_RUN_AS_NODE
  env.VKEY_HOME = home

  // Chromium refuses to start as root with its sandbox on (CI containers); people never run as root.
  const rootOnly = process.getuid?.() === 0 ? ['--no-sandbox'] : []
  // The project folder, so Electron reads package.json ("main": out/main/index.js, name, version).
  const app = await electron.launch({ ...(executablePath ? { executablePath } : {}), args: [...rootOnly, ROOT], cwd: ROOT, env, timeout: 60_000 })
  t.after(() => app.close())
  const page = await app.firstWindow()

  // The running window, as Electron sees it. getLastWebPreferences() is undocumented (Electron's
  // own tests use it), so its absence in some future version skips only this comparison.
  const preferences = await app.evaluate(({ BrowserWindow }) => {
    type Preferences = Record<string, unknown>
    const contents = BrowserWindow.getAllWindows()[0]?.webContents as unknown as { getLastWebPreferences?: () => Preferences } | undefined
    const web = contents?.getLastWebPreferences?.()
    return web
      ? {
          contextIsolation: web.contextIsolation,
          sandbox: web.sandbox,
          nodeIntegration: web.nodeIntegration,
          webviewTag: web.webviewTag,
          webSecurity: web.webSecurity,
        }
      : null
  })
  if (preferences === null) t.diagnostic('getLastWebPreferences() is gone: window preferences not compared')
  else assert.deepEqual(preferences, { contextIsolation: true, sandbox: true, nodeIntegration: false, webviewTag: false, webSecurity: true })
  assert.equal(await app.evaluate(({ app: electronApp }) => electronApp.getName()), 'VK Depot')

  // The page: served from app://vkey, no Node, the bridge only (contextBridge refuses to
  // expose anything without context isolation, so a populated window.vkey proves it is on).
  const facts = await page.evaluate(() => ({
    url: location.href,
    require: typeof (globalThis as { require?: unknown }).require,
    process: typeof (globalThis as { process?: unknown }).process,
    vkey: Object.keys((window as unknown as { vkey: object }).vkey).length,
  }))
  assert.match(facts.url, /^app:\/\/vkey\//)
  assert.equal(facts.require, 'undefined')
  assert.equal(facts.process, 'undefined')
  assert.ok(facts.vkey > 20)

  // First run: the simulator profile.
  await page.getByRole('button', { name: 'Try the simulator' }).click()
  await page.locator('[data-profile="Simulator"]').waitFor({ timeout: 60_000 })

  // CarData, pasted as the page would read a dropped file (the main side never takes a path from the page).
  await page.getByRole('navigation').getByRole('button', { name: 'Vehicles' }).click()
  await page.getByRole('heading', { level: 1, name: 'Vehicles' }).waitFor()
  const cardata = await readFile(path.join(ROOT, 'tests/fixtures/cardata/sdk-vehicle.json'), 'utf8')
  await page.getByLabel('Or paste CarData JSON').fill(cardata)
  await page.getByRole('button', { name: 'Import pasted JSON' }).click()
  await page.locator(`tr[data-vin="${VIN}"]`).waitFor()

  // A 1 h token from the simulator over mutual TLS, shown as a QR code.
  await page.getByRole('button', { name: `Request token for ${VIN}` }).click()
  await page.getByRole('heading', { level: 1, name: 'Request a token' }).waitFor()
  await page.getByLabel('1 h', { exact: true }).check()
  await page.getByRole('button', { name: 'Request token' }).click()
  await page.getByRole('heading', { level: 1, name: 'Virtual key' }).waitFor({ timeout: 60_000 })
  await page.getByTestId('qr').waitFor()
  assert.equal(await page.getByTestId('token-vin').textContent(), VIN)
})
