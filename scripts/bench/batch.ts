/**
 * Figure 3 — batch against the physical limit: N vehicles, simulator latency L ms,
 * concurrency C, as one real `vkey batch` process (under /usr/bin/time -v for its peak RSS).
 *
 * The floor is N × L / C. The batch phase is timed from the batch's first progress line
 * ("0/N", printed once the journal is written, before the first request) to its last one
 * (after the last handover record is sealed and written and the journal is closed), as the
 * lines arrive on the child's stderr. The whole process (node + tsx start, keychain, import
 * of the N files, the records added) is reported beside it.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { bareSender, pool, simulatorCredentials } from './client'
import {
  collect,
  freshDataFolder,
  randomCarData,
  log,
  median,
  removeQuietly,
  round,
  run,
  tempDir,
  VKEY_BIN,
  writeCarDataFiles,
  type SimulatorChild,
} from './util'

export interface BatchFigure {
  vehicles: number
  latencyMs: number
  concurrency: number
  repetitions: number
  floorMs: number
  batchMs: number[]
  processMs: number[]
  peakRssMB: number[]
  batchMedianMs: number
  /** median(batch phase) / floor */
  ratio: number
  processMedianMs: number
  /** Largest peak RSS of the runs. */
  peakRssMaxMB: number
  connections: number
  /** The same requests at the same latency and concurrency through a bare undici Agent: what the network and simulator allow here. */
  bareMs: number[]
  bareMedianMs: number
  /** median(batch phase) / median(bare): what VK Depot adds on top of the network. */
  ratioToBare: number
  cpuProfile?: string
}

const TIME = '/usr/bin/time'

export async function batchFigure(
  sim: SimulatorChild,
  options: { vehicles: number; latencyMs: number; concurrency: number; repetitions: number; cpuProfDir?: string },
): Promise<BatchFigure> {
  await sim.setLatency(options.latencyMs)
  const root = await tempDir('vkey-bench-batch-')
  const batchMs: number[] = []
  const processMs: number[] = []
  const peakRssMB: number[] = []
  const bareMs: number[] = []
  let connections = 0
  try {
    const files = await writeCarDataFiles(root, options.vehicles)
    const once = async (profile: boolean): Promise<void> => {
      const { dataDir, env } = await freshDataFolder(root, sim)
      const timeFile = join(root, 'time.txt')
      let first: number | undefined
      let last: number | undefined
      const progress = /^vkey batch: (\d+)\/(\d+)/
      collect()
      const before = await sim.stats()
      const nodeArgs = profile && options.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir] : []
      const result = await run(
        TIME,
        ['-v', '-o', timeFile, process.execPath, ...nodeArgs, VKEY_BIN, 'batch', ...files, '--duration', '1h', '--concurrency', String(options.concurrency)],
        {
          env,
          onStderrLine(line, at) {
            if (!progress.test(line)) return
            first ??= at
            last = at
          },
        },
      )
      if (result.code !== 0) throw new Error(`vkey batch exited ${result.code}: ${result.stderr.slice(0, 500)}`)
      if (!result.stderr.includes(`${options.vehicles}/${options.vehicles} (100 %): ${options.vehicles} issued,`))
        throw new Error(`vkey batch did not finish every vehicle: ${result.stderr.slice(-500)}`)
      const stats = await sim.stats()
      const issued = stats.tokensIssued - before.tokensIssued
      if (issued !== options.vehicles) throw new Error(`the simulator issued ${issued} tokens, expected ${options.vehicles}`)
      connections = stats.connections - before.connections
      const time = await readFile(timeFile, 'utf8')
      const rssKiB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(time)?.[1])
      if (!profile) {
        batchMs.push((last ?? Number.NaN) - (first ?? Number.NaN))
        processMs.push(result.wallMs)
        peakRssMB.push((rssKiB * 1024) / 1e6)
        log(
          `3. batch ${options.vehicles} × ${options.latencyMs} ms / ${options.concurrency}: batch phase ${round(batchMs.at(-1)!, 0)} ms, process ${round(result.wallMs, 0)} ms, peak RSS ${round((rssKiB * 1024) / 1e6, 1)} MB`,
        )
      }
      await removeQuietly(dataDir)
    }
    await once(false) // warm-up (page cache, keychain daemon)
    batchMs.length = 0
    processMs.length = 0
    peakRssMB.length = 0
    for (let r = 0; r < options.repetitions; r++) await once(false)
    if (options.cpuProfDir) await once(true)
    // The same requests with no VK Depot around them: a bare undici Agent, same latency and concurrency.
    const bare = bareSender(simulatorCredentials(sim), { connections: options.concurrency })
    try {
      const inputs = Array.from({ length: options.vehicles }, () => ({ ...randomCarData(), durationSeconds: 3600 }))
      await pool(inputs.slice(0, 50), options.concurrency, bare.send)
      for (let r = 0; r < options.repetitions; r++) {
        collect()
        bareMs.push(await pool(inputs, options.concurrency, bare.send))
      }
      log(`3. bare undici, same ${options.vehicles} requests × ${options.latencyMs} ms / ${options.concurrency}: ${round(median(bareMs), 0)} ms`)
    } finally {
      await bare.close()
    }
  } finally {
    await sim.setLatency(0)
    await removeQuietly(root)
  }
  const floorMs = (options.vehicles * options.latencyMs) / options.concurrency
  const batchMedianMs = median(batchMs)
  return {
    vehicles: options.vehicles,
    latencyMs: options.latencyMs,
    concurrency: options.concurrency,
    repetitions: options.repetitions,
    floorMs,
    batchMs: batchMs.map((v) => round(v, 0)),
    processMs: processMs.map((v) => round(v, 0)),
    peakRssMB: peakRssMB.map((v) => round(v, 1)),
    batchMedianMs: round(batchMedianMs, 0),
    ratio: round(batchMedianMs / floorMs, 2),
    processMedianMs: round(median(processMs), 0),
    peakRssMaxMB: round(Math.max(...peakRssMB), 1),
    connections,
    bareMs: bareMs.map((v) => round(v, 0)),
    bareMedianMs: round(median(bareMs), 0),
    ratioToBare: round(batchMedianMs / median(bareMs), 2),
    ...(options.cpuProfDir ? { cpuProfile: options.cpuProfDir } : {}),
  }
}
