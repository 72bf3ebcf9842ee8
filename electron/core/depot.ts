/**
 * The depot: one object that ties profiles, the vault, the PSA client and the handover
 * records together. The desktop app's IPC handlers and the `vkey` CLI both drive this,
 * so a token issued from either goes through exactly the same steps.
 */
import { readFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { isNetworkUnreachable, VkError, toErrorView, type ErrorCode } from '../../shared/errors'
import type { DurationPlan } from '../../shared/duration'
import { labelProblem, type ImportResult } from '../../shared/cardata'
import { validateVin } from '../../shared/vin'
import { certificatesOnly } from './ca-pem'
import { acceptSignedCertificate, certificatesOnlyIn } from './cert-request'
import { certificateFacts, importPartnerCredentials, preflight, type CertificateFacts } from './certificates'
import { handoverPayloadOf } from './handover-payload'
import { HandoverStore, storedError, type HandoverRecord } from './handovers'
import { FleetGates } from './fleet/gate'
import { obtainKey, type KeyGate, type KeyResult, type RequestOptions } from './key-requests'
import { keytarStore, type SecretStore } from './keychain'
import { ProfileStore, resolveEnvironment, type KeyValueStore, type Profile } from './profiles'
import { PsaClient, type PartnerCredentials } from './psa-client'
import { writeHandoverQr } from './qr'
import { adoptDataFolder } from './data-folder'
import { settingsLock } from './owner-lock'
import { sweepTemporaryFiles, writeFileAtomic } from './secure-files'
import { simulatorFiles } from './simulator/material'
import { technician } from './technician'
import { Vault } from './vault'
import { registerVaultUser } from './vault-recovery'

export interface FlushResult {
  sent: number
  stillQueued: number
  failed: number
  /** Why each of the `failed` was refused (PSA, a check before sending, or another laptop of the fleet holding the car). */
  failures: { id: string; vin?: string; code: ErrorCode; message: string }[]
  /** The keys the flush obtained (issued, renewed or reused). */
  keys: KeyResult[]
  /** QR files asked for with `--qr` while offline that could not be written. */
  qrErrors: { id: string; path: string; message: string }[]
}

export type { KeyResult, RequestOptions } from './key-requests'

export interface DepotOptions {
  dataDir: string
  store: KeyValueStore
  secretStore?: SecretStore
  now?: () => Date
  /** How long a write waits for another process holding the ledger (default 10 s). */
  busyTimeoutMs?: number
  /** Options for every PSA client this depot creates (timeouts, retry pacing). */
  clientOptions?: ConstructorParameters<typeof PsaClient>[1]
}

/** What a person asks to save (`vkey profile add`, the app's profile form); ProfileInput (shared/profile.ts) is what the store keeps. */
export interface SaveProfileInput {
  name: string
  /** preprod | prod | simulator | an https base URI of the documented form. */
  environment: string
  clientId?: string
  login?: string
  password?: string
  caPem?: string
  makeDefault?: boolean
  /** Overall deadline for one PSA request (absent: keep the profile's, or 30 s). */
  requestTimeoutSeconds?: number
  /** Allow a profile of another environment to be replaced: its certificate and secrets are dropped. */
  replace?: boolean
}

export interface ProfileSummary extends Profile {
  hasPassword: boolean
  isDefault: boolean
  certificate: CertificateFacts | null
}

/** Where the simulator that `vkey simulator` or the app started last can be found. */
export interface SimulatorRegistration {
  baseUrl: string
  dir: string
}

const SIMULATOR_FILE = 'simulator.json'

/**
 * The simulator keeps demo keys in clear, so its folder sits beside the data folder,
 * never inside it: a scan of the data folder must find no private key.
 */
export function defaultSimulatorDir(dataDir: string): string {
  return `${dataDir.replace(/[\\/]+$/, '')}-simulator`
}

export class Depot {
  readonly profiles: ProfileStore
  private vaultPromise: Promise<Vault> | undefined
  private flushing: Promise<FlushResult> | undefined
  private storageFailure: VkError | undefined
  private handoverStore: HandoverStore | undefined
  private readonly clients = new Map<string, { client: PsaClient; profileVersion: string; notBefore: number; notAfter: number }>()
  private readonly fleetGates: FleetGates
  readonly now: () => Date
  readonly secretStore: SecretStore

  private constructor(readonly options: DepotOptions) {
    this.profiles = new ProfileStore(options.store, undefined, settingsLock(options.dataDir))
    this.now = options.now ?? (() => new Date())
    this.secretStore = options.secretStore ?? keytarStore()
    this.fleetGates = new FleetGates(options.dataDir, () => this.vault(), technician())
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

  /** After `vault reset`: forgets the vault, the ledger and the clients built from the old secrets. */
  async reloadVault(): Promise<void> {
    const previous = this.vaultPromise
    this.vaultPromise = undefined
    this.handoverStore?.close()
    this.handoverStore = undefined
    ;(await previous?.catch(() => undefined))?.close()
    await this.close()
  }

  async handovers(): Promise<HandoverStore> {
    const vault = await this.vault()
    this.handoverStore ??= new HandoverStore(
      this.dataDir,
      vault,
      this.now,
      this.options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: this.options.busyTimeoutMs },
    )
    return this.handoverStore
  }

  // ---- simulator registration --------------------------------------------------------

  async registerSimulator(registration: SimulatorRegistration): Promise<void> {
    await writeFileAtomic(join(this.dataDir, SIMULATOR_FILE), JSON.stringify(registration, null, 1))
  }

  async registeredSimulator(): Promise<SimulatorRegistration> {
    try {
      const value = JSON.parse(await readFile(join(this.dataDir, SIMULATOR_FILE), 'utf8')) as SimulatorRegistration
      if (typeof value.baseUrl === 'string' && typeof value.dir === 'string') return value
    } catch {
      // fall through to the error below
    }
    throw new VkError(
      'config.profile',
      'No simulator is registered in this data folder. Start one first with `vkey simulator` (same VKEY_HOME), then add the profile again.',
      { field: '--env' },
    )
  }

  // ---- profiles ----------------------------------------------------------------------

  /** Adds or replaces a profile; the password goes to the vault, never to the store. */
  async saveProfile(input: SaveProfileInput): Promise<Profile> {
    let environment: Profile['environment']
    let baseUrl: string
    let caPem = input.caPem
    let { clientId, login, password } = input
    if (input.environment === 'simulator') {
      const simulator = await this.registeredSimulator()
      environment = 'simulator'
      baseUrl = simulator.baseUrl
      caPem ??= await readFile(simulatorFiles(simulator.dir).serverCa, 'utf8')
      const demo = await readDemoCredentials(simulator.dir)
      clientId ??= demo.clientId
      login ??= demo.login
      password ??= demo.password
    } else {
      ;({ environment, baseUrl } = resolveEnvironment(input.environment))
    }
    if (!clientId)
      throw new VkError('usage', 'The profile needs a client id: pass --client-id (the application id Stellantis gave you).', { field: 'clientId' })
    if (!login) throw new VkError('usage', 'The profile needs the MZP login: pass --login (for example MZP123456).', { field: 'login' })
    const found = this.profiles.list().find((p) => p.name === input.name)
    // Another environment (a custom profile moved to another server stays custom: the password rule below guards that).
    const replaced = found !== undefined && found.environment !== environment
    if (replaced && !input.replace) throw environmentChangeError(found, environment, baseUrl)
    // Replaced: a fresh profile, nothing of the other environment's (certificate, key, password, CA, settings) is kept.
    const existing = replaced ? undefined : found
    const moved = existing !== undefined && new URL(existing.baseUrl).origin !== new URL(baseUrl).origin
    if (moved && password === undefined) {
      // The password and the client certificate would otherwise go to a host they were never meant for.
      throw new VkError(
        'config.profile',
        `Profile "${input.name}" would move from ${new URL(existing.baseUrl).origin} to ${new URL(baseUrl).origin}: give the password again (--password-stdin, or in Settings) to confirm.`,
        { field: 'password' },
      )
    }
    if (caPem !== undefined) caPem = certificatesOnly(caPem, 'the CA certificate')
    const time = this.now().toISOString()
    const profile: Profile = {
      name: input.name,
      environment,
      baseUrl,
      clientId,
      login,
      // A CA belongs to the host it verifies: a profile that moves does not keep it.
      ...(caPem ? { caPem } : existing?.caPem && !moved ? { caPem: existing.caPem } : {}),
      ...(input.requestTimeoutSeconds !== undefined
        ? { requestTimeoutSeconds: input.requestTimeoutSeconds }
        : existing?.requestTimeoutSeconds !== undefined
          ? { requestTimeoutSeconds: existing.requestTimeoutSeconds }
          : {}),
      createdAt: existing?.createdAt ?? time,
      updatedAt: time,
    }
    if (replaced) await (await this.vault()).deleteProfileSecrets(profile.name)
    this.profiles.save(profile, { makeDefault: input.makeDefault ?? this.profiles.list().length === 0 })
    if (password !== undefined) {
      const vault = await this.vault()
      const secrets = (await vault.loadProfileSecrets(profile.name)) ?? {}
      await vault.saveProfileSecrets(profile.name, { ...secrets, password })
    }
    await this.dropClient(profile.name)
    return profile
  }

  async removeProfile(name: string): Promise<boolean> {
    this.profiles.get(name)
    this.profiles.remove(name)
    await (await this.vault()).deleteProfileSecrets(name)
    await this.dropClient(name)
    return true
  }

  profile(name?: string): Profile {
    return name ? this.profiles.get(name) : this.profiles.getDefault()
  }

  async summary(profile: Profile): Promise<ProfileSummary> {
    const secrets = await (await this.vault()).loadProfileSecrets(profile.name)
    const defaultName = safeDefaultName(this.profiles)
    return {
      ...profile,
      hasPassword: Boolean(secrets?.password),
      isDefault: defaultName === profile.name,
      certificate: secrets?.certPem ? certificateFacts(secrets.certPem, this.now()) : null,
    }
  }

  async setCa(profileName: string, caPem: string): Promise<Profile> {
    caPem = certificatesOnly(caPem, 'the CA certificate')
    certificateFacts(caPem, this.now())
    const profile = this.profiles.get(profileName)
    const updated = { ...profile, caPem, updatedAt: this.now().toISOString() }
    this.profiles.save(updated, {})
    await this.dropClient(profileName)
    return updated
  }

  // ---- certificates ------------------------------------------------------------------

  /** Imports a PKCS#12 or PEM certificate with its key into the profile's sealed secrets. */
  async importCertificate(profileName: string | undefined, input: Parameters<typeof importPartnerCredentials>[0]): Promise<CertificateFacts> {
    const profile = this.profile(profileName)
    const vault = await this.vault()
    const secrets = (await vault.loadProfileSecrets(profile.name)) ?? {}
    // A certificate with no key beside it is the answer to a request VK Depot made: it is
    // matched to the pending key (cert-request.ts), which it consumes.
    const signedOnly = input.key ? undefined : certificatesOnlyIn(input.file)
    const answer = signedOnly
      ? acceptSignedCertificate(signedOnly, {
          fileName: input.file.name,
          profileName: profile.name,
          login: profile.login,
          pending: secrets.pendingRequests ?? [],
          now: this.now(),
          current: secrets,
        })
      : undefined
    const imported = answer?.credentials ?? importPartnerCredentials(input)
    const pendingRequests = answer ? answer.remaining : secrets.pendingRequests
    await vault.saveProfileSecrets(profile.name, {
      ...secrets,
      certPem: imported.certPem,
      keyPem: imported.keyPem,
      chainPems: imported.chainPems,
      pendingRequests,
    })
    this.touchProfile(profile)
    await this.dropClient(profile.name)
    return certificateFacts(imported.certPem, this.now())
  }

  /** Imports the registered simulator's demo partner certificate (.p12) into a profile. */
  async importSimulatorCertificate(profileName: string): Promise<CertificateFacts> {
    const { dir } = await this.registeredSimulator()
    const files = simulatorFiles(dir)
    const demo = await readDemoCredentials(dir)
    const bytes = await readFile(files.partnerP12)
    try {
      return await this.importCertificate(profileName, { file: { name: basename(files.partnerP12), bytes }, passphrase: demo.p12Passphrase })
    } finally {
      bytes.fill(0)
    }
  }

  async certificate(profileName?: string): Promise<CertificateFacts | null> {
    const profile = this.profile(profileName)
    const secrets = await (await this.vault()).loadProfileSecrets(profile.name)
    return secrets?.certPem ? certificateFacts(secrets.certPem, this.now()) : null
  }

  // ---- PSA client --------------------------------------------------------------------

  /**
   * The client for a profile, after the pre-flight check: an expired or not-yet-valid
   * certificate, or a key that does not match it, stops here with no request sent.
   */
  async client(profileName?: string): Promise<{ client: PsaClient; profile: Profile }> {
    const profile = this.profile(profileName)
    const nowMs = this.now().getTime()
    // A profile's updatedAt changes whenever its settings, password or certificate do (in
    // any process), so a cached client is still right while it matches and the certificate
    // is inside its validity; the full check runs again otherwise.
    const cached = this.clients.get(profile.name)
    if (cached && cached.profileVersion === profile.updatedAt && nowMs >= cached.notBefore && nowMs <= cached.notAfter)
      return { client: cached.client, profile }
    const secrets = await (await this.vault()).loadProfileSecrets(profile.name)
    if (!secrets?.certPem || !secrets.keyPem) {
      throw new VkError(
        'config.no-certificate',
        `Profile "${profile.name}" has no partner certificate yet. Import it with \`vkey cert import FILE --profile "${profile.name}"\` or in Settings.`,
        { field: 'certificate' },
      )
    }
    if (!secrets.password) {
      throw new VkError(
        'config.profile',
        `Profile "${profile.name}" has no password. Set it again with \`vkey profile add "${profile.name}" … --password-stdin\` or in Settings.`,
        { field: 'password' },
      )
    }
    const facts = preflight({ certPem: secrets.certPem, keyPem: secrets.keyPem }, this.now(), profile.name)
    if (cached) await cached.client.close()
    const credentials: PartnerCredentials = {
      baseUrl: profile.baseUrl,
      clientId: profile.clientId,
      login: profile.login,
      password: secrets.password,
      certPem: secrets.certPem,
      keyPem: secrets.keyPem,
      ...(secrets.chainPems ? { chainPems: secrets.chainPems } : {}),
      ...(profile.caPem ? { caPem: profile.caPem } : {}),
    }
    // Enough connections for the largest batch concurrency, so workers never queue behind each other.
    const deadline = profile.requestTimeoutSeconds !== undefined ? { requestTimeoutMs: profile.requestTimeoutSeconds * 1000 } : {}
    const client = new PsaClient(credentials, { connections: 16, now: this.now, ...deadline, ...this.options.clientOptions })
    this.clients.set(profile.name, { client, profileVersion: profile.updatedAt, notBefore: Date.parse(facts.notBefore), notAfter: Date.parse(facts.notAfter) })
    return { client, profile }
  }

  /** Marks a profile changed, so every process drops the client it built from the old secrets. */
  private touchProfile(profile: Profile): void {
    this.profiles.save({ ...profile, updatedAt: new Date(Math.max(this.now().getTime(), Date.parse(profile.updatedAt) + 1)).toISOString() }, {})
  }

  private async dropClient(name: string): Promise<void> {
    const cached = this.clients.get(name)
    this.clients.delete(name)
    if (cached) await cached.client.close()
  }

  // ---- vehicles and tokens -----------------------------------------------------------

  /** Stores every vehicle an import accepted as a draft handover. */
  async addVehicles(result: ImportResult, options: { profile?: string } = {}): Promise<HandoverRecord[]> {
    const store = await this.handovers()
    const who = technician() // once, not per vehicle: it reads the user database
    return store.add(
      result.vehicles.map((vehicle) => ({
        ...(vehicle.vin ? { vin: vehicle.vin } : {}),
        ...(vehicle.uin ? { uin: vehicle.uin } : {}),
        ...(vehicle.label ? { label: vehicle.label } : {}),
        source: vehicle.source,
        carData: vehicle.carData,
        carDataSignature: vehicle.carDataSignature,
        ...(options.profile ? { profile: options.profile } : {}),
        technician: who,
      })),
    )
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

  /** Stops all sending once the ledger could not be written: a key PSA issues must be recorded. */
  assertCanRecord(): void {
    if (this.storageFailure) throw this.storageFailure
  }

  /** Remembers that the ledger cannot be written and says what was lost. */
  recordingFailed(error: unknown, what: string): VkError {
    const cause = error instanceof VkError ? error : new VkError('storage.write', `Cannot write the ledger in ${this.dataDir}.`, { file: this.dataDir })
    if (!cause.code.startsWith('storage.')) return cause
    this.storageFailure ??= new VkError(cause.code, `Stopped sending: ${cause.message}`, cause.details)
    return new VkError(cause.code, `${what}: ${cause.message} No further request is sent.`, cause.details)
  }

  /**
   * Sends every queued request once; those that still cannot reach the network stay
   * queued. One flush at a time in this process; each record is claimed (queued → draft)
   * before it is sent and the vehicle is claimed like any request, so a flush in another
   * process (the app and `vkey queue`) cannot send it a second time. A queued request
   * made with `--qr` gets its QR file written when its key arrives.
   */
  flushQueue(options: { signal?: AbortSignal } = {}): Promise<FlushResult> {
    this.flushing ??= this.flushQueueOnce(options).finally(() => {
      this.flushing = undefined
    })
    return this.flushing
  }

  private async flushQueueOnce(options: { signal?: AbortSignal }): Promise<FlushResult> {
    const store = await this.handovers()
    const queued = (await store.list()).filter((r) => r.status === 'queued' && r.plan).reverse()
    const result: FlushResult = { sent: 0, stillQueued: 0, failed: 0, failures: [], keys: [], qrErrors: [] }
    for (const record of queued) {
      if (!(await store.claimQueued(record.id))) continue
      try {
        const key = await this.requestToken(record.id, record.plan!, { ...options, ...(record.profile ? { profile: record.profile } : {}) })
        result.sent += 1
        result.keys.push(key)
        if (record.deliverQr) await this.deliverQr(key.record, record.deliverQr, result)
      } catch (error) {
        const view = toErrorView(error)
        if (view.code.startsWith('storage.')) throw error
        if (isNetworkUnreachable(view)) {
          result.stillQueued += 1
        } else {
          result.failed += 1
          result.failures.push({ id: record.id, ...(record.vin ? { vin: record.vin } : {}), code: view.code, message: view.message })
          // Refused before it was sent (expired certificate, window passed, profile gone):
          // keep it visible as failed with the real reason, not as a silent draft.
          await store.update(record.id, (r) => {
            if (r.status !== 'draft') return
            r.status = 'failed'
            r.error = storedError(view)
          })
        }
      }
    }
    return result
  }

  /** Removes a request from the offline queue (nothing was sent for it); false if it is not queued. */
  async cancelQueued(id: string): Promise<boolean> {
    const store = await this.handovers()
    return store.write(() => {
      const record = store.find(id)
      if (!record || record.status !== 'queued') return false
      store.updateSync(id, (r) => {
        r.status = 'draft'
        delete r.error
        delete r.deliverQr
      })
      return true
    })
  }

  private async deliverQr(record: HandoverRecord, path: string, result: FlushResult): Promise<void> {
    try {
      const store = await this.handovers()
      await writeHandoverQr(path, handoverPayloadOf(record, store.tokenOf(record)!))
    } catch (error) {
      result.qrErrors.push({ id: record.id, path, message: toErrorView(error).message })
    }
  }

  async close(): Promise<void> {
    this.fleetGates.close()
    this.handoverStore?.close()
    this.handoverStore = undefined
    const clients = [...this.clients.values()]
    this.clients.clear()
    await Promise.all(clients.map((c) => c.client.close()))
  }
}

function environmentChangeError(existing: Profile, environment: Profile['environment'], baseUrl: string): VkError {
  return new VkError(
    'usage',
    `Profile "${existing.name}" is a ${existing.environment} profile (${new URL(existing.baseUrl).origin}); it would become ${environment} (${new URL(baseUrl).origin}) while keeping the other environment's certificate. Add the new one under another name, or replace this profile with --replace (in the app: confirm the replacement), which removes its certificate and password.`,
    { field: '--replace' },
  )
}

function safeDefaultName(profiles: ProfileStore): string | undefined {
  try {
    return profiles.getDefault().name
  } catch {
    return undefined
  }
}

async function readDemoCredentials(dir: string): Promise<{ login: string; password: string; clientId: string; p12Passphrase: string }> {
  const file = simulatorFiles(dir).credentials
  try {
    return JSON.parse(await readFile(file, 'utf8')) as { login: string; password: string; clientId: string; p12Passphrase: string }
  } catch {
    throw new VkError(
      'config.profile',
      `Cannot read the simulator's demo credentials in ${file}. Start the simulator once with \`vkey simulator --dir ${dir}\`.`,
      { file },
    )
  }
}
