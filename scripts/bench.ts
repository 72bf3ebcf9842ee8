/**
 * `npm run bench` — VK Depot's performance figures (issue #5), measured in one run, side by
 * side with a baseline doing the same work on the same machine. Prints a table and writes the
 * same figures to bench/results.json; docs/performance.md explains them.
 *
 *   scripts/with-keyring.sh node --expose-gc --import tsx scripts/bench.ts [options]
 *
 *   --only 1,3     run only these figures (1 client, 2 curl, 3 batch, 4 import, 5 QR, 6 renderer,
 *                  7 batch --out, 8 pack, 9 the app's batch, 10 fleet)
 *   --quick        small counts, to check the script itself (figures not comparable)
 *   --build        build the renderer first (npx electron-vite build -c electron.config.ts)
 *   --cpu-prof     one extra figure-3 batch and one extra figure-7 batch --out under node --cpu-prof;
 *                  prints where their time goes, per thread (scripts/bench/profile-summary.ts), and
 *                  keeps the profiles in temp folders
 *   --out FILE     where to write the JSON (default bench/results.json; --no-save to skip)
 *
 * Needs the keychain (run it inside scripts/with-keyring.sh, as `npm run bench` does),
 * /usr/bin/curl, /usr/bin/time (GNU time, `apt-get install -y time`) and, for figure 6,
 * /usr/bin/chromium. The simulator runs in its own process (scripts/bench/sim-process.ts).
 */
import { execFileSync } from 'node:child_process'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import { batchFigure, type BatchFigure } from './bench/batch'
import { batchOutFigure, type BatchOutFigure } from './bench/batch-out'
import { appBatchFigure, packFigure, type AppBatchFigure, type PackFigure } from './bench/pack-app'
import { clientFigure, type ClientFigure } from './bench/client'
import { fleetFigure, type FleetFigure } from './bench/fleet'
import { curlFigure, type CurlFigure } from './bench/curl'
import { importFigure, qrFigure, type ImportFigure, type QrFigure } from './bench/local'
import { summarizeProfile } from './bench/profile-summary'
import { rendererFigure, type RendererFigure } from './bench/renderer'
import { loadAverage, log, machine, now, removeQuietly, ROOT, round, run, startSimulatorChild, tempDir, type Machine } from './bench/util'

interface Check {
  id: string
  figure: number
  what: string
  value: number
  unit: string
  target: string
  pass: boolean | null
  /** How far past the target, as a fraction (0.2 = 20 % over); only for misses. */
  missBy?: number
}

interface Results {
  version: 1
  startedAt: string
  durationS: number
  git: string
  quick: boolean
  machine: Machine
  figures: {
    client?: Omit<ClientFigure, 'sample'>
    curl?: CurlFigure
    batch?: BatchFigure
    import?: ImportFigure
    qr?: QrFigure
    renderer?: RendererFigure
    batchOut?: BatchOutFigure
    pack?: PackFigure
    appBatch?: AppBatchFigure
    fleet?: FleetFigure
  }
  checks: Check[]
}

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    build: { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    out: { type: 'string', default: join(ROOT, 'bench/results.json') },
    'no-save': { type: 'boolean', default: false },
  },
})
const only = new Set((values.only ?? '1,2,3,4,5,6,7,8,9,10').split(',').map((s) => Number(s.trim())))
const quick = values.quick
const N = quick ? 100 : 500

const started = now()
const results: Results = {
  version: 1,
  startedAt: new Date().toISOString(),
  durationS: 0,
  git: gitDescribe(),
  quick,
  machine: await machine(),
  figures: {},
  checks: [],
}
const m = results.machine
console.log(`VK Depot bench — ${results.startedAt}, ${results.git}${quick ? ' (QUICK: counts reduced, not comparable)' : ''}`)
console.log(
  `machine: ${m.cpuModel}, ${m.nproc} CPU, ${m.memoryGiB} GiB RAM (${m.freeMemoryGiB} free), node ${m.node}, ${m.platform}, kernel ${m.kernel}, load ${m.loadAverage}, 1.2 kB append + fsync ${m.fsyncMs} ms`,
)

if (!process.env.DBUS_SESSION_BUS_ADDRESS) log('no D-Bus session: run inside scripts/with-keyring.sh (npm run bench does), the keychain is needed')
if (!(globalThis as { gc?: unknown }).gc) log('node runs without --expose-gc: no full GC between runs (more noise)')

const simRoot = await tempDir('vkey-bench-sim-')
const sim = await startSimulatorChild(join(simRoot, 'simulator'))
try {
  if (only.has(1) || only.has(5)) {
    // Figure 5 alone needs only a real token from the simulator: a small client run gives one.
    const client = await clientFigure(sim, only.has(1) ? { requests: N, repetitions: quick ? 3 : 7 } : { requests: 20, repetitions: 1 })
    const { sample, ...rest } = client
    if (only.has(1)) results.figures.client = rest
    if (only.has(5)) results.figures.qr = await qrFigure(sample, { repetitions: quick ? 21 : 101 })
  }
  if (only.has(2)) results.figures.curl = await curlFigure(sim, { requests: N, repetitions: 3, singleRepetitions: quick ? 3 : 7 })
  if (only.has(3)) {
    const cpuProfDir = values['cpu-prof'] ? await tempDir('vkey-bench-profile-') : undefined
    results.figures.batch = await batchFigure(sim, { vehicles: N, latencyMs: 20, concurrency: 8, repetitions: 3, ...(cpuProfDir ? { cpuProfDir } : {}) })
    if (cpuProfDir) {
      // Main thread only (the tsx loader thread is idle once the modules are loaded).
      const main = (await readdir(cpuProfDir)).filter((f) => f.endsWith('.cpuprofile')).sort()[0]
      if (main) console.log(`\nwhere the profiled vkey batch spent its time:\n${await summarizeProfile(join(cpuProfDir, main), 25)}\n`)
    }
  }
  if (only.has(7)) {
    const cpuProfDir = values['cpu-prof'] ? await tempDir('vkey-bench-profile-') : undefined
    results.figures.batchOut = await batchOutFigure(sim, { vehicles: N, latencyMs: 20, concurrency: 8, repetitions: 3, ...(cpuProfDir ? { cpuProfDir } : {}) })
    if (cpuProfDir) {
      // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread, the others the QR file worker.
      for (const file of (await readdir(cpuProfDir)).filter((f) => f.endsWith('.cpuprofile')).sort()) {
        const thread = file.split('.')[4] === '0' ? 'main thread' : `worker thread ${file.split('.')[4]}`
        console.log(`\nwhere the profiled vkey batch --out spent its time (${thread}):\n${await summarizeProfile(join(cpuProfDir, file), 20)}\n`)
      }
    }
  }
  if (only.has(8)) results.figures.pack = await packFigure(sim, { pages: N, repetitions: quick ? 1 : 3 })
  if (only.has(9)) results.figures.appBatch = await appBatchFigure(sim, { vehicles: N, latencyMs: 20, concurrency: 8, repetitions: 3 })
  if (only.has(4)) results.figures.import = await importFigure({ files: quick ? 200 : 1000, repetitions: quick ? 3 : 7 })
} finally {
  await sim.close()
  await removeQuietly(simRoot)
}
if (only.has(6)) {
  if (values.build) {
    log('building the renderer (npx electron-vite build -c electron.config.ts)')
    const built = await run('npx', ['electron-vite', 'build', '-c', 'electron.config.ts'])
    if (built.code !== 0) log(`the build failed (${built.code}): ${built.stderr.slice(-400)}`)
  }
  results.figures.renderer = await rendererFigure({ repetitions: quick ? 3 : 11, vehicles: 25 })
}

if (only.has(10)) {
  // Figure 10 needs Debian's PostgreSQL (apt-get install -y postgresql), as the fleet tests do.
  const { postgresMissing } = await import('../tests/helpers/postgres')
  const missing = postgresMissing()
  if (missing) log(`10. fleet skipped: ${missing}`)
  else
    results.figures.fleet = await fleetFigure(
      quick
        ? { entries: 5000, laptops: 50, steady: 500, steadyRounds: 10, repetitions: 2, claims: 20 }
        : { entries: 100_000, laptops: 50, steady: 500, steadyRounds: 30, repetitions: 5, claims: 101 },
    )
}

results.checks = checks(results)
results.durationS = round((now() - started) / 1000, 1)
results.machine.loadAverageAtEnd = await loadAverage()
console.log(`\nload average at the end: ${results.machine.loadAverageAtEnd} (at the start: ${m.loadAverage}); ${results.durationS} s`)
printTable(results)

if (!values['no-save']) {
  const out = values.out
  const previous = await readFile(out, 'utf8')
    .then((t) => JSON.parse(t) as Results)
    .catch(() => undefined)
  const baseline = await readFile(join(ROOT, 'bench/baseline.json'), 'utf8')
    .then((t) => JSON.parse(t) as Results)
    .catch(() => undefined)
  const against = baseline ?? previous
  if (against) printComparison(results, against, baseline ? 'bench/baseline.json' : relative(ROOT, out))
  await mkdir(dirname(out), { recursive: true })
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`)
  console.log(`\nwritten: ${relative(ROOT, out)} (${results.durationS} s in all)`)
}

// ---- checks and printing ----------------------------------------------------------------

function gitDescribe(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim() !== ''
    return `git ${head}${dirty ? '+changes' : ''}`
  } catch {
    return 'git unknown'
  }
}

function check(
  id: string,
  figure: number,
  what: string,
  value: number,
  unit: string,
  target: string,
  limit: number | null,
  kind: 'max' | 'min' = 'max',
): Check {
  if (limit === null || !Number.isFinite(value)) return { id, figure, what, value, unit, target, pass: null }
  const pass = kind === 'max' ? value <= limit : value >= limit
  return { id, figure, what, value, unit, target, pass, ...(pass ? {} : { missBy: round(kind === 'max' ? value / limit - 1 : limit / value - 1, 3) }) }
}

function checks(r: Results): Check[] {
  const list: Check[] = []
  const f = r.figures
  for (const row of f.client?.byConcurrency ?? []) {
    list.push(check(`client-c${row.concurrency}`, 1, `client overhead, concurrency ${row.concurrency} (ours ÷ bare undici)`, row.ratio, '×', '≤ 1.10 ×', 1.1))
  }
  if (f.curl) {
    list.push(check('curl-batch', 2, `${f.curl.requests} requests: sequential curl ÷ one vkey batch`, f.curl.speedup, '× faster', '≥ 5 ×', 5, 'min'))
    list.push(check('curl-single', 2, 'one cold vkey token ÷ one curl', f.curl.single.ratio, '×', 'report', null))
    list.push(check('token-cold', 2, 'one cold vkey token process (median)', f.curl.single.vkeyTokenMedianMs, 'ms', '≤ 250 ms', 250))
    if (f.curl.single.nodeMedianMs !== undefined)
      list.push(check('node-alone', 2, 'node -e 0 in the same environment (part of every cold process)', f.curl.single.nodeMedianMs, 'ms', 'report', null))
  }
  if (f.batch) {
    list.push(
      check(
        'batch-floor',
        3,
        `batch ${f.batch.vehicles} × ${f.batch.latencyMs} ms / ${f.batch.concurrency} ÷ floor ${f.batch.floorMs} ms`,
        f.batch.ratio,
        '× floor',
        '≤ 1.15 ×',
        1.15,
      ),
    )
    list.push(check('batch-rss', 3, 'vkey batch peak RSS', f.batch.peakRssMaxMB, 'MB', '≤ 150 MB', 150))
  }
  if (f.import) list.push(check('import', 4, `import ${f.import.files} CarData files`, f.import.medianMs, 'ms', '≤ 500 ms', 500))
  if (f.qr) {
    list.push(check('qr-png', 5, 'one handover QR as PNG (median)', f.qr.pngMedianMs, 'ms', '≤ 2 ms', 2))
    list.push(check('qr-svg', 5, 'one handover QR as SVG (median)', f.qr.svgMedianMs, 'ms', '≤ 1.5 ms', 1.5))
    list.push(
      check('qr-png-ppm', 5, 'PNG pixels per module (decoded with zbarimg)', f.qr.decoded ? f.qr.pixelsPerModule : 0, 'px', '≥ 8 px, decodes', 8, 'min'),
    )
  }
  if (f.batchOut) {
    const b = f.batchOut
    list.push(
      check(
        'batch-out-floor',
        7,
        `batch --out ${b.vehicles} × ${b.latencyMs} ms / ${b.concurrency}: work after start ÷ floor ${b.floorMs} ms`,
        b.ratioToFloor,
        '× floor',
        '≤ 1.15 ×',
        1.15,
      ),
    )
    list.push(check('batch-out-plain', 7, 'batch --out ÷ the same batch without --out (work after start)', b.ratioToPlain, '×', '≤ 1.10 ×', 1.1))
    list.push(check('batch-out-rss', 7, 'vkey batch --out peak RSS', b.peakRssMaxMB, 'MB', '≤ 150 MB', 150))
    list.push(
      check(
        'batch-out-ppm',
        7,
        'batch --out PNG pixels per module (decoded with zbarimg)',
        b.decoded ? b.pixelsPerModule : 0,
        'px',
        '≥ 8 px, decodes',
        8,
        'min',
      ),
    )
  }
  if (f.pack) {
    list.push(check('pack-time', 8, `vkey pack of ${f.pack.pages} pages (cold process)`, f.pack.medianMs, 'ms', '≤ 5000 ms', 5000))
    list.push(check('pack-size', 8, 'pack size per page', round(f.pack.bytesPerPage / 1000, 1), 'kB', '≤ 30 kB', 30))
    list.push(
      check('pack-scan', 8, 'pack pages decoded after pdftoppm -r 100', f.pack.pagesDecoded, `of ${f.pack.pagesChecked}`, 'all', f.pack.pagesChecked, 'min'),
    )
  }
  if (f.appBatch) {
    const a = f.appBatch
    list.push(
      check(
        'app-batch-floor',
        9,
        `app batch ${a.vehicles} × ${a.latencyMs} ms / ${a.concurrency} ÷ floor ${a.floorMs} ms`,
        a.ratio,
        '× floor',
        '≤ 1.15 ×',
        1.15,
      ),
    )
    list.push(check('app-progress-gap', 9, 'app batch: longest time without a progress event', a.maxProgressGapMs, 'ms', '≤ 250 ms', 250))
  }
  if (f.renderer) {
    if (f.renderer.built) list.push(check('renderer-size', 6, 'renderer JS + CSS, gzip -9', round(f.renderer.jsCssGzipBytes / 1000, 1), 'kB', '≤ 250 kB', 250))
    if (f.renderer.navigation)
      list.push(check('renderer-nav', 6, 'navigation → vehicles screen interactive (median)', f.renderer.navigation.medianMs, 'ms', 'report', null))
  }
  if (f.fleet) {
    list.push(check('fleet-first', 10, `first fleet sync of ${f.fleet.entries} entries ÷ one plain query`, f.fleet.firstSync.ratio, '×', '≤ 1.5 ×', 1.5))
    list.push(check('fleet-steady', 10, `steady fleet sync of ${f.fleet.steady.entries} entries ÷ one plain query`, f.fleet.steady.ratio, '×', '≤ 1.5 ×', 1.5))
    list.push(check('fleet-claim', 10, 'fleet claim round trip (median)', f.fleet.claim.fleetMedianMs, 'ms', 'report', null))
  }
  return list
}

/** Rows of figures 1–4: the client, curl, batches, import. */
function requestRows(f: Results['figures']): string[][] {
  const rows: string[][] = []
  for (const row of f.client?.byConcurrency ?? []) {
    rows.push([
      '1',
      `${f.client!.requests} token requests, concurrency ${row.concurrency}`,
      `${row.oursMedianMs} ms (${row.oursPerRequestUs} µs/req)`,
      `bare undici ${row.bareMedianMs} ms (${row.barePerRequestUs} µs/req)`,
      `${row.ratio} × bare`,
      '≤ 1.10 ×',
      status(`client-c${row.concurrency}`),
    ])
  }
  if (f.curl) {
    rows.push([
      '2',
      `${f.curl.requests} requests`,
      `1 vkey batch --out (c=${f.curl.vkeyConcurrency}) ${f.curl.vkeyMedianMs} ms`,
      `${f.curl.requests} × curl ${f.curl.curlMedianMs} ms (${f.curl.curlPerRequestMs} ms each)`,
      `${f.curl.speedup} × faster`,
      '≥ 5 ×',
      status('curl-batch'),
    ])
    rows.push([
      '2',
      'one token, cold process',
      `vkey token ${f.curl.single.vkeyTokenMedianMs} ms${f.curl.single.nodeMedianMs !== undefined ? ` (node alone ${f.curl.single.nodeMedianMs} ms)` : ''}`,
      `curl ${f.curl.single.curlMedianMs} ms`,
      `${f.curl.single.ratio} × curl`,
      '≤ 250 ms',
      status('token-cold'),
    ])
  }
  if (f.batch) {
    const b = f.batch
    rows.push([
      '3',
      `batch ${b.vehicles} × ${b.latencyMs} ms, c=${b.concurrency}`,
      `${b.batchMedianMs} ms batch phase (process ${b.processMedianMs} ms)`,
      `floor ${b.floorMs} ms`,
      `${b.ratio} × floor`,
      '≤ 1.15 ×',
      status('batch-floor'),
    ])
    rows.push([
      '3',
      `same requests, bare undici, c=${b.concurrency}`,
      `${b.bareMedianMs} ms`,
      `floor ${b.floorMs} ms`,
      `${round(b.bareMedianMs / b.floorMs, 2)} × floor; batch ${b.ratioToBare} × bare`,
      'report',
      '',
    ])
    rows.push(['3', 'vkey batch peak RSS', `${b.peakRssMaxMB} MB`, '', '', '≤ 150 MB', status('batch-rss')])
  }
  if (f.import)
    rows.push([
      '4',
      `import ${f.import.files} CarData files`,
      `${f.import.medianMs} ms`,
      `readFile+JSON.parse ${f.import.bareMedianMs} ms`,
      `${f.import.medianMs} ms`,
      '≤ 500 ms',
      status('import'),
    ])
  return rows
}

/** Rows of figures 5 and 7: one QR code, batch --out. */
function qrRows(f: Results['figures']): string[][] {
  const rows: string[][] = []
  if (f.qr) {
    rows.push([
      '5',
      `handover QR, PNG (${f.qr.payloadBytes} B payload)`,
      `${f.qr.pngMedianMs} ms`,
      `qrcode toBuffer ${f.qr.libraryPngMedianMs} ms`,
      `${f.qr.pngMedianMs} ms`,
      '≤ 2 ms',
      status('qr-png'),
    ])
    rows.push([
      '5',
      'handover QR, SVG',
      `${f.qr.svgMedianMs} ms`,
      `qrcode toString ${f.qr.librarySvgMedianMs} ms`,
      `${f.qr.svgMedianMs} ms`,
      '≤ 1.5 ms',
      status('qr-svg'),
    ])
    rows.push([
      '5',
      'PNG decoded by zbarimg',
      `${f.qr.decoded ? 'yes' : 'NO'}, ${f.qr.pixelsPerModule} px/module, ${f.qr.pngBytes} B`,
      '',
      '',
      '≥ 8 px',
      status('qr-png-ppm'),
    ])
  }
  if (f.batchOut) {
    const b = f.batchOut
    rows.push([
      '7',
      `batch --out ${b.vehicles} × ${b.latencyMs} ms, c=${b.concurrency}`,
      `${b.outWorkMedianMs} ms after start (start ${b.outStartMedianMs} ms, process ${b.outWallMedianMs} ms; last file ${b.outTailMedianMs} ms after the last key)`,
      `floor ${b.floorMs} ms`,
      `${b.ratioToFloor} × floor`,
      '≤ 1.15 ×',
      status('batch-out-floor'),
    ])
    rows.push([
      '7',
      'same batch without --out',
      `${b.plainWorkMedianMs} ms after start`,
      `--out costs ${b.extraCpuPerVehicleMs} ms CPU a vehicle`,
      `--out ${b.ratioToPlain} × without`,
      '≤ 1.10 ×',
      status('batch-out-plain'),
    ])
    rows.push([
      '7',
      'vkey batch --out peak RSS; PNG',
      `${b.peakRssMaxMB} MB; ${b.decoded ? 'decodes' : 'does NOT decode'}, ${b.pixelsPerModule} px/module`,
      '',
      '',
      '≤ 150 MB; ≥ 8 px',
      `${status('batch-out-rss')} ${status('batch-out-ppm')}`.trim(),
    ])
  }
  return rows
}

/** Rows of figures 6 and 8–10: the pack, the app's batch, the renderer, the fleet. */
function productRows(f: Results['figures']): string[][] {
  const rows: string[][] = []
  if (f.pack) {
    rows.push([
      '8',
      `vkey pack, ${f.pack.pages} pages`,
      `${f.pack.medianMs} ms, ${round(f.pack.bytesPerPage / 1000, 1)} kB/page`,
      '',
      `${f.pack.pagesDecoded}/${f.pack.pagesChecked} pages scan at 100 dpi`,
      '≤ 5000 ms, ≤ 30 kB',
      `${status('pack-time')} ${status('pack-size')} ${status('pack-scan')}`.trim(),
    ])
  }
  if (f.appBatch) {
    const a = f.appBatch
    rows.push([
      '9',
      `app batch ${a.vehicles} × ${a.latencyMs} ms, c=${a.concurrency} (handlers)`,
      `${a.medianMs} ms`,
      `floor ${a.floorMs} ms`,
      `${a.ratio} × floor`,
      '≤ 1.15 ×',
      status('app-batch-floor'),
    ])
    rows.push(['9', 'app batch: longest gap between progress events', `${a.maxProgressGapMs} ms`, '', '', '≤ 250 ms', status('app-progress-gap')])
  }
  if (f.renderer) {
    const re = f.renderer
    if (re.built)
      rows.push([
        '6',
        `renderer JS + CSS${re.stale ? ' (STALE build)' : ''}`,
        `${round(re.jsCssGzipBytes / 1000, 1)} kB gzip`,
        `${round(re.jsCssBytes / 1000, 1)} kB raw`,
        `${round(re.jsCssGzipBytes / 1000, 1)} kB`,
        '≤ 250 kB',
        status('renderer-size'),
      ])
    else rows.push(['6', 'renderer', 'not built', '', '', '≤ 250 kB', 'SKIP'])
    if (re.navigation)
      rows.push([
        '6',
        `navigation → vehicles interactive (${re.navigation.vehicles} vehicles)`,
        `${re.navigation.medianMs} ms`,
        '',
        `${re.navigation.medianMs} ms`,
        'report',
        '',
      ])
    else rows.push(['6', 'navigation → vehicles interactive', 'skipped', re.navigationSkipped ?? '', '', 'report', 'SKIP'])
  }
  if (f.fleet) {
    const fl = f.fleet
    rows.push([
      '10',
      `first fleet sync, ${fl.entries} entries from ${fl.laptops} laptops`,
      `${fl.firstSync.oursMedianMs} ms`,
      `one plain query ${fl.firstSync.plainMedianMs} ms`,
      `${fl.firstSync.ratio} ×`,
      '≤ 1.5 ×',
      status('fleet-first'),
    ])
    rows.push([
      '10',
      `steady fleet sync, ${fl.steady.entries} new entries`,
      `${fl.steady.oursMedianMs} ms`,
      `one plain query ${fl.steady.plainMedianMs} ms`,
      `${fl.steady.ratio} ×`,
      '≤ 1.5 ×',
      status('fleet-steady'),
    ])
    rows.push([
      '10',
      'claim + record round trip',
      `${fl.claim.fleetMedianMs} ms`,
      `local-only ledger ${fl.claim.localMedianMs} ms`,
      `${fl.claim.ratio} ×`,
      'report',
      '',
    ])
  }
  return rows
}

function printTable(r: Results): void {
  const f = r.figures
  const rows: string[][] = [['#', 'figure', 'VK Depot', 'baseline', 'result', 'target', ''], ...requestRows(f), ...qrRows(f), ...productRows(f)]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => [...(row[i] ?? '')].length)))
  const line = (row: string[]): string => `| ${row.map((cell, i) => cell + ' '.repeat(widths[i]! - [...cell].length)).join(' | ')} |`
  console.log('')
  console.log(line(rows[0]!))
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  for (const row of rows.slice(1)) console.log(line(row))
  const misses = r.checks.filter((c) => c.pass === false)
  console.log('')
  if (misses.length)
    for (const c of misses) console.log(`MISS ${c.id}: ${c.what} = ${c.value} ${c.unit}, target ${c.target} (${round((c.missBy ?? 0) * 100, 1)} % past it)`)
  else console.log('every target met')
}

function status(id: string): string {
  const c = results.checks.find((x) => x.id === id)
  if (!c || c.pass === null) return ''
  return c.pass ? 'PASS' : `MISS +${round((c.missBy ?? 0) * 100, 0)} %`
}

function printComparison(current: Results, previous: Results, label: string): void {
  const before = new Map(previous.checks.map((c) => [c.id, c]))
  const lines = current.checks
    .map((c) => {
      const old = before.get(c.id)
      if (!old) return undefined
      const change = old.value ? round((c.value / old.value - 1) * 100, 1) : 0
      return `  ${c.id.padEnd(14)} ${String(old.value).padStart(9)} → ${String(c.value).padStart(9)} ${c.unit} (${change >= 0 ? '+' : ''}${change} %)`
    })
    .filter(Boolean)
  if (!lines.length) return
  console.log(`\ncompared with ${label} (${previous.startedAt}, ${previous.git}${previous.quick ? ', quick' : ''}):`)
  for (const l of lines) console.log(l)
}
