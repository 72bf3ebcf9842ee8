/**
 * The depot: one object that ties profiles, the vault, the PSA client and the handover
 * records together. The desktop app's IPC handlers and the `vkey` CLI both drive this,
 * so a token issued from either goes through exactly the same steps.
 */
import { readFile } from 'node:fs/promises'
import { userInfo } from 'node:os'
import { basename, join } from 'node:path'
import { VkError, toErrorView, type RateLimitInfo } from '../../shared/errors'
import { MAX_DURATION_SECONDS, secondsUntil } from '../../shared/duration'
import type { ImportResult } from '../../shared/cardata'
import { validateVin } from '../../shared/vin'
import type { KeyValueStore } from './app-deps'
import { acceptSignedCertificate, certificatesOnlyIn } from './cert-request'
import { certificateFacts, importPartnerCredentials, preflight, type CertificateFacts } from './certificates'
import { HandoverStore, hasValidToken, storedError, type DurationPlan, type HandoverRecord, type StoredToken } from './handovers'
import { keytarStore, type SecretStore } from './keychain'
import { ProfileStore, resolveEnvironment, type Profile } from './profiles'
import { PsaClient, type PartnerCredentials, type TokenResult } from './psa-client'
import { ensurePrivateFolder, sweepTemporaryFiles, writeFileAtomic } from './secure-files'
import { simulatorFiles } from './simulator/material'
import { Vault } from './vault'

export interface RequestOptions {
  signal?: AbortSignal
  profile?: string
  batchId?: string
  onRateLimit?: (info: RateLimitInfo) => void
  /** Called once PSA has answered (or the request failed), before the answer is stored. */
  onAnswered?: () => void
}

export interface DepotOptions {
  dataDir: string
  store: KeyValueStore
  secretStore?: SecretStore
  now?: () => Date
  /** Options for every PSA client this depot creates (timeouts, retry pacing). */
  clientOptions?: ConstructorParameters<typeof PsaClient>[1]
}

export interface ProfileInput {
  name: string
  /** preprod | prod | simulator | an https base URI of the documented form. */
  environment: string
  clientId?: string
  login?: string
  password?: string
  caPem?: string
  makeDefault?: boolean
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
  private readonly sending = new Set<string>()
  private flushing: Promise<{ sent: number; stillQueued: number; failed: number }> | undefined
  private handoverStore: HandoverStore | undefined
  private readonly clients = new Map<string, { client: PsaClient; profileVersion: string; notBefore: number; notAfter: number }>()
  readonly now: () => Date
  readonly secretStore: SecretStore

  private constructor(readonly options: DepotOptions) {
    this.profiles = new ProfileStore(options.store)
    this.now = options.now ?? (() => new Date())
    this.secretStore = options.secretStore ?? keytarStore()
  }

  /** Opens (and creates, 0700) the data folder and sweeps temp files a killed process left. */
  static async open(options: DepotOptions): Promise<Depot> {
    await ensurePrivateFolder(options.dataDir)
    await sweepTemporaryFiles(options.dataDir)
    return new Depot(options)
  }

  get dataDir(): string {
    return this.options.dataDir
  }

  /** The vault opens on first use, so commands that need no secret work without a keychain. */
  vault(): Promise<Vault> {
    this.vaultPromise ??= Vault.open(this.dataDir, this.secretStore, { create: true })
    this.vaultPromise.catch(() => {
      this.vaultPromise = undefined
    })
    return this.vaultPromise
  }

  async handovers(): Promise<HandoverStore> {
    this.handoverStore ??= new HandoverStore(this.dataDir, await this.vault(), this.now)
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
    throw new VkError('config.profile', 'No simulator is registered in this data folder. Start one first with `vkey simulator` (same VKEY_HOME), then add the profile again.', { field: '--env' })
  }

  // ---- profiles ----------------------------------------------------------------------

  /** Adds or replaces a profile; the password goes to the vault, never to the store. */
  async saveProfile(input: ProfileInput): Promise<Profile> {
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
    if (!clientId) throw new VkError('usage', 'The profile needs a client id: pass --client-id (the application id Stellantis gave you).', { field: 'clientId' })
    if (!login) throw new VkError('usage', 'The profile needs the MZP login: pass --login (for example MZP123456).', { field: 'login' })
    const existing = this.profiles.list().find((p) => p.name === input.name)
    const moved = existing !== undefined && new URL(existing.baseUrl).origin !== new URL(baseUrl).origin
    if (moved && password === undefined) {
      // The password and the client certificate would otherwise go to a host they were never meant for.
      throw new VkError('config.profile', `Profile "${input.name}" would move from ${new URL(existing.baseUrl).origin} to ${new URL(baseUrl).origin}: give the password again (--password-stdin, or in Settings) to confirm.`, { field: 'password' })
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
      createdAt: existing?.createdAt ?? time,
      updatedAt: time,
    }
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
  async importCertificate(
    profileName: string | undefined,
    input: Parameters<typeof importPartnerCredentials>[0],
  ): Promise<CertificateFacts> {
    const profile = this.profile(profileName)
    const vault = await this.vault()
    const secrets = (await vault.loadProfileSecrets(profile.name)) ?? {}
    // A certificate with no key beside it is the answer to a request VK Depot made: it is
    // matched to the pending key (cert-request.ts), which it consumes.
    const signedOnly = input.key ? undefined : certificatesOnlyIn(input.file)
    const answer = signedOnly
      ? acceptSignedCertificate(signedOnly, { fileName: input.file.name, profileName: profile.name, login: profile.login, pending: secrets.pendingRequests ?? [], now: this.now(), current: secrets })
      : undefined
    const imported = answer?.credentials ?? importPartnerCredentials(input)
    const pendingRequests = answer ? answer.remaining : secrets.pendingRequests
    await vault.saveProfileSecrets(profile.name, { ...secrets, certPem: imported.certPem, keyPem: imported.keyPem, chainPems: imported.chainPems, pendingRequests })
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
    if (cached && cached.profileVersion === profile.updatedAt && nowMs >= cached.notBefore && nowMs <= cached.notAfter) return { client: cached.client, profile }
    const secrets = await (await this.vault()).loadProfileSecrets(profile.name)
    if (!secrets?.certPem || !secrets.keyPem) {
      throw new VkError('config.no-certificate', `Profile "${profile.name}" has no partner certificate yet. Import it with \`vkey cert import FILE --profile "${profile.name}"\` or in Settings.`, { field: 'certificate' })
    }
    if (!secrets.password) {
      throw new VkError('config.profile', `Profile "${profile.name}" has no password. Set it again with \`vkey profile add "${profile.name}" … --password-stdin\` or in Settings.`, { field: 'password' })
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
    const client = new PsaClient(credentials, { connections: 16, ...this.options.clientOptions })
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
    return store.add(
      result.vehicles.map((vehicle) => ({
        ...(vehicle.vin ? { vin: vehicle.vin } : {}),
        ...(vehicle.uin ? { uin: vehicle.uin } : {}),
        ...(vehicle.label ? { label: vehicle.label } : {}),
        source: vehicle.source,
        carData: vehicle.carData,
        carDataSignature: vehicle.carDataSignature,
        ...(options.profile ? { profile: options.profile } : {}),
        technician: technician(),
      })),
    )
  }

  async setVin(id: string, vin: string | undefined, label?: string): Promise<HandoverRecord> {
    const store = await this.handovers()
    const checked = vin === undefined || vin === '' ? undefined : validateVin(vin, { field: 'vin' })
    return store.update(id, (record) => {
      if (checked) record.vin = checked
      if (label !== undefined) {
        if (label) record.label = label
        else delete record.label
      }
    })
  }

  /** Seconds to ask for, computed when the request goes out so the token covers the plan. */
  durationFor(plan: DurationPlan): { seconds: number; plannedStart?: string; plannedEnd: string } {
    const now = this.now()
    const capped = (seconds: number): number => {
      if (!Number.isInteger(seconds) || seconds <= 0) throw new VkError('input.duration', 'The duration must be a whole, positive number of seconds.', { field: 'duration' })
      if (seconds > MAX_DURATION_SECONDS) throw new VkError('input.duration', `A token may last at most ${MAX_DURATION_SECONDS / 86_400} days from now; this plan needs ${Math.ceil(seconds / 86_400)}. Choose a shorter validity or a nearer handover.`, { field: 'duration' })
      return seconds
    }
    if (plan.kind === 'seconds') return { seconds: capped(plan.seconds), plannedEnd: new Date(now.getTime() + plan.seconds * 1000).toISOString() }
    if (plan.kind === 'until') {
      const seconds = capped(secondsUntil(plan.until, now))
      return { seconds, plannedEnd: new Date(now.getTime() + seconds * 1000).toISOString() }
    }
    // As for --until: a time without a zone would be read in this computer's zone, silently.
    const start = /(Z|[+-]\d\d:?\d\d)$/i.test(plan.start.trim()) ? Date.parse(plan.start) : Number.NaN
    if (!Number.isFinite(start)) throw new VkError('input.duration', `The planned handover time "${plan.start}" must be an ISO-8601 date with a time zone (Z or +01:00).`, { field: 'start' })
    const end = start + plan.seconds * 1000
    const seconds = Math.ceil((end - now.getTime()) / 1000)
    if (seconds > 0) capped(seconds)
    if (seconds <= 0) throw new VkError('input.duration', 'The planned window has already ended. Choose a later handover time.', { field: 'start' })
    return { seconds, plannedStart: new Date(start).toISOString(), plannedEnd: new Date(end).toISOString() }
  }

  /**
   * Requests the token for one handover and stores it sealed. A network that cannot be
   * reached leaves the handover queued (sent later, once); a PSA refusal marks it failed
   * with the reason; a cancel puts it back to draft.
   */
  async requestToken(id: string, plan: DurationPlan, options: RequestOptions = {}): Promise<HandoverRecord> {
    // One request per handover at a time in this process: the queue timer, "Send now", a
    // batch and a manual request can all reach the same vehicle.
    if (this.sending.has(id)) throw new VkError('usage', 'A token is already being requested for this vehicle: wait for that request to finish.', { field: 'id' })
    this.sending.add(id)
    try {
      return await this.sendRequest(id, plan, options)
    } finally {
      this.sending.delete(id)
    }
  }

  private async sendRequest(id: string, plan: DurationPlan, options: RequestOptions): Promise<HandoverRecord> {
    const store = await this.handovers()
    const record = await store.get(id)
    if (record.status === 'issued' && hasValidToken(record, this.now()) && options.batchId) {
      return record // resumed batch: this vehicle already has its token
    }
    const profileName = options.profile ?? record.profile
    const { client, profile } = await this.client(profileName)
    const { seconds, plannedStart, plannedEnd } = this.durationFor(plan)
    const carData = store.carDataOf(record)
    const requestedAt = this.now().toISOString()
    // Written once, with the outcome: a crash before it leaves the record as it was
    // (a draft is simply requested again when the batch resumes).
    const stamp = (r: HandoverRecord): void => {
      r.plan = plan
      r.profile = profile.name
      r.durationSeconds = seconds
      r.requestedAt = requestedAt
      if (plannedStart) r.plannedStart = plannedStart
      else delete r.plannedStart
      r.plannedEnd = plannedEnd
      if (options.batchId) r.batchId = options.batchId
    }
    let result: TokenResult
    try {
      result = await client.requestToken({ carData: carData.carData, carDataSignature: carData.carDataSignature, durationSeconds: seconds }, options.signal ? { signal: options.signal } : {})
    } catch (error) {
      options.onAnswered?.()
      const view = toErrorView(error)
      if (view.details.rateLimit) options.onRateLimit?.(view.details.rateLimit)
      await store.update(id, (r) => {
        stamp(r)
        if (view.code === 'cancelled') {
          r.status = r.sealedToken ? r.status : 'draft'
          // A cancel may come after PSA received the request: say so, do not pretend nothing happened.
          r.error = storedError({ ...view, message: 'Cancelled. If PSA had already received the request, a token may have been issued; it was not stored.' })
        } else if (view.code === 'network.unreachable') {
          r.status = 'queued'
          r.error = storedError(view)
        } else if (!r.sealedToken) {
          r.status = 'failed'
          r.error = storedError(view)
        }
      })
      throw error
    }
    options.onAnswered?.()
    options.onRateLimit?.(result.rateLimit)
    const token: StoredToken = { accessToken: result.accessToken, tokenType: result.tokenType, expiresIn: result.expiresIn, tokenSignature: result.tokenSignature }
    return store.update(id, (r) => {
      stamp(r)
      r.status = 'issued'
      r.sealedToken = store.sealToken(id, token)
      r.expires = result.expires
      r.issuedAt = result.receivedAt
      delete r.error
    })
  }

  /**
   * Sends every queued request once; those that still cannot reach the network stay
   * queued. One flush at a time in this process, and each record is claimed under the
   * store's lock (queued → draft) before it is sent, so a flush in another process (the
   * app and `vkey queue`) cannot send it a second time.
   */
  flushQueue(options: { signal?: AbortSignal } = {}): Promise<{ sent: number; stillQueued: number; failed: number }> {
    this.flushing ??= this.flushQueueOnce(options).finally(() => {
      this.flushing = undefined
    })
    return this.flushing
  }

  private async flushQueueOnce(options: { signal?: AbortSignal }): Promise<{ sent: number; stillQueued: number; failed: number }> {
    const store = await this.handovers()
    const queued = (await store.list()).filter((r) => r.status === 'queued' && r.plan)
    let sent = 0
    let stillQueued = 0
    let failed = 0
    for (const record of queued) {
      const claimed = await store.claimQueued(record.id)
      if (!claimed) continue
      try {
        await this.requestToken(record.id, record.plan as DurationPlan, { ...options, ...(record.profile ? { profile: record.profile } : {}) })
        sent += 1
      } catch (error) {
        const view = toErrorView(error)
        if (view.code === 'network.unreachable') {
          stillQueued += 1
        } else {
          failed += 1
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
    return { sent, stillQueued, failed }
  }

  async close(): Promise<void> {
    const clients = [...this.clients.values()]
    this.clients.clear()
    await Promise.all(clients.map((c) => c.client.close()))
  }
}

/**
 * Keeps only the CERTIFICATE blocks of a PEM file meant as a CA, and refuses one that holds
 * a private key: profiles (and their CA) live in the settings file, which is not sealed.
 */
export function certificatesOnly(pem: string, what: string): string {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new VkError('config.certificate-format', `The file given as ${what} also holds a private key. Give a file with the CA certificate only (never a key): the key would be stored unencrypted.`, { field: 'ca' })
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g)
  if (!blocks) {
    throw new VkError('config.certificate-format', `The file given as ${what} is not a PEM certificate. Use the Stellantis CA certificate (.pem/.crt) you received with your partner certificate.`, { field: 'ca' })
  }
  return `${blocks.join('\n')}\n`
}

/** The OS user name, for the audit trail. */
export function technician(): string {
  try {
    return userInfo().username
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'unknown'
  }
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
    throw new VkError('config.profile', `Cannot read the simulator's demo credentials in ${file}. Start the simulator once with \`vkey simulator --dir ${dir}\`.`, { file })
  }
}
