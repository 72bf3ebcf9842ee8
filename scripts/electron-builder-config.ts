/**
 * electron-builder configuration for VK Depot (Windows NSIS, macOS DMG, Linux AppImage/deb).
 * The root `electron-builder.ts` re-exports it (electron-builder finds that file by name);
 * it lives here so the test project type-checks it and the tests can read the fuse values.
 * Packaging needs the Electron binary, so it cannot run on the Linux CI box: docs/packaging.md.
 */
import type { Configuration } from 'electron-builder'

type FuseOptions = NonNullable<Configuration['electronFuses']>

/**
 * Electron fuses, flipped in the packaged binary by electron-builder itself right before
 * signing (its `electronFuses` option, backed by its own @electron/fuses). Every fuse is
 * stated, including the ones whose default is already what we want.
 */
export const electronFuses = {
  // No `ELECTRON_RUN_AS_NODE`: the signed binary cannot be used as a general Node runtime.
  runAsNode: false,
  // Cookies and other Chromium storage encrypted with an OS-keychain key.
  enableCookieEncryption: true,
  // NODE_OPTIONS and --inspect could inject code into the main process that holds the secrets.
  enableNodeOptionsEnvironmentVariable: false,
  enableNodeCliInspectArguments: false,
  // app.asar is checked against the hash embedded at build time (macOS and Windows).
  enableEmbeddedAsarIntegrityValidation: true,
  // Only app.asar is loaded, never a loose `app/` folder dropped beside it.
  onlyLoadAppFromAsar: true,
  loadBrowserProcessSpecificV8Snapshot: false,
  // The UI is served from app://, so file:// needs none of its historical extra powers.
  grantFileProtocolExtraPrivileges: false,
} as const satisfies FuseOptions

const notarizeCredentials = Boolean(process.env.APPLE_API_KEY || process.env.APPLE_ID || process.env.APPLE_KEYCHAIN_PROFILE)

export const builderConfig: Configuration = {
  appId: 'com.vkdepot.desktop',
  productName: 'VK Depot',
  copyright: 'VK Depot',
  directories: { output: 'dist', buildResources: 'build' },
  // Only the built app and package.json; production node_modules are added by electron-builder.
  files: ['out/**/*', 'package.json', '!**/*.map'],
  asar: true,
  // keytar's and better-sqlite3's native addons cannot be loaded from inside the archive.
  asarUnpack: ['**/node_modules/keytar/**/*.node', '**/node_modules/better-sqlite3/**/*.node'],
  // Rebuild keytar and better-sqlite3 against the Electron ABI (they were built for the Node that ran npm install).
  npmRebuild: true,
  nodeGypRebuild: false,
  buildDependenciesFromSource: false,
  electronFuses,
  // The app registers no OS-level URL schemes: app:// is private to its own session.
  protocols: [],
  publish: null,
  win: {
    target: [{ target: 'nsis', arch: ['x64'] }],
    executableName: 'VK Depot',
  },
  nsis: {
    oneClick: false,
    perMachine: false,
    allowToChangeInstallationDirectory: true,
    // The vault and profiles stay on uninstall; a technician removes them on purpose.
    deleteAppDataOnUninstall: false,
  },
  mac: {
    target: [{ target: 'dmg', arch: ['x64', 'arm64'] }],
    category: 'public.app-category.utilities',
    hardenedRuntime: true,
    gatekeeperAssess: false,
    entitlements: 'build/entitlements.mac.plist',
    entitlementsInherit: 'build/entitlements.mac.plist',
    // Vehicles → Scan from phone reads the phone's CarData code with the camera (video only).
    extendInfo: { NSCameraUsageDescription: 'VK Depot uses the camera only while you scan a CarData code shown on a phone (Vehicles → Scan from phone).' },
    // Notarised only when the release machine has Apple credentials in its environment.
    notarize: notarizeCredentials,
  },
  dmg: { sign: false },
  linux: {
    target: [
      { target: 'AppImage', arch: ['x64'] },
      { target: 'deb', arch: ['x64'] },
    ],
    category: 'Utility',
    executableName: 'vk-depot',
    maintainer: 'VK Depot maintainers',
  },
  deb: {
    // keytar talks to the Secret Service through libsecret.
    depends: ['libsecret-1-0', 'libgtk-3-0', 'libnotify4', 'libnss3', 'libxss1', 'libxtst6', 'xdg-utils', 'libatspi2.0-0', 'libuuid1'],
  },
}

export default builderConfig
