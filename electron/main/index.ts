/**
 * VK Depot's Electron main process: lifecycle, the window and wiring only. Everything
 * the app does lives in electron/core (plain Node, tested without Electron); the pure
 * parts of this glue live beside it (origins, app-protocol, window-options, hardening,
 * dialogs, ipc) so the tests can check them without the Electron binary.
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { app, BrowserWindow, clipboard, dialog, protocol, session } from 'electron'
import Store from 'electron-store'
import type { HandlerDeps, KeyValueStore } from '../app/app-deps'
import { createHandlers } from '../app/handlers'
import { failureLine } from '../app/handlers/context'
import { adoptDataFolder } from '../core/data-folder'
import { appName } from '../core/paths'
import { settingsDeserializer } from '../core/settings-store'
import { appSchemePrivileges, serveAppRequest } from './app-protocol'
import { createDialogs } from './dialogs'
import { hardenSession, hardenWebContents } from './hardening'
import { createEventSink, registerElectronIpc } from './ipc'
import { appScheme, rendererSource } from './origins'
import { windowOptions } from './window-options'

const log = (message: string): void => console.warn(`[vkey:security] ${message}`)
/** The handlers' log (HandlerDeps.log): background work that failed. */
const appLog = (line: string): void => console.warn(`[vkey] ${line}`)
const here = path.dirname(fileURLToPath(import.meta.url))
const preloadPath = path.join(here, '../preload/index.cjs')
const rendererRoot = path.join(here, '../renderer')

// Before anything reads a path: the name fixes the user-data folder ("VK Depot", shared
// with the CLI), and VKEY_HOME moves it (tests, portable setups) so both use one folder.
app.setName(appName)
const dataDir = resolveDataFolder()
app.setPath('userData', dataDir)
// Chromium's own profile (caches, Local Storage) in a folder of its own: the renderer keeps
// nothing there (tokens only cross IPC), and tests/e2e scans it to show that.
app.setPath('sessionData', path.join(dataDir, 'chromium'))

// Every renderer runs sandboxed, whatever a webPreferences object might say.
app.enableSandbox()
protocol.registerSchemesAsPrivileged([{ scheme: appScheme, privileges: appSchemePrivileges }])

const source = rendererSource(app.isPackaged, process.env.ELECTRON_RENDERER_URL)
const allowedOrigins = [source.origin]

let mainWindow: BrowserWindow | undefined
let handlers: Awaited<ReturnType<typeof createHandlers>> | undefined
let unregisterIpc: (() => void) | undefined
let quitState: 'running' | 'disposing' | 'done' = 'running'

if (!app.requestSingleInstanceLock()) {
  // Another VK Depot owns this data folder: it gets focus (second-instance) and we leave.
  app.quit()
} else {
  app.on('second-instance', () => focusMainWindow())
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, allowedOrigins, log))
  app.on('window-all-closed', () => app.quit())
  app.on('activate', () => {
    if (mainWindow === undefined && handlers !== undefined) createMainWindow()
  })
  app.on('before-quit', (event) => {
    if (quitState === 'done' || handlers === undefined) return
    event.preventDefault()
    if (quitState === 'disposing') return
    quitState = 'disposing'
    void disposeAll().finally(() => {
      quitState = 'done'
      app.quit()
    })
  })
  app.whenReady().then(start, (error: unknown) => fail(error))
}

/**
 * VKEY_HOME or Electron's folder for "VK Depot", adopted (or refused: not a VK Depot data
 * folder) before Electron writes its own files there (the single-instance lock does).
 */
function resolveDataFolder(): string {
  const override = process.env.VKEY_HOME?.trim()
  const folder = override ? path.resolve(override) : path.join(app.getPath('appData'), appName)
  try {
    adoptDataFolder(folder, { isDefault: !override })
  } catch (error) {
    // Not a VK Depot data folder (or unusable): say so and stop before anything is written there.
    const message = error instanceof Error ? error.message : String(error)
    console.error('[vkey] could not start:', message)
    dialog.showErrorBox('VK Depot could not start', message)
    process.exit(3)
  }
  return folder
}

async function start(): Promise<void> {
  try {
    hardenSession(session.defaultSession, allowedOrigins, log)
    protocol.handle(appScheme, (request) => serveAppRequest(rendererRoot, request))

    const mainContents = () => (mainWindow && !mainWindow.isDestroyed() ? mainWindow.webContents : undefined)
    // A damaged settings.json is named with the way forward, not a JSON parser's error.
    const settings = new Store<Record<string, unknown>>({ name: 'settings', cwd: dataDir, configFileMode: 0o600, deserialize: settingsDeserializer(dataDir) })
    const store: KeyValueStore = {
      get: (key) => settings.get(key),
      set: (key, value) => settings.set(key, value),
      delete: (key) => settings.delete(key),
    }
    const deps: HandlerDeps = {
      dataDir,
      store,
      dialogs: createDialogs(dialog, () => (mainWindow && !mainWindow.isDestroyed() ? mainWindow : undefined)),
      clipboard: {
        writeText: (text) => clipboard.writeText(text),
        readText: () => clipboard.readText(),
        clear: () => clipboard.clear(),
      },
      events: createEventSink(mainContents, log),
      log: appLog,
      systemLocale: app.getLocale(),
      regionalLocale: app.getSystemLocale(),
      version: app.getVersion(),
      platform: process.platform,
    }
    handlers = await createHandlers(deps)
    unregisterIpc = await registerElectronIpc({ handlers, mainContents, allowedOrigins, log })
    createMainWindow()
  } catch (error) {
    fail(error)
  }
}

function createMainWindow(): void {
  // Electronegativity cannot follow a function call in TypeScript, so it would report these
  // options as missing; electron-security.test.ts scans windowOptions()' result as a literal instead.
  // Prettier would move the eng-disable comment off the line Electronegativity reads.
  // prettier-ignore
  const window = new BrowserWindow(windowOptions({ preloadPath, devTools: !app.isPackaged })) /* eng-disable CONTEXT_ISOLATION_JS_CHECK SANDBOX_JS_CHECK AUXCLICK_JS_CHECK */
  mainWindow = window
  // The window shows tokens: keep it out of screenshots and screen sharing (Windows, macOS).
  window.setContentProtection(true)
  window.once('ready-to-show', () => window.show())
  window.on('closed', () => {
    if (mainWindow === window) mainWindow = undefined
  })
  window.loadURL(source.url).catch((error: unknown) => fail(error))
}

function focusMainWindow(): void {
  if (mainWindow === undefined || mainWindow.isDestroyed()) return
  if (mainWindow.isMinimized()) mainWindow.restore()
  mainWindow.show()
  mainWindow.focus()
}

/** Stops the handlers (clears the clipboard, closes servers) with a bound on the wait. */
async function disposeAll(): Promise<void> {
  unregisterIpc?.()
  unregisterIpc = undefined
  const current = handlers
  if (current === undefined) return
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      appLog('stopping the handlers took longer than 5 s; quitting anyway')
      resolve()
    }, 5000)
  })
  try {
    await Promise.race([current.dispose(), limit])
  } catch (error) {
    appLog(`${failureLine('stopping the handlers', error)}; quitting anyway`)
  } finally {
    clearTimeout(timer)
  }
}

function fail(error: unknown): void {
  // Only the message: a stack or cause could hold paths or other details not meant for a dialog.
  const message = error instanceof Error ? error.message : String(error)
  console.error('[vkey] could not start:', message)
  dialog.showErrorBox('VK Depot could not start', message)
  quitState = 'done'
  app.exit(1)
}
