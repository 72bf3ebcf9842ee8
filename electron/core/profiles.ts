/**
 * Profiles: the non-secret settings of a partner account (environment, client id, login,
 * Stellantis CA). Secrets for a profile live in the vault under the same name.
 * The key-value store is passed in: electron-store in the app, conf in the CLI and tests.
 */
import type * as z from 'zod'
import { VkError } from '../../shared/errors'
import { nearest } from './nearest'
import {
  type Environment,
  type Profile,
  type ProfileInput,
  ProfileInputSchema,
  ProfileNameSchema,
  ProfileSchema,
  normalizeBaseUrl,
  psaBaseUrls,
} from '../../shared/profile'

export type { Profile, ProfileInput, Environment } from '../../shared/profile'

/** What electron-store and conf both offer. */
export interface KeyValueStore {
  get(key: string): unknown
  set(key: string, value: unknown): void
  delete(key: string): void
}

const profilesKey = 'profiles'
const defaultKey = 'defaultProfile'

/** What to run to add a profile: the password on standard input, then the certificate. */
const addHint =
  '`printf %s "$PSA_PASSWORD" | vkey profile add NAME --env preprod --client-id CLIENT_ID --login LOGIN --password-stdin --default` then `vkey cert import FILE --profile NAME` (or, with `vkey simulator` running, `vkey profile add sim --env simulator --default`)'

/**
 * The base URL for `--env`: `preprod`, `prod`, or an https URL ending in `/connectedcar/v3`.
 * `simulator` is resolved by the caller from the running simulator.
 */
export function resolveEnvironment(env: string): { environment: Exclude<Environment, 'simulator'>; baseUrl: string } {
  const value = env.trim()
  const lower = value.toLowerCase()
  if (lower === 'preprod' || lower === 'prod') return { environment: lower, baseUrl: psaBaseUrls[lower] }
  if (/^https?:\/\//i.test(value)) {
    const baseUrl = normalizeBaseUrl(value)
    if (baseUrl) return { environment: 'custom', baseUrl }
    throw new VkError(
      'usage',
      `--env ${value} is not a usable PSA API address: give an https URL of the form https://host[:port]/…/connectedcar/v3, without user, password, query or fragment.`,
      { field: '--env' },
    )
  }
  throw new VkError(
    'usage',
    `--env "${value}" is not known: use preprod, prod, simulator (while the simulator runs) or an https URL ending in /connectedcar/v3.`,
    { field: '--env' },
  )
}

/** The profiles in a key-value store; names are case-sensitive and unique. */
export class ProfileStore {
  readonly #store: KeyValueStore
  readonly #now: () => Date
  readonly #locked: <T>(fn: () => T) => T

  /** `locked` runs a read-modify-write of the store under the settings lock (owner-lock.ts), when other processes share it. */
  constructor(store: KeyValueStore, now: () => Date = () => new Date(), locked: <T>(fn: () => T) => T = (fn) => fn()) {
    this.#store = store
    this.#now = now
    this.#locked = locked
  }

  /** All profiles, sorted by name. Entries damaged by hand edits are skipped. */
  list(): Profile[] {
    return this.#read().sort((a, b) => a.name.localeCompare(b.name))
  }

  get(name: string): Profile {
    const profiles = this.#read()
    const found = profiles.find((profile) => profile.name === name)
    if (found) return found
    if (profiles.length === 0) {
      throw new VkError('config.no-profile', `There is no profile "${name}": no profile exists yet. Add one with ${addHint}.`, { field: 'profile' })
    }
    const known = profiles.map((profile) => `"${profile.name}"`).join(', ')
    const meant = nearest(
      name,
      profiles.map((profile) => profile.name),
    )
    throw new VkError(
      'config.profile',
      `There is no profile "${name}" (known: ${known}).${meant ? ` Did you mean "${meant}"?` : ''} \`vkey profile list\` shows them; \`vkey help profile\` says how to add one.`,
      {
        field: 'profile',
      },
    )
  }

  /** The default profile; the only profile counts as default. */
  getDefault(): Profile {
    const profiles = this.#read()
    if (profiles.length === 0) {
      throw new VkError('config.no-profile', `No profile yet: run ${addHint}, or choose "Try the simulator" in the app.`, { field: 'profile' })
    }
    const name = this.#store.get(defaultKey)
    const found = typeof name === 'string' ? profiles.find((profile) => profile.name === name) : undefined
    if (found) return found
    if (profiles.length === 1 && profiles[0]) return profiles[0]
    throw new VkError(
      'config.profile',
      'Several profiles exist and none is the default: pick one with `vkey profile default <name>` or pass `--profile <name>`.',
      {
        field: 'profile',
      },
    )
  }

  /** The named profile, or the default one when no name is given (a command without `--profile`). */
  resolve(name?: string): Profile {
    return name ? this.get(name) : this.getDefault()
  }

  /** The default profile's name, if one is set and exists. */
  defaultName(): string | undefined {
    const name = this.#store.get(defaultKey)
    return typeof name === 'string' && this.#read().some((profile) => profile.name === name) ? name : undefined
  }

  /**
   * Adds or replaces a profile (keeping its createdAt). The first profile becomes the default.
   * Returns the profile as stored.
   */
  save(input: ProfileInput, options: { makeDefault?: boolean } = {}): Profile {
    const parsed = ProfileInputSchema.safeParse(input)
    if (!parsed.success) throw invalidProfile(parsed.error, input)
    return this.#locked(() => this.#save(parsed.data, options.makeDefault ?? false))
  }

  #save(data: z.output<typeof ProfileInputSchema>, makeDefault: boolean): Profile {
    const profiles = this.#read()
    const now = this.#now().toISOString()
    const existing = profiles.find((profile) => profile.name === data.name)
    const profile: Profile = ProfileSchema.parse({
      ...data,
      createdAt: existing?.createdAt ?? data.createdAt ?? now,
      updatedAt: now,
    })
    const next = [...profiles.filter((candidate) => candidate.name !== profile.name), profile]
    this.#store.set(profilesKey, next)
    if (makeDefault || next.length === 1 || this.defaultName() === undefined) this.#store.set(defaultKey, profile.name)
    return profile
  }

  /** Removes a profile; true when it existed. When it was the default, no profile is default any more unless one remains. */
  remove(name: string): boolean {
    return this.#locked(() => this.#remove(name))
  }

  #remove(name: string): boolean {
    const profiles = this.#read()
    const next = profiles.filter((profile) => profile.name !== name)
    if (next.length === profiles.length) return false
    this.#store.set(profilesKey, next)
    if (this.#store.get(defaultKey) === name) {
      if (next.length === 1 && next[0]) this.#store.set(defaultKey, next[0].name)
      else this.#store.delete(defaultKey)
    }
    return true
  }

  setDefault(name: string): void {
    this.#locked(() => this.#store.set(defaultKey, this.get(name).name))
  }

  #read(): Profile[] {
    const raw = this.#store.get(profilesKey)
    if (!Array.isArray(raw)) return []
    const profiles: Profile[] = []
    for (const entry of raw) {
      const parsed = ProfileSchema.safeParse(entry)
      if (parsed.success) profiles.push(parsed.data)
    }
    return profiles
  }
}

/** Checks a profile name the way the store will (for the CLI's early feedback). */
export function checkProfileName(name: string): string {
  const parsed = ProfileNameSchema.safeParse(name)
  if (!parsed.success) {
    throw new VkError('config.profile', `The profile name "${name}" is not allowed: ${parsed.error.issues[0]?.message ?? 'invalid'}.`, { field: 'name' })
  }
  return parsed.data
}

function invalidProfile(error: z.ZodError, input: ProfileInput): VkError {
  const issue = error.issues[0]
  const field = issue?.path.map(String).join('.') || 'profile'
  const flag: Record<string, string> = { name: 'name', clientId: '--client-id', login: '--login', baseUrl: '--env', environment: '--env', caPem: '--ca' }
  const label = flag[field] ?? field
  const name = typeof input?.name === 'string' ? ` "${input.name}"` : ''
  return new VkError('config.profile', `The profile${name} cannot be saved: ${label}: ${issue?.message ?? 'invalid value'}.`, { field })
}
