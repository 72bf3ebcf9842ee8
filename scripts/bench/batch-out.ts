/**
 * Figure 7 — `vkey batch --out DIR` (issue #10): N vehicles at L ms simulator latency,
 * concurrency C, as real processes under /usr/bin/time -v, each run beside the same batch
 * without --out (interleaved A B B A …, fresh data folder each).
 *
 * The batch is over when the process exits (the last QR file is written before that), so
 * each run is split at its first progress line ("0/N", journal written, before the first
 * request): **start** = spawn → that line (node, bundle, keychain, reading and adding the N
 * files), **work** = that line → exit (every request, every record sealed and stored, every
 * QR file rendered and written with fsync). Targets: work(--out) ≤ 1.15 × the floor
 * N × L / C — i.e. the whole process ≤ 1.15 × floor + its own cold start — and
 * work(--out) ≤ 1.10 × work(without --out); peak RSS ≤ 150 MB. Every run's folder must
 * hold N files; one of them is decoded with zbarimg and its pixels per module reported.
 */
import { execFile } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import QRCode from 'qrcode'
import { collect, freshDataFolder, log, median, removeQuietly, round, run, tempDir, VKEY_BIN, writeCarDataFiles, type SimulatorChild } from './util'

const execFileAsync = promisify(execFile)
const TIME = '/usr/bin/time'

export interface BatchOutFigure {
  vehicles: number
  latencyMs: number
  concurrency: number
  repetitions: number
  floorMs: number
  out: Runs
  plain: Runs
  /** Median time from the batch's last progress line (every key recorded) to the exit: with --out, the files still being written. */
  outTailMedianMs: number
  /** CPU time (user + system) the --out process spent beyond the plain one, per vehicle (medians). */
  extraCpuPerVehicleMs: number
  outWorkMedianMs: number
  plainWorkMedianMs: number
  outStartMedianMs: number
  outWallMedianMs: number
  /** median work(--out) / floor */
  ratioToFloor: number
  /** median work(--out) / median work(no --out) */
  ratioToPlain: number
  peakRssMaxMB: number
  /** The PNG decoded with zbarimg to its payload. */
  decoded: boolean
  pixelsPerModule: number
}

interface Run {
  startMs: number
  workMs: number
  wallMs: number
  peakRssMB: number
  cpuMs: number
  tailMs: number
}
type Runs = { [K in keyof Run]: number[] }

async function oneBatch(
  sim: SimulatorChild,
  root: string,
  files: string[],
  options: { concurrency: number; out: boolean; cpuProfDir?: string },
): Promise<Run & { outDir?: string; dataDir: string }> {
  const { dataDir, env } = await freshDataFolder(root, sim)
  const outDir = options.out ? join(dataDir, '..', `qr-${dataDir.slice(-8)}`) : undefined
  const timeFile = join(root, 'time.txt')
  let first: number | undefined
  let last = 0
  collect()
  const started = performance.now()
  const nodeArgs = options.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir] : []
  const result = await run(
    TIME,
    [
      '-v',
      '-o',
      timeFile,
      process.execPath,
      ...nodeArgs,
      VKEY_BIN,
      'batch',
      ...files,
      '--duration',
      '1h',
      '--concurrency',
      String(options.concurrency),
      ...(outDir ? ['--out', outDir] : []),
    ],
    {
      env,
      onStderrLine(line, at) {
        if (!/^vkey batch: \d+\/\d+/.test(line)) return
        first ??= at
        last = at
      },
    },
  )
  if (result.code !== 0) throw new Error(`vkey batch exited ${result.code}: ${result.stderr.slice(0, 500)}`)
  if (!result.stderr.includes(`${files.length}/${files.length} (100 %): ${files.length} issued,`))
    throw new Error(`vkey batch did not finish every vehicle: ${result.stderr.slice(-500)}`)
  if (outDir) {
    const written = (await readdir(outDir)).filter((f) => f.endsWith('.png')).length
    if (written !== files.length) throw new Error(`vkey batch --out wrote ${written} of ${files.length} QR files`)
  }
  const time = await readFile(timeFile, 'utf8')
  const rssKiB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(time)?.[1])
  const cpuMs = (Number(/User time \(seconds\): ([\d.]+)/.exec(time)?.[1]) + Number(/System time \(seconds\): ([\d.]+)/.exec(time)?.[1])) * 1000
  const startMs = (first ?? Number.NaN) - started
  return {
    startMs,
    workMs: result.wallMs - startMs,
    wallMs: result.wallMs,
    peakRssMB: (rssKiB * 1024) / 1e6,
    cpuMs,
    tailMs: started + result.wallMs - last,
    dataDir,
    ...(outDir ? { outDir } : {}),
  }
}

export async function batchOutFigure(
  sim: SimulatorChild,
  options: { vehicles: number; latencyMs: number; concurrency: number; repetitions: number; cpuProfDir?: string },
): Promise<BatchOutFigure> {
  await sim.setLatency(options.latencyMs)
  const root = await tempDir('vkey-bench-batch-out-')
  const out: Run[] = []
  const plain: Run[] = []
  let decoded = false
  let pixelsPerModule = 0
  try {
    const files = await writeCarDataFiles(root, options.vehicles)
    const measure = async (withOut: boolean, keep: boolean): Promise<void> => {
      const result = await oneBatch(sim, root, files, { concurrency: options.concurrency, out: withOut })
      if (result.outDir && !decoded) {
        const file = join(
          result.outDir,
          (await readdir(result.outDir)).find((f) => f.endsWith('.png'))!,
        )
        const { stdout } = await execFileAsync('zbarimg', ['--raw', '-q', file], { encoding: 'utf8' })
        const payload = stdout.replace(/\n$/, '')
        decoded = payload.startsWith('{"v":1')
        const size = QRCode.create([{ mode: 'byte', data: Buffer.from(payload, 'utf8') }], { errorCorrectionLevel: 'M' }).modules.size
        pixelsPerModule = (await readFile(file)).readUInt32BE(16) / (size + 8)
      }
      if (keep) {
        ;(withOut ? out : plain).push(result)
        log(
          `7. batch ${options.vehicles} × ${options.latencyMs} ms / ${options.concurrency}${withOut ? ' --out' : '      '}: start ${round(result.startMs, 0)} ms, work ${round(result.workMs, 0)} ms (last progress → exit ${round(result.tailMs, 0)} ms), CPU ${round(result.cpuMs, 0)} ms, peak RSS ${round(result.peakRssMB, 1)} MB`,
        )
      }
      await removeQuietly(result.dataDir)
      if (result.outDir) await removeQuietly(result.outDir)
    }
    await measure(true, false) // warm-up
    await measure(false, false)
    for (let r = 0; r < options.repetitions; r++) {
      const order = r % 2 === 0 ? [true, false] : [false, true]
      for (const withOut of order) await measure(withOut, true)
    }
    if (options.cpuProfDir) {
      // One more --out batch under node --cpu-prof (the main thread and the QR file worker each write a profile).
      const profiled = await oneBatch(sim, root, files, { concurrency: options.concurrency, out: true, cpuProfDir: options.cpuProfDir })
      await removeQuietly(profiled.dataDir)
      if (profiled.outDir) await removeQuietly(profiled.outDir)
    }
  } finally {
    await sim.setLatency(0)
    await removeQuietly(root)
  }
  const floorMs = (options.vehicles * options.latencyMs) / options.concurrency
  const pick = (runs: Run[]): Runs => ({
    startMs: runs.map((r) => round(r.startMs, 0)),
    workMs: runs.map((r) => round(r.workMs, 0)),
    wallMs: runs.map((r) => round(r.wallMs, 0)),
    peakRssMB: runs.map((r) => round(r.peakRssMB, 1)),
    cpuMs: runs.map((r) => round(r.cpuMs, 0)),
    tailMs: runs.map((r) => round(r.tailMs, 0)),
  })
  const outWork = median(out.map((r) => r.workMs))
  const plainWork = median(plain.map((r) => r.workMs))
  return {
    vehicles: options.vehicles,
    latencyMs: options.latencyMs,
    concurrency: options.concurrency,
    repetitions: options.repetitions,
    floorMs,
    out: pick(out),
    plain: pick(plain),
    outWorkMedianMs: round(outWork, 0),
    outTailMedianMs: round(median(out.map((r) => r.tailMs)), 0),
    plainWorkMedianMs: round(plainWork, 0),
    outStartMedianMs: round(median(out.map((r) => r.startMs)), 0),
    outWallMedianMs: round(median(out.map((r) => r.wallMs)), 0),
    ratioToFloor: round(outWork / floorMs, 2),
    ratioToPlain: round(outWork / plainWork, 2),
    extraCpuPerVehicleMs: round((median(out.map((r) => r.cpuMs)) - median(plain.map((r) => r.cpuMs))) / options.vehicles, 2),
    peakRssMaxMB: round(Math.max(...out.map((r) => r.peakRssMB)), 1),
    decoded,
    pixelsPerModule: round(pixelsPerModule, 2),
  }
}
