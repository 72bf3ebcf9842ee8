/**
 * `vkey` commands: a thin shell over the depot core. Each command parses its own
 * options with node:util parseArgs, talks to the depot and writes plain lines (or JSON
 * with --json). Errors are thrown as VkError; main.ts turns them into one stderr line
 * and the exit code.
 */
import { readFile } from 'node:fs/promises'
import { basename, resolve } from 'node:path'
import Conf from 'conf'
import packageJson from '../../package.json' with { type: 'json' }
import { VkError } from '../../shared/errors'
import type { ImportResult } from '../../shared/cardata'
import { parseDuration, formatDuration } from '../../shared/duration'
import { buildHandoverPayload } from '../../shared/qr-payload'
import { validateVin } from '../../shared/vin'
import { importCarDataFiles, readCarDataStdin } from '../core/cardata-files'
import { Depot, defaultSimulatorDir, type ProfileSummary } from '../core/depot'
import type { DurationPlan, HandoverRecord } from '../core/handovers'
import { defaultDataFolder } from '../core/paths'
import { qrFormatForPath, writeHandoverQr } from '../core/qr'
import { startSimulator } from '../core/simulator'
import { parse, write } from './args'
import { auditCommand, batchCommand, flushQueueQuietly, listCommand, packCommand, purgeCommand, queueCommand, showCommand, type HandoverCommandContext } from './handover-commands'
import { fleetAuditCommand, fleetCommand, fleetListCommand, fleetUsage } from './fleet-commands'
import { readSecretLine, type CliIo } from './io'

export const usage = `vkey — VK Depot command line: PSA virtual-key tokens for depot handovers

  vkey simulator [--port N] [--dir FOLDER] [--latency MS]
  vkey profile add NAME --env preprod|prod|simulator|https://… --client-id ID --login LOGIN --password-stdin [--ca CA.pem] [--default]
  vkey profile list [--json]
  vkey profile remove NAME
  vkey profile default NAME
  vkey cert import FILE [--key KEY.pem] [--passphrase-stdin] [--profile NAME]
  vkey cert show [--profile NAME] [--json]
  vkey token --cardata FILE|- [--vin VIN] (--duration 3600|90m|8h|2d | --until ISO-8601) [--profile NAME] [--qr OUT.png|OUT.svg] [--json]
  vkey batch FILE… (--duration … | --until …) [--concurrency N] [--out FOLDER] [--profile NAME] [--json]
  vkey list [--json]
  vkey show ID [--qr OUT.png|OUT.svg] [--json]
  vkey pack (ID… | --all-valid) --out PACK.pdf
  vkey audit --csv OUT.csv
  vkey purge-expired
  vkey queue [list | flush [--watch]]
${fleetUsage}

Data folder: VKEY_HOME, or the folder the desktop app uses. Exit codes: 0 ok, 2 bad input,
3 configuration or keychain, 4 PSA refused the request, 5 network, TLS or server failure.
`


/** Shows a token as a technician may see it on screen: the ends only. */
export function maskToken(token: string): string {
  if (token.length <= 12) return '•'.repeat(8)
  return `${token.slice(0, 4)}${'•'.repeat(8)}${token.slice(-4)} (${token.length} characters; --json shows it)`
}

async function openDepot(io: CliIo): Promise<Depot> {
  const dataDir = defaultDataFolder(io.env)
  const depot = await Depot.open({ dataDir, store: openStore(dataDir) })
  return depot
}

/** The same settings file the desktop app's electron-store uses (conf underneath). */
export function openStore(dataDir: string): Conf<Record<string, unknown>> {
  return new Conf<Record<string, unknown>>({ cwd: dataDir, configName: 'settings', configFileMode: 0o600 })
}

function handoverContext(io: CliIo): HandoverCommandContext {
  return { openDepot: () => openDepot(io), durationPlan, printHandover }
}

export async function runCommand(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(usage)
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
      if (rest.includes('--fleet')) return fleetListCommand(rest, io, handoverContext(io), defaultDataFolder(io.env))
      return listCommand(rest, io, handoverContext(io))
    case 'show':
      return showCommand(rest, io, handoverContext(io))
    case 'pack':
      return packCommand(rest, io, handoverContext(io))
    case 'audit':
      if (rest.includes('--fleet')) return fleetAuditCommand(rest, io, handoverContext(io), defaultDataFolder(io.env))
      return auditCommand(rest, io, handoverContext(io))
    case 'fleet':
      return fleetCommand(rest, io, handoverContext(io), defaultDataFolder(io.env))
    case 'purge-expired':
      return purgeCommand(rest, io, handoverContext(io))
    case 'queue':
      return queueCommand(rest, io, handoverContext(io))
    default:
      throw new VkError('usage', `Unknown command "${command}". Run \`vkey help\` for the list of commands.`)
  }
}

async function version(): Promise<string> {
  return packageJson.version
}

// ---- simulator -----------------------------------------------------------------------

async function simulatorCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parse('simulator', args, { port: { type: 'string' }, dir: { type: 'string' }, latency: { type: 'string' }, host: { type: 'string' } }, false)
  const port = values.port === undefined ? 7443 : integerOption('--port', values.port, 0, 65535)
  const latencyMs = values.latency === undefined ? 0 : integerOption('--latency', values.latency, 0, 60_000)
  const dataDir = defaultDataFolder(io.env)
  const dir = resolve(values.dir ?? defaultSimulatorDir(dataDir))
  const simulator = await startSimulator({ dir, port, latencyMs, ...(values.host ? { host: values.host } : {}) })
  const depot = await Depot.open({ dataDir, store: openStore(dataDir) })
  await depot.registerSimulator({ baseUrl: simulator.baseUrl, dir })
  const material = simulator.material
  write(io, `PSA simulator listening on ${simulator.baseUrl} (mutual TLS${latencyMs ? `, ${latencyMs} ms latency` : ''})`)
  write(io, `  folder:           ${dir}`)
  write(io, `  partner cert:     ${material.files.partnerP12} (passphrase in demo-credentials.json)`)
  write(io, `  login / client:   ${material.credentials.login} / ${material.credentials.clientId}`)
  write(io, `  server CA:        ${material.files.serverCa}`)
  write(io, `Next: vkey profile add sim --env simulator --default && vkey cert import ${material.files.partnerP12} --passphrase-stdin`)
  write(io, 'Press Ctrl-C to stop.')
  await (io.interrupted ?? new Promise(() => undefined))
  await simulator.close()
  return 0
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
    const { values, positionals } = parse('profile add', rest, {
      env: { type: 'string' },
      'client-id': { type: 'string' },
      login: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      ca: { type: 'string' },
      default: { type: 'boolean' },
    })
    const name = single('profile add', positionals, 'NAME')
    if (!values.env) throw new VkError('usage', 'vkey profile add: --env is required (preprod, prod, simulator or an https://…/connectedcar/v3 URL).', { field: '--env' })
    if (values.env !== 'simulator' && !values['password-stdin']) {
      throw new VkError('usage', 'vkey profile add: pass the password on standard input with --password-stdin (it is never accepted as an argument, where other users could see it).', { field: '--password-stdin' })
    }
    const password = values['password-stdin'] ? await readSecretLine(io.stdin) : undefined
    if (values['password-stdin'] && !password) throw new VkError('usage', 'vkey profile add: --password-stdin read an empty password. Pipe it in, e.g. `printf %s "$PSA_PASSWORD" | vkey profile add …`.', { field: '--password-stdin' })
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
      })
      let summary = await depot.summary(profile)
      write(io, `Profile "${profile.name}" saved: ${profile.environment} ${profile.baseUrl}, client ${profile.clientId}, login ${profile.login}${summary.isDefault ? ' (default)' : ''}.`)
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
    const { values } = parse('profile list', rest, { json: { type: 'boolean' } }, false)
    const depot = await openDepot(io)
    const profiles = depot.profiles.list()
    const summaries: ProfileSummary[] = []
    for (const profile of profiles) summaries.push(await depot.summary(profile))
    if (values.json) {
      write(io, JSON.stringify(summaries.map(profileJson), null, 2))
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
    const { positionals } = parse(`profile ${sub}`, rest, {})
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
    return await readFile(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new VkError('input.file', `${option}: cannot read ${path} (${code === 'ENOENT' ? 'no such file' : code ?? 'unreadable'}). Check the path.`, { file: path, field: option })
  }
}

// ---- certificates --------------------------------------------------------------------

async function certCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args
  if (sub === 'import') {
    const { values, positionals } = parse('cert import', rest, { key: { type: 'string' }, 'passphrase-stdin': { type: 'boolean' }, profile: { type: 'string' } })
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
  if (sub === 'show') {
    const { values } = parse('cert show', rest, { profile: { type: 'string' }, json: { type: 'boolean' } }, false)
    const depot = await openDepot(io)
    const profile = depot.profile(values.profile)
    const facts = await depot.certificate(profile.name)
    if (!facts) throw new VkError('config.no-certificate', `Profile "${profile.name}" has no certificate. Import one with \`vkey cert import FILE --profile "${profile.name}"\`.`)
    if (values.json) write(io, JSON.stringify({ profile: profile.name, ...facts }, null, 2))
    else printFacts(io, facts)
    return 0
  }
  throw new VkError('usage', 'vkey cert: use `cert import FILE` or `cert show`.')
}

function printFacts(io: CliIo, facts: NonNullable<Awaited<ReturnType<Depot['certificate']>>>): void {
  write(io, `  subject:      ${facts.subject}`)
  write(io, `  issuer:       ${facts.issuer}`)
  write(io, `  serial:       ${facts.serialNumber}`)
  write(io, `  valid:        ${facts.notBefore} → ${facts.notAfter} (${facts.daysLeft} days left, ${facts.status})`)
  write(io, `  SHA-256:      ${facts.fingerprintSha256}`)
}

// ---- token ---------------------------------------------------------------------------

export function durationPlan(values: { duration?: string | undefined; until?: string | undefined }): DurationPlan {
  if (values.duration !== undefined && values.until !== undefined) throw new VkError('usage', 'Give either --duration or --until, not both.', { field: '--duration' })
  if (values.duration !== undefined) return { kind: 'seconds', seconds: parseDuration(values.duration) }
  if (values.until !== undefined) return { kind: 'until', until: values.until }
  throw new VkError('usage', 'Say how long the key must work: --duration 3600|90m|8h|2d or --until 2026-12-01T18:00:00+01:00.', { field: '--duration' })
}

function readCarData(io: CliIo, file: string): Promise<ImportResult> {
  return file === '-' ? readCarDataStdin(io.stdin) : importCarDataFiles([file])
}

async function tokenCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(
    'token',
    args,
    {
      cardata: { type: 'string' },
      vin: { type: 'string' },
      duration: { type: 'string' },
      until: { type: 'string' },
      profile: { type: 'string' },
      qr: { type: 'string' },
      json: { type: 'boolean' },
    },
    false,
  )
  if (!values.cardata) throw new VkError('usage', 'vkey token: --cardata FILE (or - for standard input) is required: the CarData JSON exported from the phone.', { field: '--cardata' })
  const plan = durationPlan(values)
  if (values.qr) qrFormatForPath(values.qr) // refuse a bad --qr before spending a PSA call
  const wantedVin = values.vin ? validateVin(values.vin, { field: '--vin' }) : undefined
  const imported = await readCarData(io, values.cardata)
  const vehicle = pickVehicle(imported, values.cardata, wantedVin)
  const depot = await openDepot(io)
  try {
    await depot.client(values.profile) // pre-flight before anything is stored or sent
    await flushQueueQuietly(io, depot)
    const [record] = await depot.addVehicles({ vehicles: [vehicle], issues: [] }, values.profile ? { profile: values.profile } : {})
    if (!record) throw new VkError('internal', 'The vehicle could not be stored.')
    const controller = new AbortController()
    io.interrupted?.then(() => controller.abort()).catch(() => undefined)
    const issued = await depot.requestToken(record.id, plan, { signal: controller.signal, ...(values.profile ? { profile: values.profile } : {}) })
    await printHandover(io, depot, issued, { json: Boolean(values.json), ...(values.qr ? { qr: values.qr } : {}) })
    return 0
  } finally {
    await depot.close()
  }
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
    throw new VkError('usage', `${source} holds ${vehicles.length} vehicles: pick one with --vin, or prepare them all with \`vkey batch\`.`, { file: source, field: '--vin' })
  }
  return vehicles[0]!
}

/** Prints an issued handover: masked by default, the whole token only with --json. */
export async function printHandover(io: CliIo, depot: Depot, record: HandoverRecord, options: { json: boolean; qr?: string }): Promise<void> {
  const store = await depot.handovers()
  const token = store.tokenOf(record)
  if (!token || !record.expires) throw new VkError('not-found', `Handover ${record.id} has no token (status ${record.status}).`)
  let qrPath: string | undefined
  if (options.qr) {
    const payload = buildHandoverPayload({ ...(record.vin ? { vin: record.vin } : {}), accessToken: token.accessToken, tokenType: token.tokenType, expires: record.expires, tokenSignature: token.tokenSignature })
    qrPath = resolve(options.qr)
    await writeHandoverQr(qrPath, payload)
  }
  if (options.json) {
    write(
      io,
      JSON.stringify(
        {
          id: record.id,
          vin: record.vin ?? null,
          access_token: token.accessToken,
          token_type: token.tokenType,
          expires: record.expires,
          expires_in: token.expiresIn,
          token_signature: token.tokenSignature,
          ...(qrPath ? { qr: qrPath } : {}),
        },
        null,
        2,
      ),
    )
    return
  }
  write(io, `Token issued for ${record.vin ?? 'a vehicle with no VIN'} (handover ${record.id}).`)
  write(io, `  token:    ${maskToken(token.accessToken)}`)
  write(io, `  type:     ${token.tokenType}`)
  write(io, `  expires:  ${record.expires} (in ${formatDuration(token.expiresIn)})`)
  if (qrPath) write(io, `  QR:       ${qrPath} — this QR is a car key until it expires.`)
  if (record.source && record.source !== 'stdin') write(io, `  from:     ${basename(record.source)}`)
}
