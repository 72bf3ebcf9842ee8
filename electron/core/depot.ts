/**
 * The depot: the one object the desktop app's IPC handlers and the `vkey` CLI open over a
 * data folder. It ties its parts together — the vault, the ledger of handovers, the partner
 * profiles (partner-profiles.ts) and their PSA clients (psa-clients.ts), the offline queue
 * (offline-queue.ts), the fleet gate — so a token issued from either goes through exactly
 * the same steps (key-requests.ts).
 */
import { VkError } from '../../shared/errors'
import type { DurationPlan } from '../../shared/duration'
import { labelProblem, type ImportResult } from '../../shared/cardata'
import { validateVin } from '../../shared/vin'
import { HandoverStore } from './handovers'
import { newHandoverOf, type HandoverRecord } from './handover-record'
import { FleetGates } from './fleet/gate'
import { obtainKey, type KeyGate, type KeyResult, type RequestOptions } from './key-requests'
import { keytarStore, type SecretStore } from './keychain'
import { OfflineQueue } from './offline-queue'
import { PartnerProfiles } from './partner-profiles'
import { ProfileStore, type KeyValueStore } from './profiles'
import { PsaClients, type PsaClientOptions } from './psa-clients'
import { adoptDataFolder } from './data-folder'
import { settingsLock } from './owner-lock'
import { sweepTemporaryFiles } from './secure-files'
import { technician } from './technician'
import { Vault } from './vault'
import { registerVaultUser } from './vault-recovery'
import { ensureReserve } from './ledger-reserve'

export type { KeyResult, RequestOptions } from './key-requests'

export interface DepotOptions {
  dataDir: string
  store: KeyValueStore
  secretStore?: SecretStore
  now?: () => Date
  /** How long a write waits for another process holding the ledger (default 10 s). */
  busyTimeoutMs?: number
  /** Options for every PSA client this depot creates (timeouts, retry pacing). */
  clientOptions?: PsaClientOptions
}

/**
 * Requests a killed or crashed process left on their way to PSA are said at once (their records
 * note that a key may have been issued). Best effort: a store that cannot be written now (a full
 * disk) is still read, and the next request settles the claim it meets.
 */
function settleLeftClaims(store: HandoverStore): void {
  try {
    store.settleDeadClaims()
  } catch {
    // settled by the next request for the vehicle (HandoverStore.claimOf)
  }
}

export class Depot {
  /** The profiles' settings (non-secret fields). */
  readonly profiles: ProfileStore
  /** Profiles with their password and certificate: add, replace, remove, import. */
  readonly partners: PartnerProfiles
  /** Each profile's PSA client, after the pre-flight check. */
  readonly clients: PsaClients
  /** Requests waiting for the network. */
  readonly queue: OfflineQueue
  private vaultPromise: Promise<Vault> | undefined
  private storageFailure: VkError | undefined
  private handoverStore: HandoverStore | undefined
  private readonly fleetGates: FleetGates
  readonly now: () => Date
  readonly secretStore: SecretStore

  private constructor(readonly options: DepotOptions) {
    this.profiles = new ProfileStore(options.store, undefined, settingsLock(options.dataDir))
    this.now = options.now ?? (() => new Date())
    this.secretStore = options.secretStore ?? keytarStore()
    const vault = (): Promise<Vault> => this.vault()
    this.clients = new PsaClients({
      profiles: this.profiles,
      vault,
      now: this.now,
      dataDir: options.dataDir,
      ...(options.clientOptions ? { clientOptions: options.clientOptions } : {}),
    })
    this.partners = new PartnerProfiles({ dataDir: options.dataDir, profiles: this.profiles, vault, clients: this.clients, now: this.now })
    this.queue = new OfflineQueue(this)
    this.fleetGates = new FleetGates(options.dataDir, vault, technician())
  }

  /**
   * Opens the data folder (creating or adopting it, 0700, only if it is or may become ours:
   * see data-folder.ts) and sweeps the temp files a killed VK Depot process left.
   */
  static async open(options: DepotOptions): Promise<Depot> {
    adoptDataFolder(options.dataDir)
    await sweepTemporaryFiles(options.dataDir)
    return new Depot(options)
  }

  get dataDir(): string {
    return this.options.dataDir
  }

  /** The vault opens on first use, so commands that need no secret work without a keychain. */
  vault(): Promise<Vault> {
    // Recorded as a user before vault.json is read: a rotation (vault-recovery.ts) sees us or we see its new key.
    this.vaultPromise ??= registerVaultUser(this.dataDir).then(() => Vault.open(this.dataDir, this.secretStore, { create: true }))
    this.vaultPromise.catch(() => {
      this.vaultPromise = undefined
    })
    return this.vaultPromise
  }

  /**
   * After `vault reset`, `vault repair` or `ledger new`: forgets the vault, the ledger and the
   * clients built from the old secrets, and the stop a ledger that could not be written called
   * (the next request opens the ledger again, and stops again if it still cannot be written).
   */
  async reloadVault(): Promise<void> {
    const previous = this.vaultPromise
    this.vaultPromise = undefined
    this.storageFailure = undefined
    this.handoverStore?.close()
    this.handoverStore = undefined
    ;(await previous?.catch(() => undefined))?.close()
    await this.close()
  }

  async handovers(): Promise<HandoverStore> {
    const vault = await this.vault()
    if (!this.handoverStore) {
      this.handoverStore = new HandoverStore(
        this.dataDir,
        vault,
        this.now,
        this.options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: this.options.busyTimeoutMs },
      )
      settleLeftClaims(this.handoverStore)
    }
    return this.handoverStore
  }

  // ---- vehicles and tokens -----------------------------------------------------------

  /** Stores every vehicle an import accepted as a draft handover. */
  async addVehicles(result: ImportResult, options: { profile?: string } = {}): Promise<HandoverRecord[]> {
    const store = await this.handovers()
    const who = technician() // once, not per vehicle: it reads the user database
    return store.add(result.vehicles.map((vehicle) => newHandoverOf(vehicle, { ...options, technician: who })))
  }

  async setVin(id: string, vin: string | undefined, label?: string): Promise<HandoverRecord> {
    const store = await this.handovers()
    const checked = vin === undefined || vin === '' ? undefined : validateVin(vin, { field: 'vin' })
    const labelText = label?.trim()
    const problem = labelText === undefined ? undefined : labelProblem(labelText)
    if (problem !== undefined) throw new VkError('input.field', `The label ${problem}`, { field: 'label' })
    return store.update(id, (record) => {
      if (checked) record.vin = checked
      if (labelText !== undefined) {
        if (labelText) record.label = labelText
        else delete record.label
      }
    })
  }

  /**
   * Obtains a key for one handover under the ledger's rules (key-requests.ts): a live key
   * that covers the window is reused, one that does not is renewed, and a network that
   * cannot be reached leaves the request queued, to be sent once later.
   */
  requestToken(id: string, plan: DurationPlan, options: RequestOptions = {}): Promise<KeyResult> {
    return obtainKey(this, { id }, plan, options)
  }

  /** The check a request passes before it goes out: the fleet's claim when this data folder joined a fleet (fleet/gate.ts). */
  keyGate(): Promise<KeyGate | undefined> {
    return this.fleetGates.current()
  }

  /** Closes the fleet the gate holds open (before leaving the fleet: fleet.db is then removed); the next request opens it again if joined. */
  releaseKeyGate(): void {
    this.fleetGates.close()
  }

  /**
   * Before a request is sent: the ledger can record its key. Sending stops for good once a ledger
   * write failed, and until there is room for the space kept for keys (ledger-reserve.ts).
   */
  assertCanRecord(): void {
    if (this.storageFailure) throw this.storageFailure
    ensureReserve(this.dataDir)
  }

  /** Remembers that the ledger cannot be written and says what was lost. */
  recordingFailed(error: unknown, what: string): VkError {
    const cause = error instanceof VkError ? error : new VkError('storage.write', `Cannot write the ledger in ${this.dataDir}.`, { file: this.dataDir })
    if (!cause.code.startsWith('storage.')) return cause
    this.storageFailure ??= new VkError(cause.code, `Stopped sending: ${cause.message}`, cause.details)
    return new VkError(cause.code, `${what}: ${cause.message} No further request is sent.`, cause.details)
  }

  async close(): Promise<void> {
    this.fleetGates.close()
    this.handoverStore?.close()
    this.handoverStore = undefined
    await this.clients.close()
  }
}
