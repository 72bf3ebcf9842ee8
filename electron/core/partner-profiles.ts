/**
 * Partner profiles as a person manages them (`vkey profile …`, `vkey cert import`, Settings):
 * the settings in the profile store, the password and certificate sealed in the vault, and
 * the profile's PSA client dropped whenever either changes.
 */
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { VkError } from '../../shared/errors'
import { certificatesOnly } from './ca-pem'
import { acceptSignedCertificate, certificatesOnlyIn } from './cert-request'
import { certificateFacts, type CertificateFacts } from './certificates'
import type { ImportOptions } from './credential-import'
import { resolveEnvironment, type Profile, type ProfileStore } from './profiles'
import type { PsaClients } from './psa-clients'
import { readDemoCredentials, registeredSimulator } from './simulator-registration'
import { simulatorFiles } from './simulator/files'
import type { Vault } from './vault'

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

export class PartnerProfiles {
  constructor(
    private readonly deps: {
      dataDir: string
      profiles: ProfileStore
      vault: () => Promise<Vault>
      clients: Pick<PsaClients, 'drop'>
      now: () => Date
    },
  ) {}

  /** Adds or replaces a profile; the password goes to the vault, never to the store. */
  async save(input: SaveProfileInput): Promise<Profile> {
    const { profiles } = this.deps
    let environment: Profile['environment']
    let baseUrl: string
    let caPem = input.caPem
    let { clientId, login, password } = input
    if (input.environment === 'simulator') {
      const simulator = await registeredSimulator(this.deps.dataDir)
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
    const found = profiles.list().find((p) => p.name === input.name)
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
    const time = this.deps.now().toISOString()
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
    if (replaced) await (await this.deps.vault()).deleteProfileSecrets(profile.name)
    profiles.save(profile, { makeDefault: input.makeDefault ?? profiles.list().length === 0 })
    if (password !== undefined) {
      const vault = await this.deps.vault()
      const secrets = (await vault.loadProfileSecrets(profile.name)) ?? {}
      await vault.saveProfileSecrets(profile.name, { ...secrets, password })
    }
    await this.deps.clients.drop(profile.name)
    return profile
  }

  async remove(name: string): Promise<boolean> {
    this.deps.profiles.get(name)
    this.deps.profiles.remove(name)
    await (await this.deps.vault()).deleteProfileSecrets(name)
    await this.deps.clients.drop(name)
    return true
  }

  async summary(profile: Profile): Promise<ProfileSummary> {
    const secrets = await (await this.deps.vault()).loadProfileSecrets(profile.name)
    const defaultName = safeDefaultName(this.deps.profiles)
    return {
      ...profile,
      hasPassword: Boolean(secrets?.password),
      isDefault: defaultName === profile.name,
      certificate: secrets?.certPem ? certificateFacts(secrets.certPem, this.deps.now()) : null,
    }
  }

  async setCa(profileName: string, caPem: string): Promise<Profile> {
    caPem = certificatesOnly(caPem, 'the CA certificate')
    certificateFacts(caPem, this.deps.now())
    const profile = this.deps.profiles.get(profileName)
    const updated = { ...profile, caPem, updatedAt: this.deps.now().toISOString() }
    this.deps.profiles.save(updated, {})
    await this.deps.clients.drop(profileName)
    return updated
  }

  /** Imports a PKCS#12 or PEM certificate with its key into the profile's sealed secrets. */
  async importCertificate(profileName: string | undefined, input: ImportOptions): Promise<CertificateFacts> {
    const profile = this.deps.profiles.resolve(profileName)
    const vault = await this.deps.vault()
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
          now: this.deps.now(),
          current: secrets,
        })
      : undefined
    // node-forge (PKCS#12) is loaded only for an import, not at every start.
    const imported = answer?.credentials ?? (await import('./credential-import')).importPartnerCredentials(input)
    const pendingRequests = answer ? answer.remaining : secrets.pendingRequests
    await vault.saveProfileSecrets(profile.name, {
      ...secrets,
      certPem: imported.certPem,
      keyPem: imported.keyPem,
      chainPems: imported.chainPems,
      pendingRequests,
    })
    this.touch(profile)
    await this.deps.clients.drop(profile.name)
    return certificateFacts(imported.certPem, this.deps.now())
  }

  /** Imports the registered simulator's demo partner certificate (.p12) into a profile. */
  async importSimulatorCertificate(profileName: string): Promise<CertificateFacts> {
    const { dir } = await registeredSimulator(this.deps.dataDir)
    const files = simulatorFiles(dir)
    const demo = await readDemoCredentials(dir)
    const bytes = await readFile(files.partnerP12)
    try {
      return await this.importCertificate(profileName, { file: { name: basename(files.partnerP12), bytes }, passphrase: demo.p12Passphrase })
    } finally {
      bytes.fill(0)
    }
  }

  /** Marks a profile changed, so every process drops the client it built from the old secrets. */
  private touch(profile: Profile): void {
    const updatedAt = new Date(Math.max(this.deps.now().getTime(), Date.parse(profile.updatedAt) + 1)).toISOString()
    this.deps.profiles.save({ ...profile, updatedAt }, {})
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
