/**
 * The e2e harness: the built renderer (out/renderer) in Debian's Chromium, talking to the
 * real IPC handlers (real simulator over mutual TLS, real keychain, a conf store in a temp
 * folder). Only what needs the Electron binary is swapped: the file dialogs (a double whose
 * answers the test sets) and the clipboard (in memory).
 *
 * `window.vkey` is built in the page from the same channel list the preload uses, and each
 * call goes through the same dispatch() the main process uses (input parsed as unknown,
 * output parsed before it crosses).
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { extname, join, normalize, resolve, sep } from 'node:path'
import { after, before, type TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { createRequire } from 'node:module'
import Conf from 'conf'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright'
import { adoptDataFolder } from '../../electron/core/data-folder'
import type { Clipboard, Dialogs, FilePurpose, SaveFormat } from '../../electron/app/app-deps'
import { defaultSimulatorDir } from '../../electron/core/simulator-registration'
import { createHandlers, type HandlerHost } from '../../electron/app/handlers'
import { dispatch, type EventSink } from '../../electron/app/ipc-dispatch'
import { channelMethods, eventMethods } from '../../shared/ipc/channels'
import { seedSimulatorDir } from '../helpers/sim-material'
import type { Channel, InputOf, OutputOf, Result } from '../../shared/ipc/contract'

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)))
export const rendererDir = join(root, 'out', 'renderer')
export const screensDir = join(root, 'test-results', 'screens')
export const fixturesDir = join(root, 'tests', 'fixtures')

/** The renderer's CSP, sent as a header too (the meta tag cannot carry frame-ancestors). */
export const CSP =
  "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

export const CHROMIUM_PATH = process.env.VKEY_CHROMIUM ?? '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
}

/** A tiny static server for out/renderer on 127.0.0.1 (random port), CSP on every answer. */
async function serveRenderer(): Promise<{ server: Server; url: string }> {
  await stat(join(rendererDir, 'index.html')).catch(() => {
    throw new Error('out/renderer/index.html is missing: run `npx electron-vite build -c electron.config.ts` first')
  })
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname)
    const file = normalize(join(rendererDir, path === '/' ? 'index.html' : path))
    if (!file.startsWith(rendererDir + sep) || req.method !== 'GET') {
      res.writeHead(404).end()
      return
    }
    stat(file).then(
      (info) => {
        if (!info.isFile()) throw new Error('not a file')
        res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Security-Policy': CSP, 'Cache-Control': 'no-store' })
        createReadStream(file).pipe(res)
      },
      () => res.writeHead(404).end(),
    )
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const { port } = server.address() as AddressInfo
  return { server, url: `http://127.0.0.1:${port}/index.html` }
}

/**
 * Runs in the page before any of its scripts: builds `window.vkey` with one named method
 * per channel, like the preload, forwarding to the exposed `__vkeyInvoke`. Kept as plain
 * JavaScript text: a TypeScript function would carry the transpiler's helpers with it.
 */
function bridgeScript(): string {
  return `(() => {
  const methods = ${JSON.stringify(channelMethods)};
  const events = ${JSON.stringify(eventMethods)};
  const listeners = new Map();
  const api = {};
  for (const [channel, method] of Object.entries(methods)) {
    api[method] = (input) => window.__vkeyInvoke(channel, input);
  }
  const on = {};
  for (const [event, method] of Object.entries(events)) {
    on[method] = (listener) => {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event).add(listener);
      return () => { listeners.get(event).delete(listener); };
    };
  }
  api.on = Object.freeze(on);
  Object.defineProperty(window, 'vkey', { value: Object.freeze(api), enumerable: true });
  Object.defineProperty(window, '__vkeyEmit', {
    value: (event, payload) => { for (const listener of listeners.get(event) || []) listener(payload); },
  });
  // Any CSP violation (an inline style, a stray request) is recorded and fails the test.
  const violations = [];
  Object.defineProperty(window, '__cspViolations', { value: violations });
  document.addEventListener('securitypolicyviolation', (event) => {
    violations.push(event.violatedDirective + ' ' + event.blockedURI + ' ' + event.sourceFile + ':' + event.lineNumber);
  });
})();`
}

/** The dialogs double: answers queued by the test, in order; [] / undefined when none is left (a cancel). */
class DialogDouble implements Dialogs {
  readonly files: string[][] = []
  readonly saves: Array<string | undefined> = []
  readonly asked: Array<{ kind: 'open'; purpose: FilePurpose; multiple: boolean } | { kind: 'save'; suggestedName: string; format: SaveFormat }> = []

  async chooseFiles(purpose: FilePurpose, multiple: boolean): Promise<string[]> {
    this.asked.push({ kind: 'open', purpose, multiple })
    return this.files.shift() ?? []
  }

  async chooseSavePath(suggestedName: string, format: SaveFormat): Promise<string | undefined> {
    this.asked.push({ kind: 'save', suggestedName, format })
    return this.saves.shift()
  }
}

/** The clipboard in memory (Electron's clipboard module needs the binary). */
class MemoryClipboard implements Clipboard {
  text = ''
  writeText(text: string): void {
    this.text = text
  }
  readText(): string {
    return this.text
  }
  clear(): void {
    this.text = ''
  }
}

export interface AppOptions {
  /** What the "operating system" reports: 'en-US' unless told. */
  systemLocale?: string
  /** The OS's regional format (Electron's app.getSystemLocale): 'en-GB' unless told, a depot laptop in Europe. */
  regionalLocale?: string
  /** The browser's time zone; this machine's unless told (datetime-local inputs are filled in it). */
  timeZone?: string
  /** Viewport; 1280×860 unless told. */
  viewport?: { width: number; height: number }
  /**
   * Keep Chromium's profile (Local Storage, IndexedDB, caches) in `<data folder>/chromium`,
   * where the app keeps it (sessionData), so a test can scan it.
   */
  persistentProfile?: boolean
  /** The handlers' clock (the depot takes `now`): tests move it to see certificate warnings. */
  now?: () => Date
}

/** One running app: its own data folder, handlers, browser context and page. */
export interface App {
  page: Page
  context: BrowserContext
  handlers: HandlerHost
  dataDir: string
  clipboard: MemoryClipboard
  dialogs: DialogDouble
  /** Every call the page made through the bridge, in order (channel and input as sent). */
  calls: { channel: unknown; input: unknown }[]
  /** The next file dialog answers with these paths. */
  nextFiles(paths: string[]): void
  /** The next save dialog answers with this path (undefined = cancelled). */
  nextSavePath(path: string | undefined): void
  /** Calls a channel from Node through dispatch (set-up shortcuts; the UI is what is tested). */
  call<C extends Channel>(channel: C, ...input: undefined extends InputOf<C> ? [input?: InputOf<C>] : [input: InputOf<C>]): Promise<OutputOf<C>>
  /** Saves a full-page screenshot to test-results/screens/<name>.png. */
  screenshot(name: string): Promise<string>
  /** Reloads the page (the handlers and their data stay). */
  reload(): Promise<void>
  /** Problems seen in the page so far: uncaught errors, console errors, CSP violations. */
  problems(): Promise<string[]>
}

/** One Chromium per test file, and the static server for the built renderer. */
export interface TestBrowser {
  browser: Browser
  url: string
  /** Starts an app for this test; everything it made is closed and removed after the test. */
  openApp(t: TestContext, options?: AppOptions): Promise<App>
  close(): Promise<void>
}

/**
 * The Chromium a test file's tests share: launched before the first test and closed after
 * the last. Call it once at the top of the file.
 */
export function browserForFile(): Pick<TestBrowser, 'openApp'> {
  let browser: TestBrowser | undefined
  before(async () => {
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
  })
  return {
    openApp(t, options) {
      if (!browser) throw new Error('the browser is launched in before(): open apps inside tests')
      return browser.openApp(t, options)
    },
  }
}

/** `extraArgs`: more Chromium switches, e.g. a fake camera (tests/e2e/scanner.test.ts). */
export async function launchBrowser(extraArgs: string[] = []): Promise<TestBrowser> {
  const { server, url } = await serveRenderer()
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, ...extraArgs] })
  await mkdir(screensDir, { recursive: true })

  async function openApp(t: TestContext, options: AppOptions = {}): Promise<App> {
    const dataDir = await mkdtemp(join(tmpdir(), 'vkd-e2e-'))
    // As the app's main process does before Chromium writes its profile there.
    adoptDataFolder(dataDir)
    // "Try the simulator" finds this run's demo material beside the data folder (made once: sim-material.ts).
    await seedSimulatorDir(defaultSimulatorDir(dataDir))
    const dialogs = new DialogDouble()
    const clipboard = new MemoryClipboard()
    const contextOptions = {
      viewport: options.viewport ?? { width: 1280, height: 860 },
      deviceScaleFactor: 1,
      locale: options.systemLocale ?? 'en-US',
      ...(options.timeZone ? { timezoneId: options.timeZone } : {}),
    }
    const context = options.persistentProfile
      ? await chromium.launchPersistentContext(join(dataDir, 'chromium'), { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, ...contextOptions })
      : await browser.newContext(contextOptions)
    const page = await context.newPage()
    // Every wait stays bounded, with room for a loaded 2-core CI machine (Playwright's 30 s is not).
    page.setDefaultTimeout(90_000)
    const pageProblems: string[] = []
    page.on('pageerror', (error) => pageProblems.push(`page error: ${error.message}`))
    page.on('console', (message) => {
      // A meta CSP cannot carry frame-ancestors (the header does): Chromium says so, harmlessly.
      if (message.type() === 'error' && !message.text().includes("'frame-ancestors' is ignored")) pageProblems.push(`console error: ${message.text()}`)
    })

    let pageOpen = true
    const events: EventSink = {
      emit(event, payload) {
        if (!pageOpen) return
        page
          .evaluate(([name, data]) => (window as unknown as { __vkeyEmit: (e: string, p: unknown) => void }).__vkeyEmit(name, data), [event, payload] as const)
          .catch(() => undefined) // the page may be navigating or closed
      },
    }
    const store = new Conf<Record<string, unknown>>({ cwd: dataDir, configName: 'settings' })
    const handlers = await createHandlers({
      dataDir,
      store,
      dialogs,
      clipboard,
      events,
      log: (line) => console.warn(`[vkey] ${line}`),
      systemLocale: options.systemLocale ?? 'en-US',
      regionalLocale: options.regionalLocale ?? 'en-GB',
      version: '0.0.0-e2e',
      platform: process.platform,
      ...(options.now ? { now: options.now } : {}),
    })
    t.after(async () => {
      pageOpen = false
      await context.close().catch(() => undefined)
      await handlers.dispose().catch(() => undefined)
      await rm(dataDir, { recursive: true, force: true })
      // "Try the simulator" keeps its demo keys beside the data folder, never inside it.
      await rm(defaultSimulatorDir(dataDir), { recursive: true, force: true })
    })

    const calls: App['calls'] = []
    await page.exposeFunction('__vkeyInvoke', (channel: unknown, input: unknown) => {
      calls.push({ channel, input })
      return dispatch(handlers, channel, input)
    })
    await page.addInitScript({ content: bridgeScript() })
    await page.goto(url)

    const app: App = {
      page,
      context,
      handlers,
      dataDir,
      clipboard,
      dialogs,
      calls,
      nextFiles: (paths) => void dialogs.files.push(paths),
      nextSavePath: (path) => void dialogs.saves.push(path),
      async call(channel, ...input) {
        const result = (await dispatch(handlers, channel, input[0])) as Result<OutputOf<typeof channel>>
        if (!result.ok) throw new Error(`${channel} failed: ${result.error.code} ${result.error.message}`)
        return result.value
      },
      async screenshot(name) {
        const path = join(screensDir, `${name}.png`)
        // Let transitions and the spinner settle so screenshots are steady.
        await page.evaluate(() => document.fonts.ready)
        // A page taller than the window is taken with a window as tall as the page, as a person
        // scrolling sees it: a full-page capture keeps 100vh at the window's height, so the
        // sticky sidebar (100vh) would sit half-way down the picture.
        const viewport = page.viewportSize()
        const height = await page.evaluate(() => document.documentElement.scrollHeight)
        if (viewport && height > viewport.height) await page.setViewportSize({ width: viewport.width, height })
        try {
          await page.screenshot({ path, animations: 'disabled' })
        } finally {
          if (viewport && height > viewport.height) await page.setViewportSize(viewport)
        }
        return path
      },
      async reload() {
        await page.reload()
      },
      async problems() {
        const csp = await page.evaluate(() => [...((window as unknown as { __cspViolations?: string[] }).__cspViolations ?? [])]).catch(() => [] as string[])
        return [...pageProblems, ...csp.map((v) => `CSP violation: ${v}`)]
      },
    }
    return app
  }

  return {
    browser,
    url,
    openApp,
    async close() {
      await browser.close()
      await new Promise<void>((done) => server.close(() => done()))
    },
  }
}

/** A fresh folder for files a test writes (fixtures, export targets); removed after the test. */
export async function workDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vkd-e2e-files-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Writes a file into a folder and returns its path. */
export async function writeFixture(dir: string, name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, content)
  return path
}

/** A CarData fixture from tests/fixtures/cardata. */
export function cardataFixture(name: string): Promise<string> {
  return readFile(join(fixturesDir, 'cardata', name), 'utf8')
}

const run = promisify(execFile)

/** Decodes a QR code in a PNG with zbarimg (a real scanner). */
export async function scanQr(pngPath: string): Promise<string> {
  const { stdout } = await run('zbarimg', ['--raw', '-q', pngPath], { maxBuffer: 1024 * 1024 })
  return stdout.replace(/\n$/, '')
}

const require = createRequire(import.meta.url)
let axeSource: Promise<string> | undefined

export interface AxeViolation {
  id: string
  impact: string | null
  help: string
  nodes: string[]
}

/** Runs axe-core on the page; returns the serious and critical violations (printing any found). */
export async function seriousA11yViolations(page: Page, label: string): Promise<AxeViolation[]> {
  axeSource ??= readFile(require.resolve('axe-core/axe.min.js'), 'utf8')
  const alreadyThere = await page.evaluate(() => 'axe' in window)
  if (!alreadyThere) {
    // The page's CSP (script-src 'self') refuses an inline <script> tag, which is what
    // addScriptTag({ content }) makes; evaluating the source through the DevTools protocol is
    // not subject to the page's CSP, so the app's policy stays exactly as shipped.
    await page.evaluate(`${await axeSource}\n;void 0`)
  }
  const found = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run: (
            context: Document,
            options: object,
          ) => Promise<{ passes: unknown[]; violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> }> }>
        }
      }
    ).axe
    const result = await axe.run(document, { resultTypes: ['violations'] })
    return {
      passed: result.passes.length,
      violations: result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => JSON.stringify(n.target)) })),
    }
  })
  // A run that checked nothing would pass silently: make sure axe really looked at the page.
  if (found.passed < 10) throw new Error(`axe checked only ${found.passed} rules on ${label}`)
  const violations = found.violations
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  console.log(`[axe ${label}] ${found.passed} rules passed, ${violations.length} violation(s)`)
  for (const v of violations) console.log(`[axe ${label}] ${v.impact ?? '?'} ${v.id}: ${v.help} ${v.nodes.join(' ')}`)
  return serious
}

/** Fails on any serious or critical axe violation on the page, listing them. */
export async function assertAccessible(app: App, label: string): Promise<void> {
  const serious = await seriousA11yViolations(app.page, label)
  assert.deepEqual(
    serious.map((v) => `${v.id}: ${v.help} ${v.nodes.join(' ')}`),
    [],
    `serious or critical axe violations on ${label}`,
  )
}

/** Fails on any page error, console error or CSP violation seen so far. */
export async function assertNoProblems(app: App): Promise<void> {
  assert.deepEqual(await app.problems(), [], 'page errors, console errors or CSP violations')
}
