/**
 * The app's fleet channels: Settings → Fleet (join, status, leave) and History → Fleet (live
 * keys by car with laptop and technician, conflicts first). The same core as `vkey fleet …`
 * (core/fleet/). The fleet password comes in once, is sealed in the vault, and never goes back
 * out: no output has a field for it.
 */
import type { FleetKeyView, FleetStatusView, FleetView } from '../../../shared/ipc/fleet-contract'
import { certificatesOnly } from '../../core/ca-pem'
import { technician } from '../../core/technician'
import { parseFleetUrl } from '../../core/fleet/connection'
import { Fleet, type FleetStatus } from '../../core/fleet/fleet'
import { handoverLedger } from '../../core/fleet/handover-ledger'
import type { FleetEntry, LocalLedger } from '../../core/fleet/types'
import { liveByVehicle } from '../../core/fleet/view'
import { readRegularFile } from '../../core/regular-file'
import type { Feature, HandlerContext } from './context'

type FleetChannels = 'fleet:status' | 'fleet:join' | 'fleet:leave' | 'fleet:view'

const NOT_JOINED: FleetStatusView = { joined: false, lastSync: null, lastError: null, waiting: 0, known: 0 }

function statusView(s: FleetStatus): FleetStatusView {
  return {
    joined: true,
    ...(s.server ? { server: s.server } : {}),
    ...(s.laptop ? { laptop: s.laptop } : {}),
    ...(s.user ? { user: s.user } : {}),
    ...(s.tls ? { tls: s.tls } : {}),
    ...(s.joinedAt ? { joinedAt: s.joinedAt } : {}),
    lastSync: s.lastSync,
    lastError: s.lastError,
    waiting: s.waiting,
    known: s.known,
  }
}

/** Syncs, then reads the live keys from fleet.db; when the server is out of reach, the fleet as of the last sync. */
async function viewOf(fleet: Fleet, ledger: LocalLedger, notify: (ids: readonly string[]) => void): Promise<FleetView> {
  let syncError: string | undefined
  try {
    const result = await fleet.sync(ledger)
    if (result.supersededHere.length) notify(result.supersededHere)
  } catch (error) {
    syncError = (error as Error).message
  }
  const keyView = (k: FleetEntry): FleetKeyView => ({
    entryId: k.entryId,
    laptop: k.laptop,
    technician: k.technician,
    profile: k.profile,
    issuedAt: k.issuedAt,
    expires: k.expires!,
    status: k.status,
    mine: k.laptop === fleet.laptop,
  })
  const vehicles = liveByVehicle(fleet.mirror).map((v) => ({
    vehicleKey: v.vehicleKey,
    vin: v.vin,
    conflict: v.conflict,
    keys: v.keys.map(keyView),
    stillValid: v.stillValid.map(keyView),
  }))
  return {
    joined: true,
    laptop: fleet.laptop,
    lastSync: fleet.mirror.get('last_sync') ?? null,
    stale: syncError !== undefined,
    ...(syncError ? { syncError } : {}),
    vehicles,
  }
}

export function fleetFeature({ depot, files, notify }: HandlerContext): Feature<FleetChannels> {
  const ledger = async (): Promise<LocalLedger> => handoverLedger(await depot.handovers(), technician())
  /** Runs `work` on the folder's fleet (closed after), or answers `none` when it has not joined one. */
  const withFleet = async <T>(none: T, work: (fleet: Fleet) => Promise<T>): Promise<T> => {
    const fleet = Fleet.open(depot.dataDir, await depot.vault())
    if (!fleet) return none
    try {
      return await work(fleet)
    } finally {
      fleet.close()
    }
  }
  const handlers: Feature<FleetChannels>['handlers'] = {
    async 'fleet:status'() {
      return withFleet(NOT_JOINED, async (fleet) => statusView(fleet.status(await ledger())))
    },
    async 'fleet:join'(input) {
      const server = parseFleetUrl(input.url)
      const caPem = input.ca
        ? certificatesOnly(
            (await readRegularFile(files.pathOf(input.ca), { hint: "Choose the administrator's CA certificate file itself.", field: 'ca' })).toString('utf8'),
            "the fleet's CA certificate",
          )
        : undefined
      const { fleet } = await Fleet.join(depot.dataDir, await depot.vault(), {
        ...server,
        laptop: input.laptop,
        user: input.user,
        password: input.password,
        ...(caPem ? { caPem } : {}),
      })
      try {
        return statusView(fleet.status(await ledger()))
      } finally {
        fleet.close()
      }
    },
    async 'fleet:leave'() {
      depot.releaseKeyGate() // fleet.db is removed: nothing of this process may hold it open
      const left = await Fleet.leave(depot.dataDir, await depot.vault(), await ledger())
      return { left: left.wasJoined, unpushed: left.unpushed }
    },
    async 'fleet:view'() {
      return withFleet<FleetView>({ joined: false, lastSync: null, stale: false, vehicles: [] }, async (fleet) => viewOf(fleet, await ledger(), notify))
    },
  }
  return { handlers }
}
