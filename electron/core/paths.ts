import os from 'node:os'
import path from 'node:path'

/** The application name Electron derives the user-data folder from. */
export const appName = 'VK Depot'

/**
 * Default data folder.
 * VKEY_HOME wins; otherwise the folder Electron's app.getPath('userData') gives for "VK Depot",
 * so the command-line tool and the app share profiles and the vault without Electron loaded.
 */
export function defaultDataFolder(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home: string = os.homedir()): string {
  const override = env.VKEY_HOME?.trim()
  if (override) return override
  if (platform === 'win32') {
    const appData = env.APPDATA?.trim() || path.win32.join(home, 'AppData', 'Roaming')
    return path.win32.join(appData, appName)
  }
  if (platform === 'darwin') return path.posix.join(home, 'Library', 'Application Support', appName)
  // Electron (like the XDG spec) ignores a relative XDG_CONFIG_HOME.
  const xdg = env.XDG_CONFIG_HOME?.trim()
  const configHome = xdg && path.posix.isAbsolute(xdg) ? xdg : path.posix.join(home, '.config')
  return path.posix.join(configHome, appName)
}
