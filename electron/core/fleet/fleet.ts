/**
 * Fleet mode for one data folder: join (verify the server, migrate, seal the password, keep
 * the settings), leave, status, sync, and the claim gate around a request to PSA. Offline
 * first: when the server cannot be reached, the laptop works from its local ledger and its
 * entries wait in fleet.db for the next sync.
 */
import type pg from 'pg'
import { VkError } from '../../../shared/errors'
import type { Vault } from '../vault'
import { claimVehicle, heldMessage, recordIssued, releaseClaim, type ClaimRequest } from './claims'
import { connectFleet, connectionError, fleetPool, fleetUrl, isUnreachable, type ConnectionContext, type FleetServer } from './connection'
import { LATEST_VERSION, migrate, SCHEMA, schemaVersion } from './migrations'
import { FleetMirror, type FleetSettings } from './mirror'
import { FleetSync, type SyncHooks, type SyncResult } from './sync'
import { LAPTOP_NAME, SUPERSEDES_LINK, toFleetEntry, type ClaimResult, type Holder, type LedgerEntry, type LocalLedger } from './types'

export interface JoinRequest extends FleetServer {
  laptop: string
  user: string
  password: string
  caPem?: string
  /** Whether a local id is in this data folder's ledger: the fleet's entries of this laptop that are not were written by another folder. */
  knownHere?: (localId: string) => boolean
}

/** How many of the laptop's newest fleet entries are checked against this folder's ledger when it joins. */
const FOREIGN_CHECK_LIMIT = 500

export interface FleetStatus {
  joined: boolean
  server?: string
  laptop?: string
  user?: string
  tls?: 'verify' | 'none'
  joinedAt?: string
  lastSync: string | null
  /** The last sync or claim that failed (ISO UTC), until a sync goes through. */
  lastError: { at: string; message: string } | null
  /** Entries of this laptop waiting to be pushed. */
  waiting: number
  /** Entries known for the fleet (this laptop's and pulled). */
  known: number
}

/** Checks the server as a laptop sees it: schema current (migrating when this role may), role registered for this laptop. */
async function verifyLaptop(client: pg.ClientBase, laptop: string, user: string): Promise<number[]> {
  const { rows: privileged } = await client.query<{ yes: boolean }>(
    `SELECT r.rolsuper OR r.rolbypassrls OR EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = $1 AND n.nspowner = r.oid) AS yes
     FROM pg_roles r WHERE r.rolname = current_user`,
    [SCHEMA],
  )
  if (privileged[0]?.yes)
    throw new VkError(
      'config.fleet',
      `Role "${user}" owns the fleet's schema or is a superuser: it bypasses row-level security, so no laptop may join with it. Join with this laptop's own role, which the administrator registers (docs/fleet.md, step 4).`,
      { field: '--user' },
    )
  const applied = (await schemaVersion(client)) < LATEST_VERSION ? await migrate(client) : []
  const { rows } = await client.query<{ laptop: string | null }>('SELECT vkey_fleet.my_laptop() AS laptop')
  const registered = rows[0]?.laptop ?? null
  if (registered === null) {
    throw new VkError(
      'config.fleet',
      `Role "${user}" is not registered as a laptop of this fleet. The administrator registers it: INSERT INTO vkey_fleet.laptops (laptop, role) VALUES ('${laptop}', '${user}') (docs/fleet.md, step 4).`,
      { field: '--user' },
    )
  }
  if (registered !== laptop)
    throw new VkError(
      'config.fleet',
      `Role "${user}" is registered for laptop "${registered}", not "${laptop}": join with --laptop ${registered}, or ask the administrator.`,
      { field: '--laptop' },
    )
  return applied
}

/**
 * The laptop's entries on the server that this data folder's ledger does not hold (of its newest
 * FOREIGN_CHECK_LIMIT that had a key: a failed request's record may be removed here): another
 * folder or machine joined under the same name, whose claims this one would take for its own.
 */
async function foreignEntries(client: pg.ClientBase, request: JoinRequest): Promise<number> {
  if (!request.knownHere) return 0
  const { rows } = await client.query<{ local_id: string }>(
    `SELECT local_id FROM ${SCHEMA}.entries WHERE laptop = $1 AND status <> 'failed' ORDER BY seq DESC LIMIT $2`,
    [request.laptop, FOREIGN_CHECK_LIMIT],
  )
  return rows.filter((r) => !request.knownHere!(r.local_id)).length
}

function sameLaptop(a: FleetSettings, b: JoinRequest): boolean {
  return a.host === b.host && a.port === b.port && a.database === b.database && a.laptop === b.laptop && a.user === b.user
}

export class Fleet {
  readonly mirror: FleetMirror
  readonly settings: FleetSettings
  readonly #vault: Vault
  #pool: Promise<pg.Pool> | undefined

  private constructor(mirror: FleetMirror, settings: FleetSettings, vault: Vault) {
    this.mirror = mirror
    this.settings = settings
    this.#vault = vault
  }

  /**
   * Joins: nothing is written unless the server was reached with TLS verified (when it offers
   * TLS), the login worked, the schema is current and the role is this laptop's.
   */
  static async join(dataDir: string, vault: Vault, request: JoinRequest): Promise<{ fleet: Fleet; migrated: number[]; foreign: number }> {
    if (!LAPTOP_NAME.test(request.laptop))
      throw new VkError('usage', `--laptop "${request.laptop}" is not a laptop name: letters, digits, ".", "_" and "-", up to 64 characters.`, {
        field: '--laptop',
      })
    const joined = Fleet.#joinedSettings(dataDir)
    // Joining again as the same laptop and role stores a new password (or CA); anything else is another fleet.
    if (joined && !sameLaptop(joined, request))
      throw new VkError(
        'config.fleet',
        `This data folder already belongs to the fleet ${fleetUrl(joined)} as ${joined.laptop} (role ${joined.user}). Run \`vkey fleet leave\` first.`,
      )
    const { host, port, database, user, password } = request
    // Joining again keeps what the first join established: the CA (unless another is given), and TLS once it was verified —
    // a server that stops offering it is refused, never joined in clear.
    const caPem = request.caPem ?? joined?.caPem
    const { client, tls } = await connectFleet({
      host,
      port,
      database,
      user,
      password,
      ...(caPem ? { caPem } : {}),
      tls: joined?.tls === 'verify' ? 'verify' : 'auto',
    })
    let migrated: number[]
    let foreign: number
    try {
      migrated = await verifyLaptop(client, request.laptop, request.user)
      foreign = await foreignEntries(client, request)
    } catch (error) {
      throw error instanceof VkError ? error : connectionError(error, { where: fleetUrl(request), user: request.user, caGiven: Boolean(request.caPem) })
    } finally {
      await client.end().catch(() => undefined)
    }
    await vault.saveFleetSecret(request.password)
    const mirror = FleetMirror.open(dataDir)
    const settings: FleetSettings = {
      host: request.host,
      port: request.port,
      database: request.database,
      user: request.user,
      laptop: request.laptop,
      tls,
      ...(caPem ? { caPem } : {}),
      joinedAt: joined?.joinedAt ?? new Date().toISOString(),
    }
    mirror.saveSettings(settings)
    return { fleet: new Fleet(mirror, settings, vault), migrated, foreign }
  }

  static #joinedSettings(dataDir: string): FleetSettings | undefined {
    if (!FleetMirror.exists(dataDir)) return undefined
    const existing = FleetMirror.open(dataDir)
    try {
      return existing.settings()
    } finally {
      existing.close()
    }
  }

  /** The folder's fleet, or undefined when it has not joined one. */
  static open(dataDir: string, vault: Vault): Fleet | undefined {
    if (!FleetMirror.exists(dataDir)) return undefined
    const mirror = FleetMirror.open(dataDir)
    const settings = mirror.settings()
    if (!settings) {
      mirror.close()
      return undefined
    }
    return new Fleet(mirror, settings, vault)
  }

  /**
   * Stops sharing: the settings, fleet.db and the sealed password go. `unpushed` counts this
   * laptop's entries the fleet never had (with `ledger`, its latest changes included).
   */
  static async leave(dataDir: string, vault: Vault, ledger?: LocalLedger): Promise<{ wasJoined: boolean; unpushed: number }> {
    const fleet = Fleet.open(dataDir, vault)
    const unpushed = !fleet ? 0 : ledger ? fleet.status(ledger).waiting : fleet.mirror.pendingCount()
    fleet?.close()
    FleetMirror.remove(dataDir)
    await vault.deleteFleetSecret()
    return { wasJoined: Boolean(fleet), unpushed }
  }

  /** What a connection error is said against (the join command to store a new password is printed back). */
  #context(): ConnectionContext {
    return { where: fleetUrl(this.settings), user: this.settings.user, laptop: this.laptop, caGiven: Boolean(this.settings.caPem) }
  }

  get laptop(): string {
    return this.settings.laptop
  }

  close(): void {
    this.mirror.close()
    // A gate step still waiting for the pool then fails (config.fleet) before its request is sent.
    this.#pool?.then((pool) => pool.end()).catch(() => undefined)
    this.#pool = undefined
  }

  async #password(): Promise<string> {
    const password = await this.#vault.loadFleetSecret()
    if (password === undefined)
      throw new VkError('config.fleet', `The fleet password is missing from ${this.#vault.fleetSecretFile()}: run \`vkey fleet leave\`, then join again.`)
    return password
  }

  async connect(timeoutMs?: number): Promise<pg.Client> {
    const { client } = await connectFleet({ ...this.settings, password: await this.#password(), tls: this.settings.tls, ...(timeoutMs ? { timeoutMs } : {}) })
    return client
  }

  /** One pool for every step of the gate, even when the first steps start together; a failure to make it is not kept. */
  #gatePool(): Promise<pg.Pool> {
    const pool = (this.#pool ??= this.#password().then((password) => fleetPool({ ...this.settings, password, tls: this.settings.tls, timeoutMs: 3000 })))
    pool.catch(() => {
      if (this.#pool === pool) this.#pool = undefined
    })
    return pool
  }

  /** Runs one step of the request gate on a pooled connection (fleetPool); a connection that failed is dropped, not reused. */
  async #onGateConnection<T>(work: (client: pg.ClientBase) => Promise<T>): Promise<T> {
    const pool = await this.#gatePool()
    let client: pg.PoolClient
    try {
      client = await pool.connect()
    } catch (error) {
      throw connectionError(error, this.#context())
    }
    let failed = false
    try {
      return await work(client)
    } catch (error) {
      failed = true
      throw error
    } finally {
      client.release(failed)
    }
  }

  status(ledger?: LocalLedger): FleetStatus {
    if (ledger) new FleetSync({ mirror: this.mirror, ledger, laptop: this.laptop }).ingest()
    const known = (this.mirror.db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n
    return {
      joined: true,
      server: fleetUrl(this.settings),
      laptop: this.laptop,
      user: this.settings.user,
      tls: this.settings.tls,
      joinedAt: this.settings.joinedAt,
      lastSync: this.mirror.get('last_sync') ?? null,
      lastError: this.mirror.lastError(),
      waiting: this.mirror.pendingCount(),
      known,
    }
  }

  /** One sync; when the server is out of reach the error is kept for `fleet status` and thrown. */
  async sync(ledger: LocalLedger, options: { hooks?: SyncHooks; batchSize?: number } = {}): Promise<SyncResult> {
    const engine = new FleetSync({ mirror: this.mirror, ledger, laptop: this.laptop, ...(options.batchSize ? { batchSize: options.batchSize } : {}) })
    engine.ingest()
    let client: pg.Client | undefined
    try {
      client = await this.connect()
      return await engine.sync(client, options.hooks)
    } catch (error) {
      const failure = error instanceof VkError ? error : connectionError(error, this.#context())
      this.mirror.noteError(failure.message)
      throw failure
    } finally {
      await client?.end().catch(() => undefined)
    }
  }

  /**
   * Before asking PSA for a key: claims the vehicle fleet-wide. `proceed` with a claim to
   * record or release afterwards; `refused` with who holds it; `offline` when the server
   * cannot be reached (work locally: the entry is pushed at the next sync).
   */
  async beforeRequest(request: ClaimRequest): Promise<GateDecision> {
    try {
      const result: ClaimResult = await this.#onGateConnection((client) => claimVehicle(client, this.laptop, request))
      if (!result.ok)
        return {
          kind: 'refused',
          heldBy: result.heldBy,
          message: heldMessage(request.vehicleKey.startsWith('cd:') ? 'This vehicle' : request.vehicleKey, result.heldBy),
        }
      return { kind: 'proceed', claimId: result.claimId, supersedes: result.supersedes, ...(result.superseded ? { superseded: result.superseded } : {}) }
    } catch (error) {
      if (isUnreachable(error)) return { kind: 'offline', reason: (error as Error).message }
      throw error instanceof VkError ? error : connectionError(error, this.#context())
    }
  }

  /** The other laptop's entry that superseded ours (`--new` there), asked of the server; 'offline' when it cannot be reached. */
  async supersederOf(entryId: string): Promise<string | undefined | 'offline'> {
    try {
      const { rows } = await this.#onGateConnection((client) =>
        client.query<{ entry_id: string }>(
          `SELECT s.entry_id FROM ${SCHEMA}.entries s JOIN ${SCHEMA}.entries e ON ${SUPERSEDES_LINK} WHERE e.entry_id = $1 ORDER BY s.seq DESC LIMIT 1`,
          [entryId],
        ),
      )
      return rows[0]?.entry_id
    } catch (error) {
      if (isUnreachable(error)) return 'offline'
      throw error instanceof VkError ? error : connectionError(error, this.#context())
    }
  }

  /**
   * PSA issued the key for a claim: record it fleet-wide now (or at the next sync if the server
   * went away), with `alsoChanged`: this laptop's previous key for the car, which the new one
   * retired in the same local commit (pushed in the same transaction, so no other laptop ever
   * sees both live, a false conflict).
   */
  async afterIssued(
    claim: { claimId: string; supersedes: string | null },
    entry: LedgerEntry,
    alsoChanged: LedgerEntry[] = [],
  ): Promise<'recorded' | 'queued'> {
    if (claim.supersedes) this.mirror.noteSupersedes(entry.id, claim.supersedes)
    const fleetEntry = toFleetEntry(this.laptop, entry, claim.supersedes)
    const others = alsoChanged.map((e) => toFleetEntry(this.laptop, e, this.mirror.supersedesOf(e.id)))
    this.mirror.ingest([fleetEntry, ...others], this.mirror.number('local_cursor'))
    // Read before the push: a change ingested meanwhile keeps its newer version, so it stays pending.
    const pending = [fleetEntry, ...others].flatMap((e) => this.mirror.pendingEntry(e.entryId) ?? [])
    try {
      await this.#onGateConnection((client) => recordIssued(client, claim.claimId, fleetEntry, others))
      if (pending.length) this.mirror.markPushed(pending)
      return 'recorded'
    } catch (error) {
      if (isUnreachable(error)) return 'queued'
      throw error
    }
  }

  /** No key came of the claim: free the vehicle for the fleet (best effort; a stale claim expires anyway). */
  async afterFailed(claim: { claimId: string }): Promise<void> {
    try {
      await this.#onGateConnection((client) => releaseClaim(client, claim.claimId, this.laptop))
    } catch {
      // unreachable: the claim goes stale after STALE_REQUEST_MS
    }
  }
}

export type GateDecision =
  | { kind: 'proceed'; claimId: string; supersedes: string | null; superseded?: Holder }
  | { kind: 'refused'; heldBy: Holder; message: string }
  | { kind: 'offline'; reason: string }
