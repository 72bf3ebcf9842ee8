/**
 * Figure 6 — the renderer: production JS + CSS of the first screen, gzipped (out/renderer, as
 * `npx electron-vite build -c electron.config.ts` leaves it), and the median time from
 * navigation to the vehicles screen being interactive in headless Chromium.
 *
 * The page is served and given `window.vkey` exactly as the e2e tests do
 * (tests/e2e/harness.ts: static server with the CSP, the real IPC handlers over dispatch(),
 * the simulator, the real keychain). "Interactive" = the Vehicles list has rendered its rows
 * and the first row's "Request" button is enabled (React's handlers are attached at the
 * root before anything renders); it is stamped with performance.now() — milliseconds since
 * the navigation started — by a MutationObserver injected before the page's own scripts.
 */
import { readdir, readFile, stat } from 'node:fs/promises'
import { join, relative } from 'node:path'
import type { TestContext } from 'node:test'
import { gzipSync } from 'node:zlib'
import { log, median, removeQuietly, round, ROOT, tempDir, vinFor, randomCarData } from './util'

const RENDERER_DIR = join(ROOT, 'out', 'renderer')

export interface RendererFigure {
  built: boolean
  /** The build is older than some file under renderer/ (run the build again for true figures). */
  stale?: boolean
  builtAt?: string
  /** What the first screen loads (index.html's scripts, preloads and styles). */
  files: Array<{ file: string; bytes: number; gzipBytes: number }>
  /** Chunks loaded later, on demand (e.g. the QR scanner and its decoder worker). */
  lazy?: Array<{ file: string; bytes: number; gzipBytes: number }>
  jsCssBytes: number
  /** gzip -9 sizes summed, bytes (1 kB = 1000 bytes). */
  jsCssGzipBytes: number
  navigation?: {
    vehicles: number
    repetitions: number
    readyMs: number[]
    medianMs: number
    /** Node's clock, from page.goto() to the ready stamp being seen (includes Playwright round trips). */
    wallMedianMs: number
  }
  navigationSkipped?: string
}

async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) found.push(join(entry.parentPath, entry.name))
  }
  return found
}

async function newestSource(): Promise<number> {
  let newest = 0
  for (const file of await filesUnder(join(ROOT, 'renderer'))) newest = Math.max(newest, (await stat(file)).mtimeMs)
  return newest
}

const READY_SELECTOR = 'tr[data-vin] td.table__actions button.button--primary'

/** Injected before the page's scripts: stamps the moment the first row's Request button is enabled. */
const READY_SCRIPT = `(() => {
  const check = () => {
    if (window.__benchReadyAt !== undefined) return;
    const button = document.querySelector(${JSON.stringify(READY_SELECTOR)});
    if (button && !button.disabled && document.querySelector('h1')) {
      window.__benchReadyAt = performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document, { subtree: true, childList: true, attributes: true });
})();`

export async function rendererFigure(options: { repetitions: number; vehicles: number }): Promise<RendererFigure> {
  let index: Awaited<ReturnType<typeof stat>>
  try {
    index = await stat(join(RENDERER_DIR, 'index.html'))
  } catch {
    log('6. out/renderer is missing: run `npx electron-vite build -c electron.config.ts` (or `npm run bench -- --build`)')
    return { built: false, files: [], jsCssBytes: 0, jsCssGzipBytes: 0, navigationSkipped: 'out/renderer is missing' }
  }
  // The first screen is what index.html loads (entry script, its preloaded chunks, the CSS);
  // lazily loaded chunks (the QR scanner and its decoder worker) are listed apart.
  const html = await readFile(join(RENDERER_DIR, 'index.html'), 'utf8')
  const firstScreen = new Set([...html.matchAll(/(?:src|href)="\.?\/?([^"]+\.(?:m?js|css))"/g)].map((m) => join(RENDERER_DIR, m[1] ?? '')))
  const files: RendererFigure['files'] = []
  const lazy: RendererFigure['files'] = []
  for (const file of (await filesUnder(RENDERER_DIR)).filter((f) => /\.(m?js|css)$/.test(f)).sort()) {
    const bytes = await readFile(file)
    ;(firstScreen.has(file) ? files : lazy).push({ file: relative(ROOT, file), bytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length })
  }
  const stale = (await newestSource()) > index.mtimeMs
  const figure: RendererFigure = {
    built: true,
    ...(stale ? { stale } : {}),
    builtAt: index.mtime.toISOString(),
    files,
    jsCssBytes: files.reduce((n, f) => n + f.bytes, 0),
    jsCssGzipBytes: files.reduce((n, f) => n + f.gzipBytes, 0),
    lazy,
  }
  log(
    `6. renderer JS + CSS of the first screen: ${round(figure.jsCssBytes / 1000, 1)} kB, gzipped ${round(figure.jsCssGzipBytes / 1000, 1)} kB${stale ? ' (STALE build: renderer/ has newer files)' : ''}; loaded on demand: ${round(lazy.reduce((n, f) => n + f.gzipBytes, 0) / 1000, 1)} kB gzipped in ${lazy.length} files`,
  )

  let harness: typeof import('../../tests/e2e/harness')
  try {
    harness = await import('../../tests/e2e/harness')
  } catch (error) {
    figure.navigationSkipped = `tests/e2e/harness.ts could not be loaded (${(error as Error).message})`
    log(`6. navigation skipped: ${figure.navigationSkipped}`)
    return figure
  }

  const cleanups: Array<() => unknown> = []
  const t = { after: (fn: () => unknown) => void cleanups.push(fn) } as unknown as TestContext
  // Chromium keeps a crash-report folder under XDG_CONFIG_HOME: a folder of the bench's own,
  // removed after, as scripts/test.sh gives the tests (nothing left in the user's ~/.config).
  const config = await tempDir('vkey-bench-config-')
  const savedConfig = process.env.XDG_CONFIG_HOME
  process.env.XDG_CONFIG_HOME = config
  let browser: Awaited<ReturnType<typeof harness.launchBrowser>> | undefined
  try {
    browser = await harness.launchBrowser()
    const url = browser.url
    const app = await browser.openApp(t)
    await app.call('simulator:try')
    const vehicles = Array.from({ length: options.vehicles }, (_, i) => ({ vin: vinFor(i), label: `Bench car ${i + 1}`, ...randomCarData() }))
    const { added } = await app.call('vehicles:import-text', { name: 'bench.json', text: JSON.stringify({ vehicles }) })
    if (added.length !== options.vehicles) throw new Error(`renderer: imported ${added.length}/${options.vehicles} vehicles`)
    await app.page.addInitScript({ content: READY_SCRIPT })

    const navigate = async (): Promise<{ ready: number; wall: number }> => {
      const started = performance.now()
      await app.page.goto(url, { waitUntil: 'commit' })
      const handle = await app.page.waitForFunction(() => (window as unknown as { __benchReadyAt?: number }).__benchReadyAt, undefined, {
        timeout: 30_000,
        polling: 5,
      })
      const ready = (await handle.jsonValue()) as number
      const wall = performance.now() - started
      const heading = await app.page.locator('h1').first().textContent()
      if (!/Vehicles/i.test(heading ?? '')) throw new Error(`renderer: landed on "${heading}", not the Vehicles screen`)
      return { ready, wall }
    }
    for (let i = 0; i < 2; i++) await navigate()
    const readyMs: number[] = []
    const wallMs: number[] = []
    for (let r = 0; r < options.repetitions; r++) {
      const { ready, wall } = await navigate()
      readyMs.push(ready)
      wallMs.push(wall)
    }
    const problems = await app.problems()
    if (problems.length) log(`6. page problems: ${problems.join('; ')}`)
    figure.navigation = {
      vehicles: options.vehicles,
      repetitions: options.repetitions,
      readyMs: readyMs.map((v) => round(v, 0)),
      medianMs: round(median(readyMs), 0),
      wallMedianMs: round(median(wallMs), 0),
    }
    log(`6. navigation → vehicles interactive: ${figure.navigation.medianMs} ms (in-page), ${figure.navigation.wallMedianMs} ms (Node clock)`)
  } finally {
    for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => undefined)
    await browser?.close()
    if (savedConfig === undefined) delete process.env.XDG_CONFIG_HOME
    else process.env.XDG_CONFIG_HOME = savedConfig
    await removeQuietly(config)
  }
  return figure
}
