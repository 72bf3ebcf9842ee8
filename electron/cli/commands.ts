/**
 * `vkey` commands: a thin shell over the depot core. Each command parses its own
 * options with node:util parseArgs, talks to the depot and writes plain lines (or JSON
 * with --json). Errors are thrown as VkError; main.ts turns them into one stderr line
 * and the exit code.
 */
import { basename, resolve } from 'node:path'
import Conf from 'conf'
import packageJson from '../../package.json' with { type: 'json' }
import { EXIT_QUEUED, isVkError, toErrorView, VkError } from '../../shared/errors'
import type { ImportResult } from '../../shared/cardata'
import { parseDuration, formatDuration, resolveUntil, secondsUntil, untilExample } from '../../shared/duration'
import { formatLocal } from '../../shared/time'
import { validateVin } from '../../shared/vin'
import { importCarDataFiles, readCarDataStdin } from '../core/cardata-files'
import { writeCarDataNotes } from './cardata-notes'
import { Depot, defaultSimulatorDir, technician, type ProfileSummary } from '../core/depot'
import { handoverPayloadOf, tokenJsonOf } from '../core/handover-payload'
import { carDataHash, vehicleOf, type DurationPlan, type HandoverRecord, type NewHandover } from '../core/handovers'
import { obtainKey, type KeyResult } from '../core/key-requests'
import { assertWritableFile } from '../core/output-paths'
import { adoptDataFolder } from '../core/data-folder'
import { environmentBand } from '../../shared/environment-marker'
import { MAX_REQUEST_TIMEOUT_SECONDS, MIN_REQUEST_TIMEOUT_SECONDS, type Environment } from '../../shared/profile'
import { environmentResolver } from '../core/handover-environment'
import { defaultDataFolder } from '../core/paths'
import { qrFormatForPath, writeHandoverQr } from '../core/qr'
import { readRegularFile } from '../core/regular-file'
import { DEFAULT_REQUEST_TIMEOUT_MS } from '../core/request-deadline'
import { write, writeJson } from './args'
import { findCommand, helpText, overviewHelp, parseFor } from './spec'
import { certRequestCommand, certShowCommand, warnCertificateRenewal } from './cert-commands'
import { auditCommand, batchCommand, flushQueueQuietly, listCommand, packCommand, purgeCommand, queueCommand, showCommand, type HandoverCommandContext } from './handover-commands'
import { readSecretLine, type CliIo } from './io'

/** The overview `vkey help` prints (kept as `usage` for the callers that import it). */
export const usage = overviewHelp()


/** Shows a token as a technician may see it on screen: the ends only. */
export function maskToken(token: string): string {
  if (token.length <= 12) return '•'.repeat(8)
  return `${token.slice(0, 4)}${'•'.repeat(8)}${token.slice(-4)} (${token.length} characters; --json shows it)`
}

async function openDepot(io: CliIo): Promise<Depot> {
  const dataDir = openDataFolder(io)
  const interruption = io.interruption
  // The PSA client tells the interruption when a request reaches PSA, so Ctrl-C can say whether a key may exist.
  const clientOptions = interruption ? { onRequestSent: () => interruption.requestSent(), onRequestSettled: () => interruption.requestSettled() } : undefined
  const depot = await Depot.open({ dataDir, store: openStore(dataDir), ...(clientOptions ? { clientOptions } : {}), ...(io.now ? { now: io.now } : {}) })
  return depot
}

/** The data folder, adopted (or refused) before the settings store may create anything in it. */
export function openDataFolder(io: CliIo): string {
  const dataDir = defaultDataFolder(io.env)
  adoptDataFolder(dataDir, { isDefault: !io.env.VKEY_HOME?.trim() })
  return dataDir
}

/** The same settings file the desktop app's electron-store uses (conf underneath). */
export function openStore(dataDir: string): Conf<Record<string, unknown>> {
  return new Conf<Record<string, unknown>>({ cwd: dataDir, configName: 'settings', configFileMode: 0o600 })
}

function handoverContext(io: CliIo): HandoverCommandContext {
  return { openDepot: () => openDepot(io), durationPlan, printHandover, warnRenewal: (depot, profileName) => warnCertificateRenewal(io, depot, profileName) }
}

export async function runCommand(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv
  const asked = wantsHelp(argv)
  if (asked) {
    io.stdout.write(asked)
    return 0
  }
  // Commands that need PostgreSQL (pg), the simulator's PKI (node-forge) or the vault tools are
  // loaded when used: a cold `vkey token` parses and runs none of them (docs/performance.md).
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(helpText(command === 'help' ? rest : []))
      return command === undefined ? 2 : 0
    case '--version':
    case 'version':
      write(io, await version())
      return 0
    case 'simulator':
      return simulatorCommand(rest, io)
    case 'profile':
      return profileCommand(rest, io)
    case 'cert':
      return certCommand(rest, io)
    case 'token':
      return tokenCommand(rest, io)
    case 'batch':
      return batchCommand(rest, io, handoverContext(io))
    case 'list':
      if (rest.includes('--fleet')) return (await import('./fleet-commands')).fleetListCommand(rest, io, handoverContext(io), defaultDataFolder(io.env))
      return listCommand(rest, io, handoverContext(io))
    case 'show':
      return showCommand(rest, io, handoverContext(io))
    case 'pack':
      return packCommand(rest, io, handoverContext(io))
    case 'audit':
      if (rest.includes('--fleet')) return (await import('./fleet-commands')).fleetAuditCommand(rest, io, handoverContext(io), defaultDataFolder(io.env))
      return auditCommand(rest, io, handoverContext(io))
    case 'fleet':
      return (await import('./fleet-commands')).fleetCommand(rest, io, handoverContext(io), defaultDataFolder(io.env))
    case 'purge-expired':
      return purgeCommand(rest, io, handoverContext(io))
    case 'queue':
      return queueCommand(rest, io, handoverContext(io))
    case 'vault':
      return (await import('./vault-commands')).vaultCommand(rest, io, { openDataFolder, openStore })
    default:
      throw new VkError('usage', `Unknown command "${command}". Run \`vkey help\` for the list of commands.`)
  }
}

/** `vkey COMMAND … --help` (or -h): that command's help, whatever else the line holds. */
function wantsHelp(argv: string[]): string | undefined {
  if (!argv.slice(1).some((a) => a === '--help' || a === '-h')) return undefined
  const found = findCommand(argv)
  return found ? helpText([found.spec.name]) : helpText(argv.slice(0, 1))
}

async function version(): Promise<string> {
  return packageJson.version
}

// ---- simulator -----------------------------------------------------------------------

/** The banner's last hint: a simulator profile takes its demo login, password and certificate by itself. */
export const SIMULATOR_NEXT = 'Next: vkey profile add sim --env simulator --default'

async function simulatorCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFor('simulator', args)
  const port = values.port === undefined ? 7443 : integerOption('--port', values.port, 0, 65535)
  const latencyMs = values.latency === undefined ? 0 : integerOption('--latency', values.latency, 0, 60_000)
  const dataDir = openDataFolder(io)
  const dir = resolve(values.dir ?? defaultSimulatorDir(dataDir))
  const { readClientCas, startSimulator } = await import('../core/simulator')
  const extraClientCas: string[] = []
  for (const file of values['trust-client-ca'] ?? []) extraClientCas.push(...readClientCas(await readTextFile(file, '--trust-client-ca'), file))
  const simulator = await startSimulator({ dir, port, latencyMs, extraClientCas, ...(values.host ? { host: values.host } : {}) })
  const depot = await Depot.open({ dataDir, store: openStore(dataDir) })
  await depot.registerSimulator({ baseUrl: simulator.baseUrl, dir })
  const material = simulator.material
  write(io, `PSA simulator listening on ${simulator.baseUrl} (mutual TLS${latencyMs ? `, ${latencyMs} ms latency` : ''})`)
  const everywhere = simulator.boundAddress === '0.0.0.0' || simulator.boundAddress === '::'
  const bound = simulator.boundAddress.includes(':') ? `[${simulator.boundAddress}]:${simulator.port}` : `${simulator.boundAddress}:${simulator.port}`
  write(io, `  bound to:         ${bound} — ${everywhere ? 'all network interfaces: other computers can reach it' : isLoopback(simulator.boundAddress) ? 'this computer only' : 'this network address only'}`)
  if (everywhere) io.stderr.write('vkey simulator: warning: listening on all network interfaces. Anyone on this network can reach the simulator, and its demo login and keys are not secret. Use --host 127.0.0.1 unless another computer must reach it.\n')
  write(io, `  folder:           ${dir}`)
  write(io, `  partner cert:     ${material.files.partnerP12} (passphrase in demo-credentials.json)`)
  write(io, `  login / client:   ${material.credentials.login} / ${material.credentials.clientId}`)
  write(io, `  server CA:        ${material.files.serverCa}`)
  write(io, '  a profile:        --env simulator fills in the demo login, password and certificate')
  write(io, SIMULATOR_NEXT)
  write(io, 'Press Ctrl-C to stop.')
  await (io.interrupted ?? new Promise(() => undefined))
  await simulator.close()
  return 0
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.')
}

function integerOption(name: string, text: string, min: number, max: number): number {
  const value = Number(text)
  if (!/^\d+$/.test(text) || value < min || value > max) throw new VkError('usage', `${name} must be a whole number from ${min} to ${max} (got "${text}").`, { field: name })
  return value
}

// ---- profiles ------------------------------------------------------------------------

async function profileCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args
  if (sub === 'add') {
    const { values, positionals } = parseFor('profile add', rest)
    const name = single('profile add', positionals, 'NAME')
    const timeout = values.timeout === undefined ? undefined : integerOption('--timeout', values.timeout, MIN_REQUEST_TIMEOUT_SECONDS, MAX_REQUEST_TIMEOUT_SECONDS)
    if (!values.env) throw new VkError('usage', 'vkey profile add: --env is required (preprod, prod, simulator or an https://…/connectedcar/v3 URL).', { field: '--env' })
    if (values.env !== 'simulator' && !values['password-stdin']) {
      throw new VkError('usage', 'vkey profile add: pass the password on standard input with --password-stdin (it is never accepted as an argument, where other users could see it).', { field: '--password-stdin' })
    }
    const password = values['password-stdin'] ? await readSecretLine(io.stdin) : undefined
    if (values['password-stdin'] && !password) throw new VkError('usage', 'vkey profile add: --password-stdin read an empty password. Pipe it in, e.g. `printf %s "$PSA_PASSWORD" | vkey profile add NAME … --password-stdin`.', { field: '--password-stdin' })
    const caPem = values.ca ? await readTextFile(values.ca, '--ca') : undefined
    const depot = await openDepot(io)
    try {
      const profile = await depot.saveProfile({
        name,
        environment: values.env,
        ...(values['client-id'] ? { clientId: values['client-id'] } : {}),
        ...(values.login ? { login: values.login } : {}),
        ...(password !== undefined ? { password } : {}),
        ...(caPem ? { caPem } : {}),
        ...(values.default ? { makeDefault: true } : {}),
        ...(timeout !== undefined ? { requestTimeoutSeconds: timeout } : {}),
        ...(values.replace ? { replace: true } : {}),
      })
      let summary = await depot.summary(profile)
      write(io, `Profile "${profile.name}" saved: ${profile.environment} ${profile.baseUrl}, client ${profile.clientId}, login ${profile.login}${profile.requestTimeoutSeconds ? `, ${profile.requestTimeoutSeconds} s per request` : ''}${summary.isDefault ? ' (default)' : ''}.`)
      if (!summary.certificate && profile.environment === 'simulator') {
        // The simulator's demo partner certificate comes with it: nothing to import by hand.
        await depot.importSimulatorCertificate(profile.name)
        summary = await depot.summary(profile)
        write(io, `The simulator's demo partner certificate was imported (${summary.certificate?.subject ?? ''}).`)
      }
      if (!summary.certificate) write(io, `Next: vkey cert import FILE --profile "${profile.name}"`)
      return 0
    } finally {
      await depot.close()
    }
  }
  if (sub === 'list') {
    const { values } = parseFor('profile list', rest)
    const depot = await openDepot(io)
    const profiles = depot.profiles.list()
    const summaries: ProfileSummary[] = []
    for (const profile of profiles) summaries.push(await depot.summary(profile))
    if (values.json) {
      writeJson(io, JSON.stringify(summaries.map(profileJson), null, 2))
    } else if (!summaries.length) {
      write(io, 'No profile yet. Add one with `vkey profile add NAME --env …` (or try the simulator: `vkey simulator`).')
    } else {
      for (const p of summaries) {
        const cert = p.certificate ? `cert ${p.certificate.commonName ?? p.certificate.subject}, ${p.certificate.daysLeft} days left` : 'no certificate'
        write(io, `${p.isDefault ? '*' : ' '} ${p.name}  ${p.environment}  ${p.baseUrl}  client ${p.clientId}  login ${p.login}  ${cert}`)
      }
    }
    return 0
  }
  if (sub === 'remove' || sub === 'default') {
    const { positionals } = parseFor(`profile ${sub}`, rest)
    const name = single(`profile ${sub}`, positionals, 'NAME')
    const depot = await openDepot(io)
    if (sub === 'remove') await depot.removeProfile(name)
    else depot.profiles.setDefault(name)
    write(io, sub === 'remove' ? `Profile "${name}" removed with its secrets.` : `Profile "${name}" is now the default.`)
    return 0
  }
  throw new VkError('usage', 'vkey profile: use `profile add`, `profile list`, `profile remove` or `profile default`.')
}

function profileJson(p: ProfileSummary) {
  return {
    name: p.name,
    environment: p.environment,
    baseUrl: p.baseUrl,
    clientId: p.clientId,
    login: p.login,
    default: p.isDefault,
    hasPassword: p.hasPassword,
    hasCa: Boolean(p.caPem),
    requestTimeoutSeconds: p.requestTimeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_MS / 1000,
    certificate: p.certificate,
  }
}

function single(command: string, positionals: string[], what: string): string {
  if (positionals.length !== 1 || !positionals[0]) throw new VkError('usage', `vkey ${command}: give exactly one ${what}.`)
  return positionals[0]
}

async function readTextFile(path: string, option: string): Promise<string> {
  return (await readBytes(path, option)).toString('utf8')
}

async function readBytes(path: string, option: string): Promise<Buffer> {
  try {
    return await readRegularFile(path, { hint: `Give ${option} the certificate or key file itself.`, field: option })
  } catch (error) {
    if (isVkError(error)) throw error
    const code = (error as NodeJS.ErrnoException).code
    throw new VkError('input.file', `${option}: cannot read ${path} (${code === 'ENOENT' ? 'no such file' : code ?? 'unreadable'}). Check the path.`, { file: path, field: option })
  }
}

// ---- certificates --------------------------------------------------------------------

async function certCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args
  if (sub === 'import') {
    const { values, positionals } = parseFor('cert import', rest)
    const file = single('cert import', positionals, 'FILE')
    const bytes = await readBytes(file, 'FILE')
    const key = values.key ? { name: values.key, bytes: await readBytes(values.key, '--key') } : undefined
    const passphrase = values['passphrase-stdin'] ? await readSecretLine(io.stdin) : undefined
    const depot = await openDepot(io)
    const facts = await depot.importCertificate(values.profile, { file: { name: file, bytes }, ...(key ? { key } : {}), ...(passphrase !== undefined ? { passphrase } : {}) })
    bytes.fill(0)
    key?.bytes.fill(0)
    const profile = depot.profile(values.profile)
    write(io, `Certificate imported into profile "${profile.name}" (sealed in the data folder; the key to it is in the OS keychain).`)
    printFacts(io, facts)
    return 0
  }
  if (sub === 'show') return certShowCommand(rest, io, () => openDepot(io))
  if (sub === 'request' || sub === 'renew') return certRequestCommand(sub, rest, io, () => openDepot(io))
  throw new VkError('usage', 'vkey cert: use `cert import FILE`, `cert show`, `cert request` or `cert renew`.')
}

function printFacts(io: CliIo, facts: NonNullable<Awaited<ReturnType<Depot['certificate']>>>): void {
  write(io, `  subject:      ${facts.subject}`)
  write(io, `  issuer:       ${facts.issuer}`)
  write(io, `  serial:       ${facts.serialNumber}`)
  write(io, `  valid:        ${formatLocal(facts.notBefore)} → ${formatLocal(facts.notAfter)} (${facts.daysLeft} days left, ${facts.status})`)
  write(io, `  SHA-256:      ${facts.fingerprintSha256}`)
}

// ---- token ---------------------------------------------------------------------------

export function durationPlan(values: { duration?: string | undefined; until?: string | undefined }, note?: (line: string) => void): DurationPlan {
  if (values.duration !== undefined && values.until !== undefined) throw new VkError('usage', 'Give either --duration or --until, not both.', { field: '--duration' })
  if (values.duration !== undefined) return { kind: 'seconds', seconds: parseDuration(values.duration) }
  if (values.until !== undefined) {
    const until = resolveUntil(values.until, new Date())
    secondsUntil(until, new Date()) // refuse a past or malformed time before any file is read or request sent
    if (until !== values.until) note?.(`vkey: --until ${values.until} is ${formatLocal(until)}.`)
    return { kind: 'until', until }
  }
  const example = untilExample(new Date())
  throw new VkError('usage', `Say how long the key must work: --duration 3600|90m|8h|2d, --until ${example.timeOfDay} (the next one here) or --until ${example.iso}.`, { field: '--duration' })
}

function readCarData(io: CliIo, file: string): Promise<ImportResult> {
  return file === '-' ? readCarDataStdin(io.stdin) : importCarDataFiles([file])
}

async function tokenCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFor('token', args)
  if (!values.cardata) throw new VkError('usage', 'vkey token: --cardata FILE (or - for standard input) is required: the CarData JSON exported from the phone.', { field: '--cardata' })
  const plan = durationPlan(values, (line) => io.stderr.write(`${line}\n`))
  // Refuse a bad --qr before anything is stored or sent: a key nobody can hand over is a lost key.
  const qrPath = values.qr ? (qrFormatForPath(values.qr), assertWritableFile(values.qr, '--qr')) : undefined
  const wantedVin = values.vin ? validateVin(values.vin, { field: '--vin' }) : undefined
  const imported = await readCarData(io, values.cardata)
  const vehicle = pickVehicle(imported, values.cardata, wantedVin)
  writeCarDataNotes(io, [vehicle])
  const depot = await openDepot(io)
  try {
    await warnCertificateRenewal(io, depot, values.profile)
    depot.durationFor(plan) // a window in the past or over 30 days: refused before any record exists
    await depot.client(values.profile) // pre-flight before anything is stored or sent
    await flushQueueQuietly(io, depot)
    const store = await depot.handovers()
    const key = vehicleOf({ id: '', ...(vehicle.vin ? { vin: vehicle.vin } : {}), carDataHash: carDataHash(vehicle.carData, vehicle.carDataSignature) })
    const queued = store.queuedFor(key)
    if (queued) {
      io.stderr.write(`vkey: ${vehicle.vin ?? 'this vehicle'} is already queued as ID ${queued.id}; it is sent once by \`vkey queue flush\` or the app. Nothing new was queued.\n`)
      return EXIT_QUEUED
    }
    const controller = new AbortController()
    io.interrupted?.then(() => controller.abort()).catch(() => undefined)
    const options = { signal: controller.signal, ...(values.profile ? { profile: values.profile } : {}), ...(values.new ? { forceNew: true } : {}), ...(qrPath ? { deliverQr: qrPath } : {}) }
    const known = store.listSync("WHERE vehicle = ? AND status IN ('draft', 'failed')", key).find((r) => r.carDataHash === carDataHash(vehicle.carData, vehicle.carDataSignature))
    let result: KeyResult
    try {
      const request = known ? { id: known.id } : { vehicle: { ...vehicleInput(vehicle), ...(values.profile ? { profile: values.profile } : {}), technician: technician() } }
      result = await obtainKey(depot, request, plan, options)
    } catch (error) {
      if (toErrorView(error).code !== 'network.unreachable') throw error
      const waiting = store.queuedFor(key)
      io.stderr.write(`vkey: ${(error as Error).message}\nvkey: queued as ID ${waiting?.id ?? '?'}; sent once by \`vkey queue flush\` or the app${qrPath ? `, which then writes ${qrPath}` : ''}.\n`)
      return EXIT_QUEUED
    }
    reportOutcome(io, result)
    const heading = { issued: 'Token issued for', renewed: 'Token renewed for', reused: 'Existing key for' }[result.outcome]
    await printHandover(io, depot, result.record, { json: Boolean(values.json), heading, ...(qrPath ? { qr: qrPath } : {}) })
    return 0
  } finally {
    await depot.close()
  }
}

/** Says on stderr what happened to the vehicle's keys: reused, renewed, flagged. */
function reportOutcome(io: CliIo, result: KeyResult): void {
  const { record } = result
  const vin = record.vin ?? 'This vehicle'
  if (result.outcome === 'reused') {
    io.stderr.write(`vkey: ${vin} already has a key until ${formatLocal(record.expires!)} (handover ${record.id}) that covers the window: nothing was sent. Add --new to ask PSA for another one anyway.\n`)
  } else if (result.replaced) {
    io.stderr.write(`vkey: the previous key of ${vin} (handover ${result.replaced.id}) is superseded; it stays valid at PSA until ${formatLocal(result.replaced.expires!)}.\n`)
  }
  if (record.longerThanAsked) io.stderr.write(`vkey: warning: PSA granted a key until ${formatLocal(record.expires!)}, more than 5 minutes longer than asked. It is kept and flagged in the ledger.\n`)
}

function vehicleInput(vehicle: ImportResult['vehicles'][number]): NewHandover {
  return { ...(vehicle.vin ? { vin: vehicle.vin } : {}), ...(vehicle.uin ? { uin: vehicle.uin } : {}), ...(vehicle.label ? { label: vehicle.label } : {}), source: vehicle.source, carData: vehicle.carData, carDataSignature: vehicle.carDataSignature }
}

function pickVehicle(imported: ImportResult, source: string, wantedVin: string | undefined): ImportResult['vehicles'][number] {
  const { vehicles, issues } = imported
  if (!vehicles.length) {
    const first = issues[0]
    if (first) throw new VkError(first.code, first.message, { file: first.source, ...(first.field ? { field: first.field } : {}) })
    throw new VkError('input.field', `${source}: no vehicle found. The file must hold CarData and CarData_signature exported from the phone.`, { file: source })
  }
  if (wantedVin) {
    const match = vehicles.find((v) => v.vin === wantedVin)
    if (match) return match
    const withoutVin = vehicles.filter((v) => !v.vin)
    if (vehicles.length === 1 && withoutVin.length === 1) return { ...vehicles[0]!, vin: wantedVin }
    throw new VkError('input.vin', `${source}: no vehicle with VIN ${wantedVin} (found ${vehicles.map((v) => v.vin ?? 'no VIN').join(', ')}).`, { file: source, field: '--vin' })
  }
  if (vehicles.length > 1) {
    throw new VkError('usage', `${source} holds ${vehicles.length} vehicles: pick one with --vin, or prepare them all with \`vkey batch ${source} --duration 8h\`.`, { file: source, field: '--vin' })
  }
  return vehicles[0]!
}

/** Prints an issued handover: masked by default, the whole token only with --json. */
export async function printHandover(io: CliIo, depot: Depot, record: HandoverRecord, options: { json: boolean; qr?: string; heading?: string }): Promise<void> {
  const store = await depot.handovers()
  const token = store.tokenOf(record)
  const environment = environmentResolver(depot.profiles)(record)
  const payload = handoverPayloadOf(record, token, environment)
  let qrPath: string | undefined
  if (options.qr) {
    qrPath = resolve(options.qr)
    await writeHandoverQr(qrPath, payload, { environment })
  }
  if (options.json) {
    writeJson(io, JSON.stringify({ ...tokenJsonOf(record, token!), environment: environment ?? null, ...(qrPath ? { qr: qrPath } : {}) }, null, 2))
    return
  }
  const secondsLeft = Math.max(0, Math.round((Date.parse(record.expires!) - depot.now().getTime()) / 1000))
  write(io, `${options.heading ?? 'Key for'} ${record.vin ?? 'a vehicle with no VIN'} (handover ${record.id}).`)
  write(io, `  token:    ${maskToken(token!.accessToken)}`)
  write(io, `  type:     ${token!.tokenType}`)
  write(io, `  expires:  ${formatLocal(record.expires!)} (in ${formatDuration(secondsLeft)})${record.longerThanAsked ? '  ! longer than asked' : ''}`)
  write(io, `  env:      ${environmentLine(environment)}`)
  if (qrPath) write(io, `  QR:       ${qrPath} — this QR is a car key until it expires.`)
  if (record.source && record.source !== 'stdin') write(io, `  from:     ${basename(record.source)}`)
}

/** Where a key comes from, for human output: the environment and, unless production, its band. */
export function environmentLine(environment: Environment | undefined): string {
  const band = environmentBand(environment)
  if (environment === undefined) return `unknown environment (the profile that issued it is gone) — ${band}`
  const name = environment === 'prod' ? 'production' : environment === 'preprod' ? 'pre-production' : environment === 'custom' ? 'custom server' : 'simulator'
  return band ? `${name} — ${band}` : name
}
