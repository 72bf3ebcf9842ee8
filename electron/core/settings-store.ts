/**
 * The settings file of a data folder (settings.json: profiles and other non-secret
 * settings), opened with conf: the same file the desktop app's electron-store writes (conf
 * underneath). The `vkey` CLI, the tests and the bench open it here; the app's electron-store
 * reads it with the same `settingsDeserializer`.
 */
import { join } from 'node:path'
import Conf from 'conf'
import { VkError } from '../../shared/errors'

export const SETTINGS_FILE = 'settings.json'

/**
 * How the settings file is read, by conf here and by the app's electron-store (its
 * `deserialize`): a file a crash or a bad disk left unreadable is named, with the way forward,
 * instead of a JSON parser's error or a stray array taken for settings; it is left as it is
 * (conf reads the file before it ever writes it, and throws this first).
 */
export function settingsDeserializer(dataDir: string): (text: string) => Record<string, unknown> {
  return (text) => {
    try {
      const value: unknown = JSON.parse(text)
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>
    } catch {
      // not JSON: said below
    }
    const file = join(dataDir, SETTINGS_FILE)
    throw new VkError(
      'storage.damaged',
      `${file} is damaged (not the JSON object VK Depot writes: a crash or a disk problem while it was written). It holds the profiles and settings, no secret; it was left as it is. Restore it from a backup, or move it aside and add the profiles again with \`vkey profile add NAME …\`.`,
      { file },
    )
  }
}

export function openStore(dataDir: string): Conf<Record<string, unknown>> {
  return new Conf<Record<string, unknown>>({ cwd: dataDir, configName: 'settings', configFileMode: 0o600, deserialize: settingsDeserializer(dataDir) })
}
