/**
 * How a `vkey` command reaches the depot: the data folder adopted first, the depot opened
 * on it with the command's interruption and clock, and closed again whatever happens
 * (`withDepot`), so no command leaves the ledger or a connection to PSA open.
 */
import { adoptDataFolder } from '../core/data-folder'
import { Depot } from '../core/depot'
import { defaultDataFolder } from '../core/paths'
import { openStore } from '../core/settings-store'
import { writeHuman, type CliIo } from './io'

/** The data folder, adopted (or refused) before the settings store may create anything in it. */
export function openDataFolder(io: CliIo): string {
  const dataDir = defaultDataFolder(io.env)
  const chosen = Boolean(io.env.VKEY_HOME?.trim())
  const adoption = adoptDataFolder(dataDir, { isDefault: !chosen })
  // A VKEY_HOME that names no folder yet starts an empty depot: said, as a typo there would look like a depot with no keys.
  if (adoption === 'created' && chosen)
    writeHuman(io.stderr, `vkey: VKEY_HOME ${dataDir} did not exist: it is a new, empty data folder. If you meant an existing one, check VKEY_HOME.`)
  return dataDir
}

async function openDepot(io: CliIo): Promise<Depot> {
  const dataDir = openDataFolder(io)
  const interruption = io.interruption
  // The PSA client tells the interruption when a request reaches PSA, so Ctrl-C can say whether a key may exist.
  const clientOptions = interruption ? { onRequestSent: () => interruption.requestSent(), onRequestSettled: () => interruption.requestSettled() } : undefined
  return Depot.open({ dataDir, store: openStore(dataDir), ...(clientOptions ? { clientOptions } : {}), ...(io.now ? { now: io.now } : {}) })
}

/** Opens the depot, runs `use` on it and closes it (its ledger and PSA connections), whether `use` returns or throws. */
export async function withDepot<T>(io: CliIo, use: (depot: Depot) => Promise<T>): Promise<T> {
  const depot = await openDepot(io)
  try {
    return await use(depot)
  } finally {
    await depot.close()
  }
}
