/** `vkey ledger check` and `vkey ledger new` (core/ledger-care.ts): the ledger read whole, and a new one started knowingly. */
import { join } from 'node:path'
import { EXIT } from '../../shared/errors'
import { formatLocal } from '../../shared/time'
import { checkLedger, startNewLedger } from '../core/ledger-care'
import { LEDGER_FILE } from '../core/ledger-db'
import { newestRescue } from '../core/ledger-presence'
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
  const file = join(dataDir, LEDGER_FILE)
  const health = checkLedger(dataDir)
  if (values.json) writeJson(io, JSON.stringify({ file, ...health }, null, 2))
  else write(io, health.state === 'whole' ? `The ledger ${file} reads whole: ${health.records} record(s), ${health.liveKeys} live key(s).` : health.message)
  const rescued = health.state === 'whole' ? newestRescue(dataDir) : undefined
  if (rescued && !values.json)
    write(
      io,
      `Also here: ${rescued}, a copy a VK Depot process saved when the ledger was deleted under it. It may hold keys this ledger does not: ask whoever supports the depot before deleting it.`,
    )
  return health.state === 'whole' || health.state === 'none' ? EXIT.ok : EXIT.config
}

async function newCommand(args: string[], io: CliIo): Promise<number> {
  parseFor('ledger new', args)
  const dataDir = openDataFolder(io)
  const file = join(dataDir, LEDGER_FILE)
  const result = await startNewLedger(dataDir, io.now?.() ?? new Date())
  if (!result.started) {
    const { records, liveKeys } = result.health
    write(
      io,
      `Nothing done: the ledger ${file} reads whole (${records} record(s), ${liveKeys} live key(s)). A new ledger starts only in place of one that is damaged, empty or missing.`,
    )
    return EXIT.ok
  }
  write(io, `Started a new, empty ledger: ${file}.`)
  if (result.keptAside)
    write(
      io,
      `  kept aside, as they were: ${result.keptAside.files.join(', ')} in ${result.keptAside.folder} (for whoever supports the depot; the keys they recorded stay valid at PSA until they end).`,
    )
  if (result.lostSince)
    write(
      io,
      `  replaces: the ledger kept since ${formatLocal(result.lostSince)}; the keys it recorded are not counted here. A car that holds one gets a second key when you request it.`,
    )
  return EXIT.ok
}
