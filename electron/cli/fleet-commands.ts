/**
 * `vkey fleet join|status|sync|leave|migrate`, `vkey list --fleet` and `vkey audit --fleet`:
 * fleet mode on the fleet's PostgreSQL (docs/fleet.md).
 */
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { VkError } from '../../shared/errors'
import { formatLocal } from '../../shared/time'
import type { Depot } from '../core/depot'
import { technician } from '../core/technician'
import { connectFleet, fleetUrl, parseFleetUrl } from '../core/fleet/connection'
import { Fleet } from '../core/fleet/fleet'
import { handoverLedger } from '../core/fleet/handover-ledger'
import { checkMigrator, LATEST_VERSION, migrate } from '../core/fleet/migrations'
import type { FleetEntry, LocalLedger } from '../core/fleet/types'
import { exportFleetAuditCsv, liveByVehicle } from '../core/fleet/view'
import { write, writeJson } from './args'
import { withDepot } from './depot-access'
import { readSecretLine, writeHuman, type CliIo } from './io'
import { parseFor, unknownCommand } from './spec'

/** The local ledger as the fleet reads it. */
async function localLedger(depot: Depot): Promise<LocalLedger> {
  return handoverLedger(await depot.handovers(), technician())
}

/** Runs `use` on the fleet this laptop joined (refused when none) and the depot, and closes both. */
function withFleet<T>(io: CliIo, use: (fleet: Fleet, depot: Depot) => Promise<T>): Promise<T> {
  return withDepot(io, async (depot) => {
    const fleet = Fleet.open(depot.dataDir, await depot.vault())
    if (!fleet)
      throw new VkError(
        'config.fleet',
        'This laptop has not joined a fleet. Join with `vkey fleet join postgres://HOST:PORT/DB --laptop NAME --user ROLE --password-stdin` (docs/fleet.md).',
      )
    try {
      return await use(fleet, depot)
    } finally {
      fleet.close()
    }
  })
}

async function readPassword(io: CliIo, command: string, given: boolean | undefined): Promise<string> {
  if (!given)
    throw new VkError('usage', `vkey fleet ${command}: pass the password on standard input with --password-stdin (never as an argument).`, {
      field: '--password-stdin',
    })
  const password = await readSecretLine(io.stdin, '--password-stdin')
  if (!password)
    throw new VkError(
      'usage',
      `vkey fleet ${command}: --password-stdin read an empty password. Pipe it in, e.g. \`printf %s "$FLEET_PASSWORD" | vkey fleet join postgres://HOST:PORT/DB --laptop NAME --user ROLE --password-stdin\`.`,
      { field: '--password-stdin' },
    )
  return password
}

async function readCa(path: string | undefined): Promise<string | undefined> {
  if (!path) return undefined
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new VkError(
      'input.file',
      `--ca: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}). Give the administrator's CA certificate (PEM).`,
      { file: path, field: '--ca' },
    )
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----'))
    throw new VkError('input.file', `--ca: ${path} is not a PEM certificate. Give the administrator's CA certificate (-----BEGIN CERTIFICATE-----).`, {
      file: path,
      field: '--ca',
    })
  return text
}

export async function fleetCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args
  switch (sub) {
    case 'join':
      return join(rest, io)
    case 'migrate':
      return migrateCommand(rest, io)
    case 'status':
      return status(rest, io)
    case 'sync':
      return sync(rest, io)
    case 'leave':
      return leave(rest, io)
    default:
      throw unknownCommand(['fleet', ...args])
  }
}

async function leave(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFor('fleet leave', args)
  const left = await withDepot(io, async (depot) => {
    const ledger = await ledgerIfReadable(depot)
    if (!values.yes) await refuseWhileUnpushed(depot, ledger)
    return Fleet.leave(depot.dataDir, await depot.vault(), ledger)
  })
  if (!left.wasJoined) write(io, 'This laptop was not in a fleet: nothing to leave.')
  else
    write(
      io,
      `Left the fleet: nothing is shared any more, the fleet password is erased${left.unpushed ? ` (${left.unpushed} entr${left.unpushed === 1 ? 'y was never pushed; it stays' : 'ies were never pushed; they stay'} in the local ledger)` : ''}.`,
    )
  return 0
}

/** Changes the fleet has not had (keys issued, handed over, expired offline) would stay unknown to the other laptops: leaving then takes a `--yes`. */
async function refuseWhileUnpushed(depot: Depot, ledger: LocalLedger | undefined): Promise<void> {
  const fleet = Fleet.open(depot.dataDir, await depot.vault())
  if (!fleet) return
  let waiting: number
  try {
    waiting = fleet.status(ledger).waiting
  } finally {
    fleet.close()
  }
  if (!waiting) return
  throw new VkError(
    'usage',
    `vkey fleet leave: ${waiting} change${waiting === 1 ? '' : 's'} of this laptop's ledger (keys issued, handed over or expired) ${waiting === 1 ? 'has' : 'have'} not been pushed, so the other laptops do not know ${waiting === 1 ? 'it' : 'them'}. ` +
      'Run `vkey fleet sync` first (once the fleet server answers), or leave anyway with `vkey fleet leave --yes` (the local ledger keeps everything).',
    { field: '--yes' },
  )
}

/** This laptop's ledger for the fleet, or undefined when it cannot be opened (leaving never depends on it). */
async function ledgerIfReadable(depot: Depot): Promise<LocalLedger | undefined> {
  try {
    return await localLedger(depot)
  } catch {
    return undefined
  }
}

async function join(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFor('fleet join', args)
  if (positionals.length !== 1) throw new VkError('usage', 'vkey fleet join: give the server as postgres://HOST:PORT/DATABASE.', { field: 'URL' })
  const server = parseFleetUrl(positionals[0]!)
  if (!values.laptop)
    throw new VkError('usage', 'vkey fleet join: --laptop NAME is required (the name the administrator registered for this laptop).', { field: '--laptop' })
  if (!values.user) throw new VkError('usage', "vkey fleet join: --user ROLE is required (this laptop's database role).", { field: '--user' })
  const caPem = await readCa(values.ca)
  const password = await readPassword(io, 'join', values['password-stdin'])
  const { laptop, user } = values
  return withDepot(io, async (depot) => {
    const store = await depot.handovers()
    const knownHere = (id: string) => store.find(id) !== undefined
    const { fleet, migrated, foreign } = await Fleet.join(depot.dataDir, await depot.vault(), {
      ...server,
      laptop,
      user,
      password,
      knownHere,
      ...(caPem ? { caPem } : {}),
    })
    try {
      const tls =
        fleet.settings.tls === 'verify'
          ? `TLS, certificate verified against ${values.ca ? resolve(values.ca) : fleet.settings.caPem ? 'the CA given when this laptop joined' : "the system's CAs"}`
          : 'NO TLS: the server offers none'
      write(io, `Joined the fleet ${fleetUrl(server)} as laptop ${fleet.laptop} (role ${user}; ${tls}). The password is sealed in the vault.`)
      if (migrated.length) write(io, `Fleet schema migrated to version ${LATEST_VERSION}.`)
      if (foreign)
        writeHuman(
          io.stderr,
          `vkey: warning: the fleet holds ${foreign} entr${foreign === 1 ? 'y' : 'ies'} of laptop ${laptop} that this data folder does not: another data folder or machine may be joined as ${laptop}. ` +
            "Two folders under one laptop name take each other's claims for their own, so both could be issued a key for one car: give each its own laptop name and role (docs/fleet.md, step 4).",
        )
      if (fleet.settings.tls === 'none')
        io.stderr.write(
          'vkey: warning: the fleet server offers no TLS, so its password and the key facts travel in clear. Ask the administrator to turn TLS on (docs/fleet.md, step 1).\n',
        )
      write(io, "Next: `vkey fleet sync` shares this laptop's ledger; `vkey list --fleet` shows every live key.")
      return 0
    } finally {
      fleet.close()
    }
  })
}

async function migrateCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFor('fleet migrate', args)
  if (positionals.length !== 1) throw new VkError('usage', 'vkey fleet migrate: give the server as postgres://HOST:PORT/DATABASE.', { field: 'URL' })
  if (!values.user) throw new VkError('usage', 'vkey fleet migrate: --user OWNER is required (the role that owns the vkey_fleet schema).', { field: '--user' })
  const server = parseFleetUrl(positionals[0]!)
  const caPem = await readCa(values.ca)
  const password = await readPassword(io, 'migrate', values['password-stdin'])
  const { client } = await connectFleet({ ...server, user: values.user, password, ...(caPem ? { caPem } : {}), tls: 'auto' })
  try {
    await checkMigrator(client, values.user)
    const applied = await migrate(client)
    write(
      io,
      applied.length
        ? `Fleet schema migrated to version ${LATEST_VERSION} (applied ${applied.join(', ')}).`
        : `Fleet schema already at version ${LATEST_VERSION}.`,
    )
    return 0
  } finally {
    await client.end().catch(() => undefined)
  }
}

async function status(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFor('fleet status', args)
  const s = await withDepot(io, async (depot) => {
    const fleet = Fleet.open(depot.dataDir, await depot.vault())
    if (!fleet) return undefined
    try {
      return fleet.status(await localLedger(depot))
    } finally {
      fleet.close()
    }
  })
  if (!s) {
    if (values.json) writeJson(io, JSON.stringify({ joined: false }, null, 2))
    else write(io, 'Not in a fleet. Join with `vkey fleet join postgres://HOST:PORT/DB --laptop NAME --user ROLE --password-stdin`.')
    return 0
  }
  if (values.json) {
    writeJson(
      io,
      JSON.stringify(
        {
          joined: true,
          server: s.server,
          laptop: s.laptop,
          user: s.user,
          tls: s.tls,
          joined_at: s.joinedAt,
          last_sync: s.lastSync,
          last_error: s.lastError,
          waiting: s.waiting,
          known_entries: s.known,
        },
        null,
        2,
      ),
    )
    return 0
  }
  write(io, `Fleet ${s.server}, laptop ${s.laptop} (role ${s.user}, ${s.tls === 'verify' ? 'TLS verified' : 'no TLS'}).`)
  write(io, `  last sync:  ${s.lastSync ? formatLocal(s.lastSync) : 'never'}`)
  write(io, `  waiting:    ${s.waiting} entr${s.waiting === 1 ? 'y' : 'ies'} to push`)
  write(io, `  known:      ${s.known} fleet entries`)
  if (s.lastError) write(io, `  last error: ${formatLocal(s.lastError.at)}: ${s.lastError.message}`)
  return 0
}

async function sync(args: string[], io: CliIo): Promise<number> {
  parseFor('fleet sync', args)
  const { result, conflicts } = await withFleet(io, async (fleet, depot) => {
    const synced = await fleet.sync(await localLedger(depot))
    return { result: synced, conflicts: liveByVehicle(fleet.mirror).filter((v) => v.conflict).length }
  })
  write(
    io,
    `Fleet synced: ${result.sent} entr${result.sent === 1 ? 'y' : 'ies'} pushed, ${result.pulled} pulled${result.supersededHere.length ? `, ${result.supersededHere.length} of ours superseded by another laptop` : ''}.`,
  )
  for (const dropped of result.dropped) writeHuman(io.stderr, `vkey fleet sync: ${dropped}.`)
  if (conflicts) write(io, conflictsText(conflicts))
  return 0
}

/** `vkey list --fleet`: live keys by car with laptop and technician, conflicts first (synced first when the server answers). */
export async function fleetListCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFor('list', args)
  return withFleet(io, async (fleet, depot) => {
    const stale = await syncQuietly(io, fleet, depot)
    const vehicles = liveByVehicle(fleet.mirror)
    if (values.json) {
      writeJson(
        io,
        JSON.stringify(
          {
            last_sync: fleet.mirror.get('last_sync') ?? null,
            stale,
            vehicles: vehicles.map((v) => ({
              vehicle: v.vehicleKey,
              vin: v.vin,
              conflict: v.conflict,
              keys: v.keys.map(keyJson),
              still_valid_not_live: v.stillValid.map(keyJson),
            })),
          },
          null,
          2,
        ),
      )
      return 0
    }
    if (!vehicles.length) write(io, 'No key in circulation in the fleet.')
    for (const v of vehicles) {
      const head = v.conflict ? `CONFLICT ${v.keys.length} live keys` : v.keys.length ? 'live key' : 'no live key'
      write(io, `${v.vin ?? v.vehicleKey}  ${head}`)
      for (const k of v.keys) write(io, `    until ${formatLocal(k.expires!)}  ${k.technician} on ${k.laptop}  (${k.entryId}, ${k.status})`)
      for (const k of v.stillValid)
        write(
          io,
          `    ${k.status === 'unreadable' ? 'unreadable on its laptop (vault reset)' : 'superseded'}, still opens the car until ${formatLocal(k.expires!)}  ${k.technician} on ${k.laptop}  (${k.entryId}): keep it out of circulation`,
        )
    }
    const conflicts = vehicles.filter((v) => v.conflict).length
    if (conflicts) write(io, conflictsText(conflicts))
    return 0
  })
}

/** A fleet key as `vkey list --fleet --json` gives it. */
function keyJson(k: FleetEntry): Record<string, string | null> {
  return { entry_id: k.entryId, laptop: k.laptop, technician: k.technician, profile: k.profile, issued_at: k.issuedAt, expires: k.expires, status: k.status }
}

/** Conflicts, said the same by `fleet sync` and `list --fleet`. */
function conflictsText(conflicts: number): string {
  return `${conflicts} vehicle${conflicts === 1 ? ' has' : 's have'} more than one live key (issued offline on two laptops): hand over one and keep the other out of circulation (\`vkey list --fleet\` shows them first).`
}

/** `vkey audit --fleet --csv F`: one row per fleet entry, conflicts first. */
export async function fleetAuditCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFor('audit', args)
  if (!values.csv) throw new VkError('usage', 'vkey audit --fleet: --csv OUT.csv is required.', { field: '--csv' })
  const csv = resolve(values.csv)
  const rows = await withFleet(io, async (fleet, depot) => {
    await syncQuietly(io, fleet, depot)
    return exportFleetAuditCsv(csv, fleet.mirror)
  })
  write(io, `Fleet audit written: ${csv} (${rows} row${rows === 1 ? '' : 's'}, conflicts first, no secrets).`)
  return 0
}

/** Syncs before a view; when the server is out of reach, says so and shows the last known state. Returns true when stale. */
async function syncQuietly(io: CliIo, fleet: Fleet, depot: Depot): Promise<boolean> {
  try {
    await fleet.sync(await localLedger(depot))
    return false
  } catch (error) {
    const last = fleet.mirror.get('last_sync')
    writeHuman(io.stderr, `vkey: ${(error as Error).message} Showing the fleet as of ${last ? formatLocal(last) : 'never synced'}.`)
    return true
  }
}
