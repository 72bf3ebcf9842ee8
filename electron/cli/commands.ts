/**
 * `vkey` commands: a thin shell over the depot core. Each command parses its own
 * options with node:util parseArgs, talks to the depot and writes plain lines (or JSON
 * with --json). Errors are thrown as VkError; main.ts turns them into one stderr line
 * and the exit code.
 */
import { resolve } from 'node:path'
import packageJson from '../../package.json' with { type: 'json' }
import type { ImportResult } from '../../shared/cardata'
import { EXIT, isNetworkUnreachable, isVkError, QUEUED_SENT_BY, VkError } from '../../shared/errors'
import { EXPIRY_ROUNDING_MS, formatDuration, outlivesWindow, planWindow } from '../../shared/duration'
import { formatLocal } from '../../shared/time'
import { validateVin } from '../../shared/vin'
import { resolveEnvironment } from '../core/profiles'
import { gateNoteText } from '../core/fleet/claims'
import { importCarDataFiles, readCarDataStdin } from '../core/cardata-files'
import type { ProfileSummary } from '../core/partner-profiles'
import { defaultSimulatorDir, registerSimulator } from '../core/simulator-registration'
import { technician } from '../core/technician'
import { carDataHash, coversPlan, newHandoverOf, vehicleOf } from '../core/handover-record'
import { profileView } from '../core/profile-view'
import { obtainKey, type KeyResult } from '../core/key-requests'
import { assertRoomForQrFile } from '../core/qr-folder-room'
import { assertWritableFile, qrFormatForPath } from '../core/output-paths'
import { readRegularFile } from '../core/regular-file'
import { DEFAULT_REQUEST_TIMEOUT_MS } from '../core/request-deadline'
import type { Simulator } from '../core/simulator'
import { durationPlan, write, writeJson } from './args'
import { shellWord } from './did-you-mean'
import { writeCarDataNotes } from './cardata-notes'
import { certRequestCommand, certShowCommand, printFacts, warnCertificateRenewal } from './cert-commands'
import { openDataFolder, withDepot } from './depot-access'
import { auditCommand, batchCommand, listCommand, packCommand, handedOverCommand, purgeCommand, showCommand } from './handover-commands'
import { warnCutOff } from './cut-off'
import { flushQueueQuietly, queueCommand, writeQueuedJson } from './queue-commands'
import { readSecretLine, writeHuman, type CliIo } from './io'
import { wipeAfter } from '../core/secret-bytes'
import { printHandover } from './key-output'
import { findCommand, helpText, parseFor, unknownCommand } from './spec'

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
      return command === undefined ? EXIT.usage : EXIT.ok
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
      return batchCommand(rest, io)
    case 'list':
      if (rest.includes('--fleet')) return (await import('./fleet-commands')).fleetListCommand(rest, io)
      return listCommand(rest, io)
    case 'show':
      return showCommand(rest, io)
    case 'pack':
      return packCommand(rest, io)
    case 'audit':
      if (rest.includes('--fleet')) return (await import('./fleet-commands')).fleetAuditCommand(rest, io)
      return auditCommand(rest, io)
    case 'fleet':
      return (await import('./fleet-commands')).fleetCommand(rest, io)
    case 'purge-expired':
      return purgeCommand(rest, io)
    case 'handed-over':
      return handedOverCommand(rest, io)
    case 'queue':
      return queueCommand(rest, io)
    case 'vault':
      return (await import('./vault-commands')).vaultCommand(rest, io)
    case 'ledger':
      return (await import('./ledger-commands')).ledgerCommand(rest, io)
    default:
      throw unknownCommand(argv)
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
  const { values, numbers } = parseFor('simulator', args)
  const port = numbers.port ?? 7443
  const latencyMs = numbers.latency ?? 0
  const dataDir = openDataFolder(io)
  const dir = resolve(values.dir ?? defaultSimulatorDir(dataDir))
  const { readClientCas, startSimulator } = await import('../core/simulator')
  const extraClientCas: string[] = []
  for (const file of values['trust-client-ca'] ?? []) extraClientCas.push(...readClientCas(await readTextFile(file, '--trust-client-ca'), file))
  const simulator = await startSimulator({ dir, port, latencyMs, extraClientCas, ...(values.host ? { host: values.host } : {}) })
  try {
    await withDepot(io, (depot) => registerSimulator(depot.dataDir, { baseUrl: simulator.baseUrl, dir }))
    printSimulatorBanner(io, simulator, dir, latencyMs)
    await (io.interrupted ?? new Promise(() => undefined))
  } finally {
    await simulator.close()
  }
  return 0
}

function printSimulatorBanner(io: CliIo, simulator: Simulator, dir: string, latencyMs: number): void {
  const material = simulator.material
  write(io, `PSA simulator listening on ${simulator.baseUrl} (mutual TLS${latencyMs ? `, ${latencyMs} ms latency` : ''})`)
  const everywhere = simulator.boundAddress === '0.0.0.0' || simulator.boundAddress === '::'
  const bound = simulator.boundAddress.includes(':') ? `[${simulator.boundAddress}]:${simulator.port}` : `${simulator.boundAddress}:${simulator.port}`
  write(
    io,
    `  bound to:         ${bound} — ${everywhere ? 'all network interfaces: other computers can reach it' : isLoopback(simulator.boundAddress) ? 'this computer only' : 'this network address only'}`,
  )
  if (everywhere)
    io.stderr.write(
      'vkey simulator: warning: listening on all network interfaces. Anyone on this network can reach the simulator, and its demo login and keys are not secret. Use --host 127.0.0.1 unless another computer must reach it.\n',
    )
  write(io, `  folder:           ${dir}`)
  write(io, `  partner cert:     ${material.files.partnerP12} (passphrase in demo-credentials.json)`)
  write(io, `  login / client:   ${material.credentials.login} / ${material.credentials.clientId}`)
  write(io, `  server CA:        ${material.files.serverCa}`)
  write(io, '  a profile:        --env simulator fills in the demo login, password and certificate')
  write(io, SIMULATOR_NEXT)
  write(io, 'Press Ctrl-C to stop.')
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.')
}

// ---- profiles ------------------------------------------------------------------------

async function profileCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args
  if (sub === 'add') return profileAdd(rest, io)
  if (sub === 'list') return profileList(rest, io)
  if (sub === 'remove' || sub === 'default') return profileRemoveOrDefault(sub, rest, io)
  throw unknownCommand(['profile', ...args])
}

async function profileAdd(args: string[], io: CliIo): Promise<number> {
  const { values, positionals, numbers } = parseFor('profile add', args)
  const name = single('profile add', positionals, 'NAME')
  if (!values.env)
    throw new VkError('usage', 'vkey profile add: --env is required (preprod, prod, simulator or an https://…/connectedcar/v3 URL).', { field: '--env' })
  // An unknown --env is said first: it is the one mistake the rest of the line depends on.
  if (values.env !== 'simulator') resolveEnvironment(values.env)
  if (values.env !== 'simulator' && !values['password-stdin']) {
    throw new VkError(
      'usage',
      'vkey profile add: pass the password on standard input with --password-stdin (it is never accepted as an argument, where other users could see it).',
      { field: '--password-stdin' },
    )
  }
  const password = values['password-stdin'] ? await readSecretLine(io.stdin, '--password-stdin') : undefined
  if (values['password-stdin'] && !password)
    throw new VkError(
      'usage',
      'vkey profile add: --password-stdin read an empty password. Pipe it in, e.g. `printf %s "$PSA_PASSWORD" | vkey profile add NAME … --password-stdin`.',
      { field: '--password-stdin' },
    )
  const caPem = values.ca ? await readTextFile(values.ca, '--ca') : undefined
  return withDepot(io, async (depot) => {
    const profile = await depot.partners.save({
      name,
      environment: values.env!,
      ...(values['client-id'] ? { clientId: values['client-id'] } : {}),
      ...(values.login ? { login: values.login } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(caPem ? { caPem } : {}),
      ...(values.default ? { makeDefault: true } : {}),
      ...(numbers.timeout !== undefined ? { requestTimeoutSeconds: numbers.timeout } : {}),
      ...(values.replace ? { replace: true } : {}),
    })
    let summary = await depot.partners.summary(profile)
    write(
      io,
      `Profile "${profile.name}" saved: ${profile.environment} ${profile.baseUrl}, client ${profile.clientId}, login ${profile.login}${profile.requestTimeoutSeconds ? `, ${profile.requestTimeoutSeconds} s per request` : ''}${summary.isDefault ? '; the default profile' : ''}.`,
    )
    if (profile.environment === 'simulator') {
      // The simulator's demo partner certificate comes with it, like its CA, login and client id: nothing to import by hand.
      // Also when the profile had one: a simulator started from another folder has other demo credentials, and the old
      // certificate would be refused at every request.
      await depot.partners.importSimulatorCertificate(profile.name)
      summary = await depot.partners.summary(profile)
      write(io, `The simulator's demo partner certificate was imported (${summary.certificate?.subject ?? ''}).`)
    }
    if (!summary.certificate) write(io, `Next: vkey cert import FILE --profile "${profile.name}"`)
    return EXIT.ok
  })
}

async function profileList(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFor('profile list', args)
  const summaries = await withDepot(io, async (depot) => {
    const found: ProfileSummary[] = []
    for (const profile of depot.profiles.list()) found.push(await depot.partners.summary(profile))
    return found
  })
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
  return EXIT.ok
}

async function profileRemoveOrDefault(sub: 'remove' | 'default', args: string[], io: CliIo): Promise<number> {
  const { positionals } = parseFor(`profile ${sub}`, args)
  const name = single(`profile ${sub}`, positionals, 'NAME')
  await withDepot(io, async (depot) => {
    if (sub === 'remove') await depot.partners.remove(name)
    else depot.profiles.setDefault(name)
  })
  write(io, sub === 'remove' ? `Profile "${name}" removed with its secrets.` : `Profile "${name}" is now the default.`)
  return EXIT.ok
}

/** The app's profile view (core/profile-view.ts), with `default` and the request deadline. */
function profileJson(p: ProfileSummary) {
  const { isDefault, hasPassword, hasCa, certificate, ...named } = profileView(p)
  return { ...named, default: isDefault, hasPassword, hasCa, requestTimeoutSeconds: p.requestTimeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_MS / 1000, certificate }
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
    // An option names itself; a positional (`cert import FILE`) is its path alone.
    const named = option.startsWith('-') ? `${option}: ` : ''
    throw new VkError('input.file', `${named}cannot read ${path} (${code === 'ENOENT' ? 'no such file' : (code ?? 'unreadable')}). Check the path.`, {
      file: path,
      field: option,
    })
  }
}

// ---- certificates --------------------------------------------------------------------

async function certCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args
  if (sub === 'import') return certImport(rest, io)
  if (sub === 'show') return certShowCommand(rest, io)
  if (sub === 'request' || sub === 'renew') return certRequestCommand(sub, rest, io)
  throw unknownCommand(['cert', ...args])
}

async function certImport(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFor('cert import', args)
  const file = single('cert import', positionals, 'FILE')
  // The certificate's and key's bytes are zeroed once imported, or when anything fails on the way.
  return wipeAfter(async (hold) => {
    const bytes = hold(await readBytes(file, 'FILE'))
    const key = values.key ? { name: values.key, bytes: hold(await readBytes(values.key, '--key')) } : undefined
    const passphrase = values['passphrase-stdin'] ? await readSecretLine(io.stdin, '--passphrase-stdin') : undefined
    return withDepot(io, async (depot) => {
      const facts = await depot.partners.importCertificate(values.profile, {
        file: { name: file, bytes },
        ...(key ? { key } : {}),
        ...(passphrase !== undefined ? { passphrase } : {}),
      })
      const profile = depot.profiles.resolve(values.profile)
      write(io, `Certificate imported into profile "${profile.name}" (sealed in the data folder; the key to it is in the OS keychain).`)
      printFacts(io, facts)
      return EXIT.ok
    })
  })
}

// ---- token ---------------------------------------------------------------------------

function readCarData(io: CliIo, file: string): Promise<ImportResult> {
  return file === '-' ? readCarDataStdin(io.stdin) : importCarDataFiles([file])
}

async function tokenCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFor('token', args)
  if (!values.cardata)
    throw new VkError('usage', 'vkey token: --cardata FILE (or - for standard input) is required: the CarData JSON exported from the phone.', {
      field: '--cardata',
    })
  const plan = durationPlan('token', values, (line) => io.stderr.write(`${line}\n`))
  // Refuse a bad --qr before anything is stored or sent: a key nobody can hand over is a lost key.
  const qrPath = values.qr ? (qrFormatForPath(values.qr), assertWritableFile(values.qr, '--qr')) : undefined
  if (qrPath) assertRoomForQrFile(qrPath)
  const wantedVin = values.vin ? validateVin(values.vin, { field: '--vin' }) : undefined
  const imported = await readCarData(io, values.cardata)
  const vehicle = pickVehicle(imported, values.cardata, wantedVin)
  writeCarDataNotes(io, [vehicle])
  return withDepot(io, async (depot) => {
    await warnCertificateRenewal(io, depot, values.profile)
    planWindow(plan, depot.now()) // a window in the past or over 30 days: refused before any record exists
    await depot.clients.forProfile(values.profile) // pre-flight before anything is stored or sent
    await flushQueueQuietly(io, depot)
    const store = await depot.handovers()
    const key = vehicleOf({ id: '', ...(vehicle.vin ? { vin: vehicle.vin } : {}), carDataHash: carDataHash(vehicle.carData, vehicle.carDataSignature) })
    const queued = store.queuedFor(key)
    if (queued) {
      io.stderr.write(
        `vkey: ${vehicle.vin ?? 'this vehicle'} is already queued as ID ${queued.id}${queued.durationSeconds ? ` for ${formatDuration(queued.durationSeconds)}` : ''}; it is ${QUEUED_SENT_BY}. Nothing new was queued. To queue this request instead, run \`vkey queue cancel ${queued.id}\`, then this command again.\n`,
      )
      if (values.json) writeQueuedJson(io, queued)
      return EXIT.queued
    }
    const controller = new AbortController()
    io.interrupted?.then(() => controller.abort()).catch(() => undefined)
    const options = {
      signal: controller.signal,
      ...(values.profile ? { profile: values.profile } : {}),
      ...(values.new ? { forceNew: true } : {}),
      ...(qrPath ? { deliverQr: qrPath } : {}),
    }
    const unkeyed = store.listSync("WHERE vehicle = ? AND status IN ('draft', 'failed')", key)
    warnCutOff(io, unkeyed, 'token', depot.profiles)
    const known = unkeyed.find((r) => r.carDataHash === carDataHash(vehicle.carData, vehicle.carDataSignature))
    let result: KeyResult
    try {
      const request = known
        ? { id: (await store.askedFrom(known.id, vehicle.source)).id }
        : { vehicle: newHandoverOf(vehicle, { ...(values.profile ? { profile: values.profile } : {}), technician: technician() }) }
      result = await obtainKey(depot, request, plan, options)
    } catch (error) {
      if (!isNetworkUnreachable(error)) throw error
      const waiting = store.queuedFor(key)
      io.stderr.write(
        `vkey: ${(error as Error).message}\nvkey: queued as ID ${waiting?.id ?? '?'}; ${QUEUED_SENT_BY}${qrPath ? `; ${qrPath} is written then` : ''}.\n`,
      )
      // A script gets the queued request's ID on stdout, as `vkey batch --json` lists its queued ones.
      if (values.json && waiting) writeQueuedJson(io, waiting)
      return EXIT.queued
    }
    reportOutcome(io, result)
    // "Renewed" only when the new key lasts longer than the one it supersedes (--new may ask for a shorter one).
    const longer = !result.replaced?.expires || !result.record.expires || result.record.expires > result.replaced.expires
    const heading = { issued: 'Token issued for', renewed: longer ? 'Token renewed for' : 'New token for', reused: 'Existing key for' }[result.outcome]
    await printHandover(io, depot, result.record, { json: Boolean(values.json), heading, ...(qrPath ? { qr: qrPath } : {}) })
    return EXIT.ok
  })
}

/** Says on stderr what happened to the vehicle's keys: reused, renewed, flagged. */
function reportOutcome(io: CliIo, result: KeyResult): void {
  const { record } = result
  const vin = record.vin ?? 'This vehicle'
  if (result.outcome === 'reused') {
    const shortMs = Date.parse(result.windowEnd) - Date.parse(record.expires!)
    const covers =
      shortMs > EXPIRY_ROUNDING_MS
        ? `, about ${formatDuration(shortMs < 60_000 ? Math.round(shortMs / 1000) : Math.round(shortMs / 60_000) * 60)} short of the window asked (until ${formatLocal(result.windowEnd)}), which is close enough to keep it`
        : ' that covers the window'
    writeHuman(
      io.stderr,
      `vkey: ${vin} already has a key until ${formatLocal(record.expires!)} (handover ${record.id})${covers}: nothing was sent. Add --new to ask PSA for another one anyway.`,
    )
  } else if (result.replaced) {
    io.stderr.write(
      `vkey: the previous key of ${vin} (handover ${result.replaced.id}) is superseded; it stays valid at PSA until ${formatLocal(result.replaced.expires!)}.\n`,
    )
  }
  if (result.gateNote) writeHuman(io.stderr, `vkey: ${gateNoteText(vin, result.gateNote)}`)
  // A reused key that outlives the window asked is handed over as it is: whoever takes it can open the car until it ends.
  const [expiresMs, windowEndMs] = [Date.parse(record.expires!), Date.parse(result.windowEnd)]
  if (result.outcome === 'reused' && outlivesWindow(expiresMs, windowEndMs))
    writeHuman(
      io.stderr,
      `vkey: warning: the key reused works about ${formatDuration(Math.round((expiresMs - windowEndMs) / 60_000) * 60)} longer than asked (until ${formatLocal(result.windowEnd)}): whoever takes it can open the car until ${formatLocal(record.expires!)}, and PSA cannot revoke it. Hand it over only if that is meant; --new asks PSA for a key of the length asked.`,
    )
  if (result.outcome !== 'reused' && coversPlan(record) === false)
    writeHuman(
      io.stderr,
      `vkey: warning: PSA granted a key until ${formatLocal(record.expires!)}, shorter than asked (until ${formatLocal(record.plannedEnd!)}). It is kept as issued; ask again with --new for one that covers the window.`,
    )
  if (record.longerThanAsked)
    io.stderr.write(
      `vkey: warning: PSA granted a key until ${formatLocal(record.expires!)}, more than 5 minutes longer than asked. It is kept and flagged in the ledger.\n`,
    )
}

function pickVehicle(imported: ImportResult, source: string, wantedVin: string | undefined): ImportResult['vehicles'][number] {
  const { vehicles, issues } = imported
  if (!vehicles.length) {
    const first = issues[0]
    // A file that cannot be opened is named as the option that gave it.
    const message = first?.code === 'input.file' ? `--cardata ${first.message}` : first?.message
    if (first) throw new VkError(first.code, message!, { file: first.source, field: first.field ?? '--cardata' })
    throw new VkError('input.field', `${source}: no vehicle found. The file must hold CarData and CarData_signature exported from the phone.`, { file: source })
  }
  // Vehicles of the file that could not be read are never passed over in silence (docs/cardata.md).
  const unreadable = issues.length ? ` ${issues.length} could not be read: ${issues[0]!.message}${issues.length > 1 ? ' (and more)' : ''}` : ''
  if (wantedVin) {
    const match = vehicles.find((v) => v.vin === wantedVin)
    if (match) return match
    const withoutVin = vehicles.filter((v) => !v.vin)
    if (vehicles.length === 1 && withoutVin.length === 1 && !issues.length) return { ...vehicles[0]!, vin: wantedVin }
    throw new VkError(
      'input.vin',
      `${source}: no readable vehicle with VIN ${wantedVin} (found ${vehicles.map((v) => v.vin ?? 'no VIN').join(', ')}).${unreadable}`,
      {
        file: source,
        field: '--vin',
      },
    )
  }
  if (vehicles.length + issues.length > 1) {
    throw new VkError(
      'usage',
      `${source} holds ${vehicles.length + issues.length} vehicles:${unreadable ? `${unreadable}.` : ''} Pick one with --vin, or prepare them all with ${source === '-' ? 'the export saved to a file: `vkey batch FILE --duration 8h`' : `\`vkey batch ${shellWord(source)} --duration 8h\``}.`,
      { file: source, field: '--vin' },
    )
  }
  return vehicles[0]!
}
