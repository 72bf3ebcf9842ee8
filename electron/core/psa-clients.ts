/**
 * The PSA client of each profile, built from its sealed secrets after the pre-flight check
 * and kept while the profile and its certificate stay as they were.
 */
import { VkError } from '../../shared/errors'
import { preflight } from './certificates'
import type { Profile, ProfileStore } from './profiles'
import { PsaClient, type PartnerCredentials } from './psa-client'
import { movedSimulatorUrl } from './simulator-registration'
import type { Vault } from './vault'

export type PsaClientOptions = ConstructorParameters<typeof PsaClient>[1]

interface CachedClient {
  client: PsaClient
  profileVersion: string
  notBefore: number
  notAfter: number
}

export class PsaClients {
  private readonly clients = new Map<string, CachedClient>()

  constructor(
    private readonly deps: {
      profiles: ProfileStore
      vault: () => Promise<Vault>
      now: () => Date
      /** The data folder: a simulator profile follows its simulator when it restarts on another port (simulator.json). */
      dataDir?: string
      /** Options for every client (timeouts, retry pacing). */
      clientOptions?: PsaClientOptions
    },
  ) {}

  /**
   * A simulator profile whose simulator restarted elsewhere (same CA) is pointed at it, and saved
   * so. Checked when a client is built, not on every request (it reads simulator.json and the CA):
   * the save is a new profile version, so every process with a cached client builds it again.
   */
  private async followSimulator(profile: Profile): Promise<Profile> {
    const baseUrl = this.deps.dataDir && (await movedSimulatorUrl(this.deps.dataDir, profile))
    return baseUrl ? this.deps.profiles.save({ ...profile, baseUrl }, {}) : profile
  }

  /**
   * The client for a profile (the default one without a name), after the pre-flight check:
   * an expired or not-yet-valid certificate, or a key that does not match it, stops here
   * with no request sent.
   */
  async forProfile(profileName?: string): Promise<{ client: PsaClient; profile: Profile }> {
    const resolved = this.deps.profiles.resolve(profileName)
    const nowMs = this.deps.now().getTime()
    // A profile's updatedAt changes whenever its settings, password or certificate do (in
    // any process), so a cached client is still right while it matches and the certificate
    // is inside its validity; the full check runs again otherwise.
    const cached = this.clients.get(resolved.name)
    if (cached && cached.profileVersion === resolved.updatedAt && nowMs >= cached.notBefore && nowMs <= cached.notAfter)
      return { client: cached.client, profile: resolved }
    const profile = await this.followSimulator(resolved)
    const secrets = await (await this.deps.vault()).loadProfileSecrets(profile.name)
    if (!secrets?.certPem || !secrets.keyPem) {
      throw new VkError(
        'config.no-certificate',
        profile.environment === 'simulator'
          ? `Profile "${profile.name}" has lost the simulator's demo certificate (a vault reset drops it). With the simulator running, \`vkey profile add "${profile.name}" --env simulator\` imports it again (in the app: remove the profile in Settings, then choose Try the simulator).`
          : `Profile "${profile.name}" has no partner certificate yet. Import it with \`vkey cert import FILE --profile "${profile.name}"\` or in Settings.`,
        { field: 'certificate' },
      )
    }
    if (!secrets.password) {
      throw new VkError(
        'config.profile',
        profile.environment === 'simulator'
          ? `Profile "${profile.name}" has lost the simulator's demo password (a vault reset drops it). With the simulator running, \`vkey profile add "${profile.name}" --env simulator\` sets it again.`
          : `Profile "${profile.name}" has no password. Set it again with \`vkey profile add "${profile.name}" … --password-stdin\` or in Settings.`,
        { field: 'password' },
      )
    }
    const facts = preflight({ certPem: secrets.certPem, keyPem: secrets.keyPem }, this.deps.now(), profile.name)
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
    const client = new PsaClient(credentials, { connections: 16, now: this.deps.now, ...deadline, ...this.deps.clientOptions })
    this.clients.set(profile.name, { client, profileVersion: profile.updatedAt, notBefore: Date.parse(facts.notBefore), notAfter: Date.parse(facts.notAfter) })
    return { client, profile }
  }

  /** Closes a profile's client after its settings or secrets changed. */
  async drop(profileName: string): Promise<void> {
    const cached = this.clients.get(profileName)
    this.clients.delete(profileName)
    if (cached) await cached.client.close()
  }

  async close(): Promise<void> {
    const clients = [...this.clients.values()]
    this.clients.clear()
    await Promise.all(clients.map((c) => c.client.close()))
  }
}
