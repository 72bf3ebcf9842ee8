/**
 * Test environment for the depot, the CLI and the handlers: a throw-away data folder,
 * the real PSA simulator over mutual TLS beside it, and the real keychain (the suite runs
 * inside scripts/with-keyring.sh).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import type { TestContext } from 'node:test'
import { openStore } from '../../electron/core/settings-store'
import type { CliIo } from '../../electron/cli/io'
import { runCli } from '../../electron/cli/run'
import { Depot } from '../../electron/core/depot'
import { defaultSimulatorDir, registerSimulator } from '../../electron/core/simulator-registration'
import { createHandlers, type HandlerHost } from '../../electron/app/handlers'
import type { EventSink } from '../../electron/app/ipc-dispatch'
import type { Clipboard } from '../../electron/app/app-deps'
import { startSimulator, type Simulator } from '../../electron/core/simulator'
import { reservedPort } from './ports'
import { seedSimulatorDir } from './sim-material'

export const ROOT = resolve(import.meta.dirname, '../..')

/** A fresh folder under the system temp dir, removed when the test ends. */
export async function tempFolder(t: TestContext | undefined, prefix = 'vkey-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t?.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

export interface TestDepot {
  dataDir: string
  simulator: Simulator
  depot: Depot
  env: NodeJS.ProcessEnv
}

/**
 * A data folder with a simulator profile "sim" (default) and the demo partner
 * certificate imported, exactly as a user would set it up with `vkey`. The simulator's
 * folder (beside the data folder) starts with this run's demo material (sim-material.ts).
 * `restartable`: the simulator listens on a port reserved for this test (ports.ts), so the
 * test may close it and start it again on the same port.
 */
export async function setupDepot(
  t: TestContext,
  options: { latencyMs?: number; profile?: boolean; extraClientCas?: string[]; restartable?: boolean; root?: string } = {},
): Promise<TestDepot> {
  const root = options.root ?? (await tempFolder(t))
  const dataDir = join(root, 'data')
  const dir = await seedSimulatorDir(defaultSimulatorDir(dataDir))
  const port = options.restartable ? await reservedPort() : 0
  const simulator = await startSimulator({
    dir,
    port,
    ...(options.latencyMs ? { latencyMs: options.latencyMs } : {}),
    ...(options.extraClientCas ? { extraClientCas: options.extraClientCas } : {}),
  })
  t.after(() => simulator.close())
  const depot = await Depot.open({ dataDir, store: openStore(dataDir), clientOptions: { retryBaseDelayMs: 5 } })
  t.after(() => depot.close())
  await registerSimulator(depot.dataDir, { baseUrl: simulator.baseUrl, dir: simulator.material.dir })
  if (options.profile !== false) {
    await depot.partners.save({ name: 'sim', environment: 'simulator', makeDefault: true })
    const bytes = await readFile(simulator.material.files.partnerP12)
    await depot.partners.importCertificate('sim', { file: { name: 'partner.p12', bytes }, passphrase: simulator.material.credentials.p12Passphrase })
  }
  return { dataDir, simulator, depot, env: { ...process.env, VKEY_HOME: dataDir } }
}

/** A CarData export as the phone app writes it, with random base64 data. */
export function carDataJson(vin?: string, extra: Record<string, unknown> = {}): string {
  const random = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(Math.random() * 256))).toString('base64')
  return JSON.stringify({ ...(vin ? { vin } : {}), uin: 'UIN0001', carData: random(96), carDataSignature: random(64), ...extra })
}

/** A valid VIN (17 characters, no I, O or Q), distinct for each n. */
export function vinFor(n: number): string {
  return `VF3TEST${String(n).padStart(10, '0')}`
}

/** n single-vehicle files in a folder (VINs from `from`), and their paths. */
export async function writeVehicleFiles(dir: string, n: number, from = 0): Promise<string[]> {
  await mkdir(dir, { recursive: true })
  const paths: string[] = []
  for (let i = 0; i < n; i += 1) {
    const path = join(dir, `car-${from + i}.json`)
    await writeFile(path, carDataJson(vinFor(from + i)))
    paths.push(path)
  }
  return paths
}

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs `vkey` in this process with captured streams (fast; same code as the binary); `now` moves its clock. */
export function vkey(args: string[], env: NodeJS.ProcessEnv, stdin = '', now?: () => Date): Promise<CliResult> {
  return vkeyRunning(args, env, stdin, now).done
}

/** A `vkey` run still going: what it printed so far, and its result when it ends. */
export interface RunningCli {
  stdout(): string
  stderr(): string
  done: Promise<CliResult>
}

/** `vkey` as above, with its output readable while it runs (a test waits for a line, not for a time). */
export function vkeyRunning(args: string[], env: NodeJS.ProcessEnv, stdin = '', now?: () => Date): RunningCli {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const out: Buffer[] = []
  const err: Buffer[] = []
  stdout.on('data', (c: Buffer) => out.push(c))
  stderr.on('data', (c: Buffer) => err.push(c))
  const io: CliIo = { stdout, stderr, stdin: Readable.from([Buffer.from(stdin)]), env, isTty: false, ...(now ? { now } : {}) }
  const text = (chunks: Buffer[]) => () => Buffer.concat(chunks).toString('utf8')
  const done = runCli(args, io).then((code) => ({ code, stdout: text(out)(), stderr: text(err)() }))
  return { stdout: text(out), stderr: text(err), done }
}

/** Runs the real `vkey` binary (scripts/vkey.mjs, as `npx vkey` does) in a child process. */
export function vkeyProcess(args: string[], env: NodeJS.ProcessEnv, stdin = ''): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts/vkey.mjs'), ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.on('error', reject)
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }))
    child.stdin.end(stdin)
  })
}

/** Every file under a folder, recursively, with its bytes. */
export async function filesUnder(dir: string): Promise<{ path: string; bytes: Buffer; mode: number }[]> {
  const found: { path: string; bytes: Buffer; mode: number }[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    found.push({ path, bytes: await readFile(path), mode: (await stat(path)).mode & 0o777 })
  }
  return found
}

/**
 * Looks for secrets in clear in a folder: PEM private keys, and each given secret
 * string as UTF-8, base64 and hex. Returns what it found, where.
 */
export async function findSecretsInClear(dir: string, secrets: string[]): Promise<string[]> {
  const hits: string[] = []
  const needles = secrets.filter((s) => s.length >= 6).flatMap((s) => [s, Buffer.from(s).toString('base64'), Buffer.from(s).toString('hex')])
  for (const file of await filesUnder(dir)) {
    const text = file.bytes.toString('latin1')
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) hits.push(`${file.path}: PEM private key`)
    for (const needle of needles) if (text.includes(needle)) hits.push(`${file.path}: contains a secret (${needle.slice(0, 6)}…)`)
  }
  return hits
}

/**
 * The app's IPC handlers on a data folder, as the main process creates them, with the
 * two parts that need the Electron binary (dialogs, clipboard) answered by the test.
 */
export async function testHandlers(
  t: TestContext,
  dataDir: string,
  options: { now?: () => Date; emit?: EventSink['emit']; log?: (line: string) => void; files?: string[]; savePath?: string; clipboard?: Clipboard } = {},
): Promise<HandlerHost> {
  const handlers = await createHandlers({
    dataDir,
    store: openStore(dataDir),
    dialogs: { chooseFiles: async () => options.files ?? [], chooseSavePath: async () => options.savePath },
    clipboard: options.clipboard ?? { writeText: () => undefined, readText: () => '', clear: () => undefined },
    events: { emit: options.emit ?? (() => undefined) },
    log: options.log ?? (() => undefined),
    systemLocale: 'en-US',
    version: 'test',
    platform: process.platform,
    ...(options.now ? { now: options.now } : {}),
  })
  t.after(() => handlers.dispose())
  return handlers
}

/** `text` as a literal inside a RegExp (paths, VINs, local times in expected messages). */
export function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

export interface VkeyChild {
  child: ChildProcessWithoutNullStreams
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; afterSignalMs: number }>
  signal(name: NodeJS.Signals): void
}

/** Starts the real `vkey`; killed with SIGKILL when the test ends if still running. */
export function startVkey(t: TestContext, args: string[], env: NodeJS.ProcessEnv): VkeyChild {
  const child = spawn(process.execPath, [join(ROOT, 'scripts/vkey.mjs'), ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  child.stdin.end()
  let stdout = ''
  let stderr = ''
  let signalledAt = 0
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c))
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c))
  const exited = once(child, 'close').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
    stdout,
    stderr,
    afterSignalMs: Date.now() - signalledAt,
  }))
  return {
    child,
    exited,
    signal(name) {
      signalledAt = Date.now()
      child.kill(name)
    },
  }
}
