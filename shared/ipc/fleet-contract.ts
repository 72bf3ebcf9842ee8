/**
 * The fleet's IPC channels (Settings → Fleet, History → Fleet), spread into the one contract
 * (contract.ts). The fleet password only ever comes in (`fleet:join`): no output has a field
 * for it. Facts about keys cross, never keys: the fleet has none.
 */
import * as z from 'zod'

const isoDate = z.string().min(1).max(40)
const none = z.undefined()

/**
 * What the fleet has to say of a key it let through, for the technician: the new key supersedes
 * another laptop's live one (its window was longer, or --new), or the fleet could not be asked.
 */
export const GateNote = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('supersedes-other'), technician: z.string(), laptop: z.string(), expires: isoDate }),
  z.object({ kind: z.literal('fleet-unreachable') }),
  /** A key of this laptop reused without asking the fleet whether another laptop superseded it since the last sync. */
  z.object({ kind: z.literal('reuse-unchecked') }),
])
export type GateNote = z.infer<typeof GateNote>

export const FleetStatusView = z.object({
  joined: z.boolean(),
  /** postgres://HOST:PORT/DB (no user, no password). */
  server: z.string().optional(),
  laptop: z.string().optional(),
  /** This laptop's database role. */
  user: z.string().optional(),
  tls: z.enum(['verify', 'none']).optional(),
  joinedAt: isoDate.optional(),
  lastSync: isoDate.nullable(),
  /** The last sync or claim that failed, with its time, until a sync goes through. */
  lastError: z.object({ at: isoDate, message: z.string() }).nullable(),
  /** This laptop's entries waiting to be pushed. */
  waiting: z.number(),
  /** Fleet entries this laptop knows (its own and pulled). */
  known: z.number(),
})
export type FleetStatusView = z.infer<typeof FleetStatusView>

export const FleetKeyView = z.object({
  entryId: z.string(),
  laptop: z.string(),
  technician: z.string(),
  profile: z.string(),
  issuedAt: isoDate,
  expires: isoDate,
  status: z.string(),
  /** This laptop's own key. */
  mine: z.boolean(),
})

export type FleetKeyView = z.infer<typeof FleetKeyView>

export const FleetVehicleView = z.object({
  vehicleKey: z.string(),
  vin: z.string().nullable(),
  /** Two or more live keys (issued offline on two laptops): never merged, shown first. */
  conflict: z.boolean(),
  keys: z.array(FleetKeyView),
  /** Keys not live that still open the car until they expire (superseded, or unreadable on their laptop): PSA cannot revoke them. */
  stillValid: z.array(FleetKeyView),
})
export type FleetVehicleView = z.infer<typeof FleetVehicleView>

export const FleetView = z.object({
  joined: z.boolean(),
  laptop: z.string().optional(),
  lastSync: isoDate.nullable(),
  /** The server could not be reached: the fleet as of the last sync. */
  stale: z.boolean(),
  syncError: z.string().optional(),
  vehicles: z.array(FleetVehicleView),
})
export type FleetView = z.infer<typeof FleetView>

export const fleetContract = {
  'fleet:status': { input: none, output: FleetStatusView },
  /** Verifies the server (TLS, login, schema, registered role) before anything is kept; the password is sealed in the vault. */
  'fleet:join': {
    input: z.object({
      url: z.string().trim().min(1).max(300),
      laptop: z.string().trim().min(1).max(64),
      user: z.string().trim().min(1).max(63),
      password: z.string().min(1).max(1024),
      /** A file grant (files:choose, purpose 'ca') for the administrator's private CA. */
      ca: z.string().max(100).optional(),
    }),
    output: FleetStatusView,
  },
  'fleet:leave': { input: none, output: z.object({ left: z.boolean(), unpushed: z.number() }) },
  /** Live keys by car with laptop and technician, conflicts first; synced first when the server answers. */
  'fleet:view': { input: none, output: FleetView },
} as const
