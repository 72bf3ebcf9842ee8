/** `vkey ledger check` and `vkey ledger new` (core/ledger-care.ts): the ledger read whole, and a new one started knowingly. */
import { join } from 'node:path'
import { EXIT } from '../../shared/errors'
import { formatLocal } from '../../shared/time'
import { checkLedger, startNewLedger, type LedgerHealth } from '../core/ledger-care'
import { LEDGER_FILE } from '../core/ledger-db'
import { write, writeJson } from './args'
import { openDataFolder } from './depot-access'
import type { CliIo } from './io'
import { parseFor, unknownCommand } from './spec'

export async function ledgerCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args
  if (sub === 'check') return checkCommand(rest, io)
  if (sub === 'new') return newCommand(rest, io)
  throw unknownCommand(['ledger', ...args])
}

async function checkCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFor('ledger check', args)
  const dataDir = openDataFolder(io)
  const health = checkLedger(dataDir)
  if (values.json) writeJson(io, JSON.stringify({ file: join(dataDir, LEDGER_FILE), ...health }, null, 2))
  else write(io, healthText(join(dataDir, LEDGER_FILE), health))
  return health.state === 'whole' || (health.state === 'missing' && !health.since) ? EXIT.ok : EXIT.config
}

function healthText(file: string, health: LedgerHealth): string {
  if (health.state === 'whole') return `The ledger ${file} reads whole: ${health.records} record(s), ${health.liveKeys} live key(s).`
  if (health.state === 'damaged') return health.message
  if (!health.since) return `There is no ledger yet in ${file}: the first key request starts it.`
  return `The ledger ${file} is missing: this data folder has kept one since ${formatLocal(health.since)}. Restore it from a backup of the data folder; if it is lost for good, \`vkey ledger new\` starts a new, empty one.`
}

async function newCommand(args: string[], io: CliIo): Promise<number> {
  parseFor('ledger new', args)
  const dataDir = openDataFolder(io)
  const file = join(dataDir, LEDGER_FILE)
  const result = startNewLedger(dataDir, io.now?.() ?? new Date())
  if (!result.started) {
    write(
      io,
      `Nothing done: the ledger ${file} reads whole (${result.health.records} record(s), ${result.health.liveKeys} live key(s)). A new ledger starts only in place of one that is damaged, empty or missing.`,
    )
    return EXIT.ok
  }
  write(io, `Started a new, empty ledger: ${file}.`)
  if (result.keptAs)
    write(io, `  kept aside: ${result.keptAs} (with its -wal and -shm files, if any): the keys issued until it broke, still valid at PSA until they end.`)
  if (result.lostSince)
    write(
      io,
      `  replaces:   the ledger kept since ${formatLocal(result.lostSince)}; the keys it recorded are not counted here. A car that holds one gets a second key when you request it.`,
    )
  return EXIT.ok
}
