/**
 * The main window's options, every security-relevant one set explicitly even where it is
 * Electron's default: auditors and Electronegativity read the source, and a default
 * that changes between Electron versions cannot silently weaken the window.
 * Pure (types only from electron) so the tests check the exact values.
 */
import type { BrowserWindowConstructorOptions } from 'electron'

export interface WindowOptionsInput {
  /** Absolute path of the built preload script (out/preload/index.cjs). */
  preloadPath: string
  /** DevTools only in development: `!app.isPackaged`. */
  devTools: boolean
}

export function windowOptions({ preloadPath, devTools }: WindowOptionsInput): BrowserWindowConstructorOptions {
  return {
    title: 'VK Depot',
    width: 1180,
    height: 800,
    minWidth: 900,
    minHeight: 600,
    // Shown on 'ready-to-show' so no blank frame flashes.
    show: false,
    backgroundColor: '#ffffff',
    autoHideMenuBar: true,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      webviewTag: false,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      // enableBlinkFeatures is deliberately never set. Middle-click (auxclick) could open
      // windows around the click handlers; the page has no use for it.
      disableBlinkFeatures: 'Auxclick',
      devTools,
      spellcheck: false,
      // A file dropped on the window must not navigate it to file://; the page reads drops itself.
      navigateOnDragDrop: false,
      safeDialogs: true,
      enableWebSQL: false,
      plugins: false,
      javascript: true,
    },
  }
}
