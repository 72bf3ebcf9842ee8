/**
 * Figure 8 — `vkey pack` of N pages (issue #10): N issued tokens (one `vkey batch` at no
 * latency), then `vkey pack --all-valid` as a cold process, 3 runs. Targets: ≤ 5 s for 500
 * pages, ≤ 30 kB a page; pages 1, N/2 and N rasterised with `pdftoppm -r 100` must decode
 * with zbarimg.
 *
 * Figure 9 — the app's batch (issue #10): N vehicles through the real IPC handlers, called
 * through dispatch() exactly as the e2e bridge calls them (`batch:start`, concurrency C,
 * simulator latency L ms), progress events structured-cloned as Electron's IPC would.
 * Timed from the `batch:start` call to the last progress event (running: false); the
 * longest gap between progress events is what the renderer would see. Targets: ≤ 1.15 ×
 * the floor N × L / C, progress at least every 250 ms.
 */
import { execFile } from 'node:child_process'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { openStore } from '../../electron/core/settings-store'
import { createHandlers } from '../../electron/app/handlers'
import { dispatch } from '../../electron/app/ipc-dispatch'
import type { BatchProgress } from '../../shared/ipc/contract'
import {
  collect,
  freshDataFolder,
  log,
  median,
  randomCarData,
  removeQuietly,
  round,
  run,
  tempDir,
  vinFor,
  VKEY_BIN,
  writeCarDataFiles,
  type SimulatorChild,
} from './util'

const execFileAsync = promisify(execFile)

export interface PackFigure {
  pages: number
  repetitions: number
  runsMs: number[]
  medianMs: number
  bytes: number
  bytesPerPage: number
  /** Pages rasterised at 100 dpi and decoded with zbarimg. */
  pagesDecoded: number
  pagesChecked: number
}

export async function packFigure(sim: SimulatorChild, options: { pages: number; repetitions: number }): Promise<PackFigure> {
  await sim.setLatency(0)
  const root = await tempDir('vkey-bench-pack-')
  try {
    const files = await writeCarDataFiles(root, options.pages)
    const { env } = await freshDataFolder(root, sim)
    const batch = await run(process.execPath, [VKEY_BIN, 'batch', ...files, '--duration', '2h', '--concurrency', '8', '--json'], { env })
    if (batch.code !== 0) throw new Error(`vkey batch exited ${batch.code}: ${batch.stderr.slice(0, 300)}`)
    const pdf = join(root, 'pack.pdf')
    const once = async (): Promise<number> => {
      collect()
      const result = await run(process.execPath, [VKEY_BIN, 'pack', '--all-valid', '--out', pdf], { env })
      if (result.code !== 0 || !result.stdout.includes(`(${options.pages} pages)`))
        throw new Error(`vkey pack exited ${result.code}: ${result.stdout} ${result.stderr.slice(0, 300)}`)
      return result.wallMs
    }
    await once()
    const runsMs: number[] = []
    for (let r = 0; r < options.repetitions; r++) {
      runsMs.push(await once())
      log(`8. vkey pack ${options.pages} pages: ${round(runsMs.at(-1)!, 0)} ms`)
    }
    const bytes = (await stat(pdf)).size
    const checked = [...new Set([1, Math.ceil(options.pages / 2), options.pages])]
    let decoded = 0
    for (const page of checked) {
      const prefix = join(root, `page-${page}`)
      await execFileAsync('pdftoppm', ['-r', '100', '-png', '-f', String(page), '-l', String(page), pdf, prefix])
      const image = (await readdir(root)).find((f) => f.startsWith(`page-${page}-`) && f.endsWith('.png'))
      const { stdout } = image
        ? await execFileAsync('zbarimg', ['--raw', '-q', join(root, image)], { encoding: 'utf8' }).catch(() => ({ stdout: '' }))
        : { stdout: '' }
      if (stdout.startsWith('{"v":1')) decoded += 1
    }
    const figure: PackFigure = {
      pages: options.pages,
      repetitions: options.repetitions,
      runsMs: runsMs.map((v) => round(v, 0)),
      medianMs: round(median(runsMs), 0),
      bytes,
      bytesPerPage: round(bytes / options.pages, 0),
      pagesDecoded: decoded,
      pagesChecked: checked.length,
    }
    log(`8. pack: ${figure.medianMs} ms, ${round(figure.bytesPerPage / 1000, 1)} kB/page, ${decoded}/${checked.length} pages decoded after pdftoppm -r 100`)
    return figure
  } finally {
    await removeQuietly(root)
  }
}

export interface AppBatchFigure {
  vehicles: number
  latencyMs: number
  concurrency: number
  repetitions: number
  floorMs: number
  runsMs: number[]
  medianMs: number
  ratio: number
  /** Longest time without a progress event, over all runs (from batch:start to the last event). */
  maxProgressGapMs: number
  progressEvents: number[]
}

export async function appBatchFigure(
  sim: SimulatorChild,
  options: { vehicles: number; latencyMs: number; concurrency: number; repetitions: number },
): Promise<AppBatchFigure> {
  await sim.setLatency(options.latencyMs)
  const root = await tempDir('vkey-bench-app-')
  const runsMs: number[] = []
  const gaps: number[] = []
  const events: number[] = []
  try {
    const once = async (keep: boolean): Promise<void> => {
      const { dataDir } = await freshDataFolder(root, sim)
      let last = 0
      let maxGap = 0
      let count = 0
      let finished!: (at: number) => void
      const done = new Promise<number>((resolve) => (finished = resolve))
      const host = await createHandlers({
        dataDir,
        store: openStore(dataDir),
        dialogs: { chooseFiles: async () => [], chooseSavePath: async () => undefined },
        clipboard: { writeText: () => undefined, readText: () => '', clear: () => undefined },
        events: {
          emit(event, payload) {
            if (event !== 'batch:progress') return
            structuredClone(payload) // what Electron's IPC does to every event
            const at = performance.now()
            maxGap = Math.max(maxGap, at - last)
            last = at
            count += 1
            if (!(payload as BatchProgress).running) finished(at)
          },
        },
        log: (line) => console.warn(`[vkey] ${line}`),
        systemLocale: 'en-US',
        version: 'bench',
        platform: process.platform,
      })
      try {
        const vehicles = Array.from({ length: options.vehicles }, (_, i) => ({ source: `car-${i}.json`, index: 0, vin: vinFor(i), ...randomCarData() }))
        const added = await host.depot.addVehicles({ vehicles, issues: [] })
        collect()
        const started = performance.now()
        last = started
        const result = await dispatch(host, 'batch:start', {
          handoverIds: added.map((r) => r.id),
          duration: { kind: 'seconds', seconds: 3600 },
          concurrency: options.concurrency,
        })
        if (!(result as { ok: boolean }).ok) throw new Error(`batch:start failed: ${JSON.stringify(result).slice(0, 300)}`)
        const ended = await done
        const issued = (await (await host.depot.handovers()).list()).filter((r) => r.status === 'issued').length
        if (issued !== options.vehicles) throw new Error(`the app's batch issued ${issued}/${options.vehicles}`)
        if (keep) {
          runsMs.push(ended - started)
          gaps.push(maxGap)
          events.push(count)
          log(
            `9. app batch ${options.vehicles} × ${options.latencyMs} ms / ${options.concurrency}: ${round(ended - started, 0)} ms, ${count} progress events, longest gap ${round(maxGap, 0)} ms`,
          )
        }
      } finally {
        await host.dispose()
        await removeQuietly(dataDir)
      }
    }
    await once(false)
    for (let r = 0; r < options.repetitions; r++) await once(true)
  } finally {
    await sim.setLatency(0)
    await removeQuietly(root)
  }
  const floorMs = (options.vehicles * options.latencyMs) / options.concurrency
  return {
    vehicles: options.vehicles,
    latencyMs: options.latencyMs,
    concurrency: options.concurrency,
    repetitions: options.repetitions,
    floorMs,
    runsMs: runsMs.map((v) => round(v, 0)),
    medianMs: round(median(runsMs), 0),
    ratio: round(median(runsMs) / floorMs, 2),
    maxProgressGapMs: round(Math.max(...gaps), 0),
    progressEvents: events,
  }
}
