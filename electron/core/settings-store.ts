/**
 * The settings file of a data folder (settings.json: profiles and other non-secret
 * settings), opened with conf: the same file the desktop app's electron-store writes (conf
 * underneath). The `vkey` CLI, the tests and the bench open it here; the app checks it with
 * `assertSettingsReadable` before electron-store opens it.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Conf from 'conf'
import { VkError } from '../../shared/errors'

export const SETTINGS_FILE = 'settings.json'

/**
 * A settings file a crash or a bad disk left unreadable is named, with the way forward,
 * instead of a JSON parser's error; it is left as it is (nothing is overwritten).
 */
export function assertSettingsReadable(dataDir: string): void {
  const file = join(dataDir, SETTINGS_FILE)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return // a new data folder
    throw error
  }
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return
  } catch {
    // not JSON: said below
  }
  throw new VkError(
    'storage.damaged',
    `${file} is damaged (not the JSON object VK Depot writes: a crash or a disk problem while it was written). It holds the profiles and settings, no secret; it was left as it is. Restore it from a backup, or move it aside and add the profiles again with \`vkey profile add NAME …\`.`,
    { file },
  )
}

export function openStore(dataDir: string): Conf<Record<string, unknown>> {
  assertSettingsReadable(dataDir)
  return new Conf<Record<string, unknown>>({ cwd: dataDir, configName: 'settings', configFileMode: 0o600 })
}
