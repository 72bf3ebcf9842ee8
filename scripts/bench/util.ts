/** Shared helpers for `npm run bench`: statistics, child processes, the simulator child, data folders. */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises'
import { cpus, freemem, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface, type Interface } from 'node:readline'
import { openStore } from '../../electron/core/settings-store'
import { Depot } from '../../electron/core/depot'
import { registerSimulator } from '../../electron/core/simulator-registration'
import { loadSimulatorMaterial, type SimulatorMaterial } from '../../electron/core/simulator'

export const ROOT = resolve(import.meta.dirname, '../..')
export const VKEY_BIN = join(ROOT, 'scripts/vkey.mjs')

// ---- statistics ------------------------------------------------------------------------

export function median(values: number[]): number {
  if (!values.length) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

export function now(): number {
  return performance.now()
}

/** Full GC between measurements when node runs with --expose-gc. */
export function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
}

export function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`)
}

// ---- the machine -----------------------------------------------------------------------

export interface Machine {
  cpuModel: string
  nproc: number
  memoryGiB: number
  freeMemoryGiB: number
  node: string
  platform: string
  kernel: string
  /** /proc/loadavg (1, 5, 15 min) when the run started… */
  loadAverage: string
  /** …and when it ended (filled in at the end). */
  loadAverageAtEnd?: string
  /**
   * Median time of a 1.2 kB append + fsync in the temp folder (20 tries): what one durable
   * ledger commit costs on this disk now. It is held on the event loop (better-sqlite3 is
   * synchronous), so a busy disk shows in figures 3, 7 and 9.
   */
  fsyncMs: number
}

/** The load average now (Linux), as /proc/loadavg's first three fields. */
export async function loadAverage(): Promise<string> {
  return (await readFile('/proc/loadavg', 'utf8').catch(() => '')).split(' ').slice(0, 3).join(' ')
}

/** Median of `tries` appends of 1.2 kB, each followed by fsync, to a file in the temp folder. */
export async function fsyncLatencyMs(tries = 20): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'vkey-bench-fsync-'))
  const handle = await open(join(dir, 'probe'), 'a')
  const times: number[] = []
  try {
    const line = Buffer.alloc(1200, 0x61)
    for (let i = 0; i < tries; i++) {
      const started = now()
      await handle.write(line)
      await handle.sync()
      times.push(now() - started)
    }
  } finally {
    await handle.close()
    await rm(dir, { recursive: true, force: true })
  }
  return round(median(times), 2)
}

export async function machine(): Promise<Machine> {
  let cpuModel = cpus()[0]?.model ?? 'unknown'
  try {
    const info = await readFile('/proc/cpuinfo', 'utf8')
    cpuModel = /model name\s*:\s*(.+)/.exec(info)?.[1]?.trim() ?? cpuModel
  } catch {
    // not Linux
  }
  const kernel = (await readFile('/proc/sys/kernel/osrelease', 'utf8').catch(() => '')).trim()
  return {
    cpuModel,
    nproc: Number((await run('nproc', []).catch(() => ({ stdout: '' }))).stdout.trim()) || cpus().length,
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    freeMemoryGiB: round(freemem() / 2 ** 30, 1),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    kernel,
    loadAverage: await loadAverage(),
    fsyncMs: await fsyncLatencyMs(),
  }
}

// ---- child processes -------------------------------------------------------------------

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
  /** Wall time from spawn to exit, ms. */
  wallMs: number
}

/** Runs a command to the end, collecting its output; never throws on a non-zero exit. */
export function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; onStderrLine?: (line: string, at: number) => void } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const started = now()
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    let pending = ''
    child.stderr.on('data', (c: Buffer) => {
      const at = now()
      err.push(c)
      if (options.onStderrLine) {
        pending += c.toString('utf8')
        const lines = pending.split('\n')
        pending = lines.pop() ?? ''
        for (const line of lines) options.onStderrLine(line, at)
      }
    })
    child.on('error', reject)
    child.on('close', (code) => {
      resolvePromise({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), wallMs: now() - started })
    })
  })
}

// ---- the simulator child ---------------------------------------------------------------

export interface SimulatorChild {
  baseUrl: string
  dir: string
  material: SimulatorMaterial
  setLatency(ms: number): Promise<void>
  stats(): Promise<{ connections: number; requests: number; tokensIssued: number; handshakeFailures: number; byStatus: Record<number, number> }>
  close(): Promise<void>
}

/** Starts scripts/bench/sim-process.ts in its own node process. */
export async function startSimulatorChild(dir: string): Promise<SimulatorChild> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/bench/sim-process.ts'), dir], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  let closing = false
  // A simulator that dies under a figure would leave its client retrying: stop the bench and say so.
  child.once('exit', (code, signal) => {
    if (closing) return
    log(`the simulator process exited during the run (${signal ?? `code ${code}`}); stopping the bench`)
    process.exit(1)
  })
  const lines: Interface = createInterface({ input: child.stdout! })
  const waiting: Array<(line: string) => void> = []
  const early: string[] = []
  lines.on('line', (line) => {
    const next = waiting.shift()
    if (next) next(line)
    else early.push(line)
  })
  const nextLine = (): Promise<string> =>
    new Promise((resolveLine, reject) => {
      const ready = early.shift()
      if (ready !== undefined) return resolveLine(ready)
      const onExit = (): void => reject(new Error('the simulator process exited'))
      child.once('exit', onExit)
      waiting.push((line) => {
        child.off('exit', onExit)
        resolveLine(line)
      })
    })
  const hello = JSON.parse(await nextLine()) as { baseUrl: string; dir: string }
  const material = await loadSimulatorMaterial(hello.dir)
  const command = async (text: string): Promise<Record<string, unknown>> => {
    child.stdin!.write(`${text}\n`)
    const answer = JSON.parse(await nextLine()) as Record<string, unknown>
    if (answer.ok !== true) throw new Error(`simulator: ${String(answer.error)}`)
    return answer
  }
  return {
    baseUrl: hello.baseUrl,
    dir: hello.dir,
    material,
    async setLatency(ms) {
      await command(`latency ${ms}`)
    },
    async stats() {
      return (await command('stats')).stats as Awaited<ReturnType<SimulatorChild['stats']>>
    },
    close() {
      closing = true
      return new Promise((done) => {
        if (child.exitCode !== null) return done()
        child.once('exit', () => done())
        child.stdin!.end()
        setTimeout(() => child.kill('SIGTERM'), 3000).unref()
      })
    },
  }
}

// ---- data folders and CarData ----------------------------------------------------------

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix))
}

/**
 * A fresh data folder with a default profile "sim" on the simulator child and the demo
 * partner certificate imported — what `vkey profile add sim --env simulator` and
 * `vkey cert import` leave behind. The vault key goes to the (private) keychain.
 */
export async function freshDataFolder(root: string, sim: SimulatorChild): Promise<{ dataDir: string; env: NodeJS.ProcessEnv }> {
  const dataDir = join(root, `data-${randomBytes(4).toString('hex')}`)
  const depot = await Depot.open({ dataDir, store: openStore(dataDir) })
  try {
    await registerSimulator(depot.dataDir, { baseUrl: sim.baseUrl, dir: sim.dir })
    await depot.partners.save({ name: 'sim', environment: 'simulator', makeDefault: true })
    const bytes = await readFile(sim.material.files.partnerP12)
    await depot.partners.importCertificate('sim', { file: { name: 'partner.p12', bytes }, passphrase: sim.material.credentials.p12Passphrase })
  } finally {
    await depot.close()
  }
  return { dataDir, env: { ...process.env, VKEY_HOME: dataDir } }
}

/** A VIN for n (17 characters, no I, O or Q). */
export function vinFor(n: number): string {
  return `VF3BENCH${String(n).padStart(9, '0')}`
}

/** CarData and signature as the phone SDK exports them (random base64 of realistic size). */
export function randomCarData(): { carData: string; carDataSignature: string } {
  return { carData: randomBytes(96).toString('base64'), carDataSignature: randomBytes(64).toString('base64') }
}

/** Writes `count` one-vehicle CarData exports into a new folder and returns their paths. */
export async function writeCarDataFiles(root: string, count: number): Promise<string[]> {
  const dir = join(root, `cardata-${randomBytes(4).toString('hex')}`)
  await mkdir(dir, { recursive: true })
  const paths: string[] = []
  for (let i = 0; i < count; i++) {
    const path = join(dir, `vehicle-${String(i).padStart(4, '0')}.json`)
    await writeFile(path, JSON.stringify({ vin: vinFor(i), uin: `UIN${String(i).padStart(6, '0')}`, ...randomCarData() }))
    paths.push(path)
  }
  return paths
}

export async function removeQuietly(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true }).catch(() => undefined)
}
