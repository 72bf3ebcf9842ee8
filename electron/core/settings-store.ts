/**
 * The settings file of a data folder (settings.json: profiles and other non-secret
 * settings), opened with conf: the same file the desktop app's electron-store writes (conf
 * underneath). The `vkey` CLI, the tests and the bench open it here.
 */
import Conf from 'conf'

export function openStore(dataDir: string): Conf<Record<string, unknown>> {
  return new Conf<Record<string, unknown>>({ cwd: dataDir, configName: 'settings', configFileMode: 0o600 })
}
