import { VkError } from '../../shared/errors'

/** Where small secrets live: the OS keychain in the app and the CLI. */
export interface SecretStore {
  get(account: string): Promise<string | null>
  set(account: string, value: string): Promise<void>
  /** True when something was deleted. */
  delete(account: string): Promise<boolean>
}

export const keychainService = 'VK Depot'

interface KeytarModule {
  getPassword(service: string, account: string): Promise<string | null>
  setPassword(service: string, account: string, password: string): Promise<void>
  deletePassword(service: string, account: string): Promise<boolean>
}

/** The OS keychain's name, for messages. */
export function keychainName(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'darwin') return 'the macOS Keychain'
  if (platform === 'win32') return 'the Windows Credential Manager'
  return 'the Secret Service keyring (GNOME Keyring, KWallet or KeePassXC)'
}

function nextStep(platform: NodeJS.Platform): string {
  if (platform === 'darwin') return 'Unlock the login keychain in Keychain Access and try again.'
  if (platform === 'win32') return 'Sign in to Windows with your own account (Credential Manager must be running) and try again.'
  return (
    'Install and start a Secret Service provider (for example `sudo apt install gnome-keyring`, then log in to a desktop session, ' +
    'or run `gnome-keyring-daemon --unlock --components=secrets` in a D-Bus session), unlock it, and try again.'
  )
}

/** Every keychain failure becomes one clear error; VK Depot never falls back to a plain file. */
export function keychainUnavailable(cause: unknown, platform: NodeJS.Platform = process.platform): VkError {
  const reason = cause instanceof Error && cause.message ? ` (${cause.message.split('\n')[0]})` : ''
  return new VkError(
    'config.keychain-unavailable',
    `VK Depot keeps its vault key in ${keychainName(platform)}, which could not be reached${reason}. ` +
      `${nextStep(platform)} VK Depot does not store secrets in plain files.`,
    { field: 'keychain' },
    { cause },
  )
}

/** keytar behind SecretStore; keytar (a native module) is loaded on first use only. */
export function keytarStore(service: string = keychainService): SecretStore {
  let loaded: Promise<KeytarModule> | undefined
  const keytar = async (): Promise<KeytarModule> => {
    loaded ??= import('keytar').then((module) => (module.default ?? module) as KeytarModule)
    try {
      return await loaded
    } catch (error) {
      loaded = undefined
      throw error
    }
  }
  const call = async <T>(action: (module: KeytarModule) => Promise<T>): Promise<T> => {
    try {
      return await action(await keytar())
    } catch (error) {
      throw keychainUnavailable(error)
    }
  }
  return {
    get: (account) => call((module) => module.getPassword(service, account)),
    set: (account, value) => call((module) => module.setPassword(service, account, value)),
    delete: (account) => call((module) => module.deletePassword(service, account)),
  }
}
