import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { constants as fsConstants } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import * as z from 'zod'
import { VkError } from '../../shared/errors'
import type { SecretStore } from './keychain'
import { rememberedVaultId, safeJson } from './ledger-db'
import { ensurePrivateFolder, isNotFound, readFileIfExists, TEMP_SUFFIX, writeFileAtomic } from './secure-files'

/** A certificate request VK Depot made: its key (sealed with the rest) and what it asked for. */
const pendingRequestSchema = z.object({
  keyPem: z.string(),
  csrPem: z.string(),
  fields: z.object({ country: z.string(), state: z.string(), locality: z.string(), organization: z.string(), email: z.string() }),
  commonName: z.string(),
  createdAt: z.string(),
  keyFingerprintSha256: z.string(),
})
export type PendingRequest = z.infer<typeof pendingRequestSchema>

/** What a profile keeps secret; sealed as one JSON document. */
const profileSecretsSchema = z.object({
  password: z.string().optional(),
  certPem: z.string().optional(),
  keyPem: z.string().optional(),
  chainPems: z.array(z.string()).optional(),
  /** Keys made for certificate requests still waiting for Stellantis' answer (cert-request.ts), newest first. */
  pendingRequests: z.array(pendingRequestSchema).optional(),
})
export type ProfileSecrets = z.infer<typeof profileSecretsSchema>

const vaultIdSchema = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/)
/** `next`: a rotation in progress (`vkey vault rotate`); both keys open envelopes until it ends. */
const vaultFileSchema = z.object({ version: z.literal(1), vaultId: vaultIdSchema, createdAt: z.string(), next: vaultIdSchema.optional() })
type VaultFile = z.infer<typeof vaultFileSchema>
const sealedFileSchema = z.object({ format: z.literal('vk-depot-sealed'), version: z.literal(1), purpose: z.string(), data: z.string() })

const envelopeVersion = 1
const ivLength = 12
const tagLength = 16
const keyLength = 32

/** The keychain account that holds a vault's key. */
export function vaultKeyAccount(vaultId: string): string {
  return `vault-key:${vaultId}`
}

/** A file name for a profile's secrets: readable, and distinct even on case-insensitive disks. */
export function secretsFileName(profileName: string): string {
  const readable = profileName
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, 40)
  const digest = createHash('sha256').update(profileName, 'utf8').digest('hex').slice(0, 12)
  return `${readable || 'profile'}-${digest}.sealed`
}

/**
 * Secrets at rest: AES-256-GCM with a random 256-bit key that only the OS keychain holds.
 * Only that small key goes to the keychain (Windows' Credential Manager refuses secrets over
 * 2,560 bytes); certificates, keys and passwords are sealed into files in the data folder.
 */
export class Vault {
  readonly dataDir: string
  #vaultId: string
  /** The vault id a rotation moves to, while it runs. */
  #next: string | undefined
  /** Sealing key first; every key here may open an envelope. */
  #keys: Buffer[] | undefined

  private constructor(dataDir: string, vaultId: string, keys: Buffer[], next?: string) {
    this.dataDir = dataDir
    this.#vaultId = vaultId
    this.#keys = keys
    this.#next = next
  }

  get vaultId(): string {
    return this.#vaultId
  }

  /** Path of the file naming this data folder's vault. */
  static fileIn(dataDir: string): string {
    return path.join(dataDir, 'vault.json')
  }

  /** Whether the data folder has a vault yet (does not touch the keychain). */
  static async exists(dataDir: string): Promise<boolean> {
    return (await readFileIfExists(Vault.fileIn(dataDir))) !== undefined
  }

  /**
   * Opens the data folder's vault, creating it (key in the keychain first, then vault.json)
   * unless `create` is false.
   */
  static async open(dataDir: string, store: SecretStore, { create = true }: { create?: boolean } = {}): Promise<Vault> {
    const existing = await readVaultFile(dataDir)
    if (existing) return Vault.#unlock(dataDir, store, existing)
    if (!create) {
      throw new VkError(
        'config.vault',
        `There is no vault in ${dataDir} yet: add a profile first with \`vkey profile add NAME --env …\` (see \`vkey help profile add\`).`,
        {
          file: Vault.fileIn(dataDir),
        },
      )
    }
    // Sealed files with no vault.json: it was lost, not never made. A new vault would leave them unopenable.
    if ((await sealedFiles(dataDir)).length)
      throw new VkError(
        'config.vault-repair',
        `${Vault.fileIn(dataDir)} is missing, though ${path.join(dataDir, 'secrets')} holds sealed files. Run \`vkey vault repair\`: it finds this folder's key in the keychain and writes the file again.`,
        { file: Vault.fileIn(dataDir) },
      )
    await ensurePrivateFolder(dataDir)
    const vaultId = randomBytes(16).toString('base64url')
    const key = randomBytes(keyLength)
    // The key goes to the keychain before vault.json exists: if the keychain fails, nothing is written.
    await store.set(vaultKeyAccount(vaultId), key.toString('base64'))
    const won = await createExclusive(Vault.fileIn(dataDir), `${JSON.stringify({ version: 1, vaultId, createdAt: new Date().toISOString() }, null, 2)}\n`)
    if (won) return new Vault(dataDir, vaultId, [key])
    // Another process created the vault at the same moment: use theirs, drop our key.
    key.fill(0)
    await store.delete(vaultKeyAccount(vaultId)).catch(() => false)
    const theirs = await readVaultFile(dataDir)
    if (!theirs) throw new VkError('config.vault', `${Vault.fileIn(dataDir)} vanished while it was being created: try again.`, { file: Vault.fileIn(dataDir) })
    return Vault.#unlock(dataDir, store, theirs)
  }

  static async #unlock(dataDir: string, store: SecretStore, file: VaultFile): Promise<Vault> {
    const key = await Vault.#readKey(dataDir, store, file.vaultId)
    if (!key) throw vaultKeyLost(dataDir, `keychain entry "${vaultKeyAccount(file.vaultId)}" is gone`)
    // A rotation in progress: its new key seals; both open.
    const next = file.next ? await Vault.#readKey(dataDir, store, file.next) : undefined
    return next && file.next ? new Vault(dataDir, file.vaultId, [next, key], file.next) : new Vault(dataDir, file.vaultId, [key])
  }

  /** The key for a vault id, undefined when the keychain does not have it. */
  static async #readKey(dataDir: string, store: SecretStore, vaultId: string): Promise<Buffer | undefined> {
    const encoded = await store.get(vaultKeyAccount(vaultId))
    if (encoded === null) return undefined
    const key = Buffer.from(encoded, 'base64')
    if (key.length !== keyLength) {
      key.fill(0)
      throw vaultKeyLost(dataDir, `keychain entry "${vaultKeyAccount(vaultId)}" is not a VK Depot vault key`)
    }
    return key
  }

  /**
   * What the data folder's vault looks like, without opening anything sealed: undefined when
   * there is no vault yet; `keyLost` when the keychain no longer has (a usable) key for it.
   */
  static async inspect(dataDir: string, store: SecretStore): Promise<{ vaultId?: string; keyLost: boolean } | undefined> {
    let file: VaultFile | undefined
    try {
      file = await readVaultFile(dataDir)
    } catch (error) {
      if (error instanceof VkError && error.code === 'config.vault-repair') return { keyLost: true } // damaged vault.json
      throw error
    }
    if (!file) return undefined
    try {
      const key = await Vault.#readKey(dataDir, store, file.vaultId)
      key?.fill(0)
      return { vaultId: file.vaultId, keyLost: !key }
    } catch (error) {
      if (error instanceof VkError && error.code === 'config.vault-key-lost') return { vaultId: file.vaultId, keyLost: true }
      throw error
    }
  }

  /**
   * The keychain's vault key that opens this data folder's sealed files, when vault.json (which
   * names it) is damaged or gone: the vault the ledger remembers (ledger-db.ts rememberVault),
   * if the keychain has its key and it opens them. Undefined otherwise, or when there is no
   * sealed file to try it on.
   */
  static async findLostKey(dataDir: string, store: SecretStore): Promise<string | undefined> {
    const vaultId = rememberedVaultId(dataDir)
    if (!vaultId || !vaultIdSchema.safeParse(vaultId).success) return undefined
    const key = await Vault.#readKey(dataDir, store, vaultId).catch(() => undefined)
    if (!key) return undefined
    const sealed: Array<z.infer<typeof sealedFileSchema>> = []
    for (const file of await sealedFiles(dataDir)) {
      const parsed = sealedFileSchema.safeParse(safeJson(await fs.readFile(file, 'utf8').catch(() => '')))
      if (parsed.success) sealed.push(parsed.data)
    }
    const candidate = new Vault(dataDir, vaultId, [key])
    try {
      return sealed.some((file) => opens(candidate, file)) ? vaultId : undefined
    } finally {
      candidate.close()
    }
  }

  /** Writes vault.json again for a key findLostKey found (`vkey vault repair`). */
  static async repair(dataDir: string, store: SecretStore): Promise<string | undefined> {
    const vaultId = await Vault.findLostKey(dataDir, store)
    if (vaultId) await writeVaultFile(dataDir, { version: 1, vaultId, createdAt: new Date().toISOString() })
    return vaultId
  }

  /**
   * A new vault with a new key, stored in the keychain but not yet named by vault.json:
   * `commit()` makes it the data folder's vault (for `vkey vault reset`, which first drops
   * what the old key sealed, so a crash before the commit leaves the old state to reset again).
   */
  static async prepareNew(dataDir: string, store: SecretStore): Promise<{ vault: Vault; commit: () => Promise<void> }> {
    const vaultId = randomBytes(16).toString('base64url')
    const key = randomBytes(keyLength)
    await store.set(vaultKeyAccount(vaultId), key.toString('base64'))
    const vault = new Vault(dataDir, vaultId, [key])
    const commit = async (): Promise<void> => {
      await ensurePrivateFolder(dataDir)
      await writeVaultFile(dataDir, { version: 1, vaultId, createdAt: new Date().toISOString() })
    }
    return { vault, commit }
  }

  /** Step 1 of a rotation: a new key in the keychain, named in vault.json as `next` (sealing from now on). */
  async beginRotation(store: SecretStore): Promise<void> {
    if (this.#next) return // a rotation a crash interrupted: carry on with its key
    const next = randomBytes(16).toString('base64url')
    const key = randomBytes(keyLength)
    await store.set(vaultKeyAccount(next), key.toString('base64'))
    await writeVaultFile(this.dataDir, { version: 1, vaultId: this.#vaultId, next, createdAt: new Date().toISOString() })
    this.#keys = [key, ...this.#requireKeys()]
    this.#next = next
  }

  /** Last step of a rotation, once everything is re-sealed: vault.json names the new key and the old one leaves the keychain. */
  async finishRotation(store: SecretStore): Promise<void> {
    const next = this.#next
    if (!next) throw new VkError('internal', 'No rotation is in progress.')
    const previous = this.#vaultId
    await writeVaultFile(this.dataDir, { version: 1, vaultId: next, createdAt: new Date().toISOString() })
    const [current, ...old] = this.#requireKeys()
    for (const key of old) key.fill(0)
    this.#keys = [current!]
    this.#vaultId = next
    this.#next = undefined
    await store.delete(vaultKeyAccount(previous)).catch(() => false)
  }

  /** Opens an envelope with whichever key sealed it and seals it again with the sealing key. */
  reseal(purpose: string, envelope: string): string {
    const plaintext = this.unseal(purpose, envelope)
    try {
      return this.seal(purpose, plaintext)
    } finally {
      plaintext.fill(0)
    }
  }

  /** Re-seals every profile's secrets file with the sealing key (each file replaced atomically); returns how many. */
  async resealSecretsFiles(): Promise<number> {
    let count = 0
    for (const filePath of await sealedFiles(this.dataDir)) {
      const file = await readSealedFile(filePath, '')
      await writeFileAtomic(filePath, `${JSON.stringify({ ...file, data: this.reseal(file.purpose, file.data) }, null, 2)}\n`)
      count += 1
    }
    return count
  }

  /** Deletes every profile's sealed secrets (after a reset they cannot be opened); returns the profile files removed. */
  static async dropSecretsFiles(dataDir: string): Promise<number> {
    const files = await sealedFiles(dataDir)
    for (const file of files) await fs.rm(file, { force: true })
    return files.length
  }

  /** Forgets the key in memory; the vault cannot be used afterwards. */
  close(): void {
    for (const key of this.#keys ?? []) key.fill(0)
    this.#keys = undefined
  }

  #requireKeys(): Buffer[] {
    if (!this.#keys) throw new VkError('internal', 'The vault was closed.')
    return this.#keys
  }

  /**
   * Seals plaintext for one purpose (such as `profile:<name>` or `handover:<id>`).
   * Envelope, base64: version byte, 12-byte IV, ciphertext, 16-byte tag; the AAD binds version
   * and purpose, so an envelope cannot be replayed under another purpose.
   * A string plaintext is copied into a Buffer that is zeroed afterwards; a caller's Buffer is left as is.
   */
  seal(purpose: string, plaintext: Buffer | string): string {
    const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext
    try {
      const iv = randomBytes(ivLength)
      const header = Buffer.from([envelopeVersion])
      const cipher = createCipheriv('aes-256-gcm', this.#requireKeys()[0]!, iv, { authTagLength: tagLength })
      cipher.setAAD(additionalData(header, purpose))
      const body = Buffer.concat([cipher.update(data), cipher.final()])
      return Buffer.concat([header, iv, body, cipher.getAuthTag()]).toString('base64')
    } finally {
      if (typeof plaintext === 'string') data.fill(0)
    }
  }

  /** Opens an envelope sealed for `purpose`; the caller should zero the result after use. */
  unseal(purpose: string, envelope: string): Buffer {
    const bytes = Buffer.from(envelope, 'base64')
    if (bytes.length < 1 + ivLength + tagLength || bytes[0] !== envelopeVersion) {
      throw new VkError('config.vault', `The sealed data for "${purpose}" is damaged or from a newer VK Depot. Re-import the certificate and password.`, {
        field: purpose,
      })
    }
    const header = bytes.subarray(0, 1)
    const iv = bytes.subarray(1, 1 + ivLength)
    const tag = bytes.subarray(bytes.length - tagLength)
    const body = bytes.subarray(1 + ivLength, bytes.length - tagLength)
    let failure: unknown
    // GCM authenticates: a key that did not seal this envelope fails cleanly, and the next is tried.
    for (const key of this.#requireKeys()) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: tagLength })
        decipher.setAAD(additionalData(header, purpose))
        decipher.setAuthTag(tag)
        return Buffer.concat([decipher.update(body), decipher.final()])
      } catch (error) {
        failure = error
      }
    }
    throw new VkError(
      'config.vault',
      `The sealed data for "${purpose}" could not be opened: it was changed, belongs to something else, or was sealed by another vault. ` +
        'Re-import the certificate and password.',
      { field: purpose },
      { cause: failure },
    )
  }

  /** The file a profile's secrets are sealed in. */
  profileSecretsFile(profileName: string): string {
    return path.join(this.dataDir, 'secrets', secretsFileName(profileName))
  }

  async saveProfileSecrets(profileName: string, secrets: ProfileSecrets): Promise<void> {
    const purpose = profilePurpose(profileName)
    const parsed = profileSecretsSchema.parse(secrets)
    const plaintext = Buffer.from(JSON.stringify(parsed), 'utf8')
    let envelope: string
    try {
      envelope = this.seal(purpose, plaintext)
    } finally {
      plaintext.fill(0)
    }
    await ensurePrivateFolder(path.dirname(this.profileSecretsFile(profileName)))
    const file = { format: 'vk-depot-sealed', version: 1, purpose, data: envelope }
    await writeFileAtomic(this.profileSecretsFile(profileName), `${JSON.stringify(file, null, 2)}\n`)
  }

  async loadProfileSecrets(profileName: string): Promise<ProfileSecrets | undefined> {
    const filePath = this.profileSecretsFile(profileName)
    if ((await readFileIfExists(filePath)) === undefined) return undefined
    const file = await readSealedFile(filePath, profileName)
    const plaintext = this.unseal(profilePurpose(profileName), file.data)
    try {
      return profileSecretsSchema.parse(JSON.parse(plaintext.toString('utf8')))
    } catch (error) {
      throw new VkError(
        'config.vault',
        `The secrets in ${filePath} are not in a format this VK Depot knows. Re-import the certificate and password.`,
        {
          file: filePath,
        },
        { cause: error },
      )
    } finally {
      plaintext.fill(0)
    }
  }

  /** True when there was something to delete. */
  async deleteProfileSecrets(profileName: string): Promise<boolean> {
    try {
      await fs.unlink(this.profileSecretsFile(profileName))
      return true
    } catch (error) {
      if (isNotFound(error)) return false
      throw error
    }
  }

  /** The file the fleet server password is sealed in (fleet mode, docs/fleet.md). */
  fleetSecretFile(): string {
    return path.join(this.dataDir, 'secrets', 'fleet.sealed')
  }

  /** Seals the fleet server password like a profile's PSA password. */
  async saveFleetSecret(password: string): Promise<void> {
    const file = { format: 'vk-depot-sealed', version: 1, purpose: FLEET_PURPOSE, data: this.seal(FLEET_PURPOSE, password) }
    await ensurePrivateFolder(path.dirname(this.fleetSecretFile()))
    await writeFileAtomic(this.fleetSecretFile(), `${JSON.stringify(file, null, 2)}\n`)
  }

  async loadFleetSecret(): Promise<string | undefined> {
    const raw = await readFileIfExists(this.fleetSecretFile())
    if (raw === undefined) return undefined
    const file = sealedFileSchema.safeParse(JSON.parse(raw.toString('utf8')))
    if (!file.success)
      throw new VkError('config.vault', `${this.fleetSecretFile()} is not a VK Depot sealed file. Leave the fleet (\`vkey fleet leave\`) and join again.`, {
        file: this.fleetSecretFile(),
      })
    const plaintext = this.unseal(FLEET_PURPOSE, file.data.data)
    try {
      return plaintext.toString('utf8')
    } finally {
      plaintext.fill(0)
    }
  }

  async deleteFleetSecret(): Promise<void> {
    await fs.rm(this.fleetSecretFile(), { force: true })
  }
}

const FLEET_PURPOSE = 'fleet'

export function profilePurpose(profileName: string): string {
  return `profile:${profileName}`
}

function additionalData(header: Buffer, purpose: string): Buffer {
  return Buffer.concat([Buffer.from('vk-depot-vault:'), header, Buffer.from(`:${purpose}`, 'utf8')])
}

/** The error every command meets when the vault key is gone: it names the one command that works. */
export function vaultKeyLost(dataDir: string, what: string): VkError {
  return new VkError(
    'config.vault-key-lost',
    `The secrets in ${dataDir} were sealed with a vault key this keychain no longer has (${what}; for example after a new user account or a restored backup). ` +
      "Run `vkey vault reset` (in the app: Reset the vault): it keeps your profiles' settings and the history, drops the passwords, certificates and tokens " +
      'that can no longer be opened, and then `vkey profile add NAME --env …` and `vkey cert import FILE` work again. ' +
      'If only vault.json was replaced (a restored or copied file), `vkey vault repair` finds the key the ledger names, and reset refuses while it would.',
    { file: Vault.fileIn(dataDir), field: 'vault-key' },
  )
}

async function writeVaultFile(dataDir: string, file: VaultFile): Promise<void> {
  await writeFileAtomic(Vault.fileIn(dataDir), `${JSON.stringify(file, null, 2)}\n`)
}

function opens(vault: Vault, file: z.infer<typeof sealedFileSchema>): boolean {
  try {
    vault.unseal(file.purpose, file.data).fill(0)
    return true
  } catch {
    return false
  }
}

async function sealedFiles(dataDir: string): Promise<string[]> {
  const folder = path.join(dataDir, 'secrets')
  try {
    return (await fs.readdir(folder)).filter((name) => name.endsWith('.sealed')).map((name) => path.join(folder, name))
  } catch (error) {
    if (isNotFound(error)) return []
    throw error
  }
}

async function readSealedFile(filePath: string, profileName: string): Promise<z.infer<typeof sealedFileSchema>> {
  try {
    return sealedFileSchema.parse(JSON.parse((await fs.readFile(filePath)).toString('utf8')))
  } catch (error) {
    throw new VkError(
      'config.vault',
      `${filePath} is not a VK Depot sealed file. Remove it and re-import the certificate and password${profileName ? ` for profile "${profileName}"` : ''}.`,
      {
        file: filePath,
      },
      { cause: error },
    )
  }
}

async function readVaultFile(dataDir: string): Promise<VaultFile | undefined> {
  const filePath = Vault.fileIn(dataDir)
  const raw = await readFileIfExists(filePath)
  if (raw === undefined) return undefined
  try {
    return vaultFileSchema.parse(JSON.parse(raw.toString('utf8')))
  } catch (error) {
    throw new VkError(
      'config.vault-repair',
      `${filePath} is damaged. Run \`vkey vault repair\`: it finds this folder's key in the keychain and writes the file again. If it finds none, \`vkey vault reset\` starts a new vault (profiles' settings and the history are kept; the passwords, certificates and tokens are lost).`,
      {
        file: filePath,
      },
      { cause: error },
    )
  }
}

/** Atomically creates `filePath` only if it does not exist yet (link(2) fails on an existing name). */
async function createExclusive(filePath: string, content: string): Promise<boolean> {
  const temporary = `${filePath}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`
  await writeFileAtomic(temporary, content)
  try {
    try {
      await fs.link(temporary, filePath)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      // Some file systems (FAT, some network shares) have no hard links.
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error
      await fs.copyFile(temporary, filePath, fsConstants.COPYFILE_EXCL)
    }
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  } finally {
    await fs.rm(temporary, { force: true })
  }
}
