// Folder = runtime and layer: these rules keep each part of VK Depot in its own room.
//   shared/            pure TypeScript, imports nothing above it
//   renderer/          the sandboxed page: shared/ only, talks through window.vkey
//   electron/core/     plain Node: shared/ only (no Electron, no cli/, main/, preload/ or app/)
//   electron/app/      the app's IPC handlers over core; electron/cli/ the vkey command over core
//   electron/main/, electron/preload/   the Electron glue; ipcMain/ipcRenderer only in main/ipc.ts and preload/
// no-restricted-imports is one rule: a file matched by two blocks takes the last block's options,
// so every block below passes its full list through `restricted()`.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import globals from 'globals'
import reactHooks from 'eslint-plugin-react-hooks'
import prettier from 'eslint-config-prettier'

const nodeModules = ['node:*', 'fs', 'path', 'os', 'crypto', 'child_process', 'net', 'tls', 'http', 'https', 'url', 'stream']
const backendPackages = ['electron', 'keytar', 'undici', 'electron-store', 'conf', 'node-forge', 'pdf-lib']

/** Where ipcMain / ipcRenderer may be imported. */
const ipcFiles = ['electron/main/ipc.ts', 'electron/preload/**/*.ts']
const ipcImport = {
  name: 'electron',
  importNames: ['ipcMain', 'ipcRenderer'],
  message: 'Only electron/main/ipc.ts (ipcMain) and electron/preload (ipcRenderer) import these.',
}

/** no-restricted-imports with the ipc import banned, unless `ipc` is allowed. */
function restricted({ patterns = [], ipc = false } = {}) {
  return ['error', { paths: ipc ? [] : [ipcImport], patterns }]
}

/** An import of these folders of electron/ written from a file `depth` folders below electron/ (or through the root). */
function electronFolders(folders, depth, message) {
  const alternatives = folders.join('|')
  return [
    { regex: `^${'\\.\\./'.repeat(depth)}(${alternatives})(/|$)`, message },
    { regex: `(^|/)electron/(${alternatives})(/|$)`, message },
  ]
}

const coreMessage =
  'electron/core is used by the app, the CLI and the tests alike: it imports none of cli/, main/, preload/ or app/ (take what you need as a parameter).'
const coreRuntime = {
  group: ['electron', 'electron-store', 'electron/*'],
  message: 'core/ and cli/ run in plain Node: take the store and dialogs as parameters.',
}
const anythingUnderElectron = (message) => ({ regex: '(^|/)electron(/|$)', message })

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', '.vkey-tmp/**', 'dist/**', 'test-results/**', 'tests/fixtures/insecure-window/**', 'bench/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      'max-lines-per-function': ['error', { max: 120, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // Everywhere: ipcMain / ipcRenderer only by import in their two places (a dynamic import or require of electron counts too).
    files: ['**/*.{ts,tsx,js,mjs}'],
    ignores: ipcFiles,
    rules: {
      'no-restricted-imports': restricted(),
      'no-restricted-syntax': [
        'error',
        {
          // zod's `z` export is a namespace object holding every locale (≈ 300 kB of the 580 kB zod
          // adds to the vkey bundle); with `import * as z`, esbuild keeps only what is used.
          selector: "ImportDeclaration[source.value='zod'] > ImportSpecifier[imported.name='z']",
          message: "Write `import * as z from 'zod'`: the vkey bundle then leaves out zod's locales (docs/performance.md).",
        },
        { selector: "ImportExpression[source.value='electron']", message: 'Load electron dynamically only in electron/main/ipc.ts.' },
        {
          selector: "CallExpression[callee.name='require'][arguments.0.value='electron']",
          message: 'Import electron; ipcMain/ipcRenderer only in electron/main/ipc.ts and electron/preload.',
        },
      ],
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'warn',
      'no-restricted-imports': restricted({
        patterns: [
          { group: [...nodeModules, ...backendPackages], message: 'The renderer runs in a sandboxed page: talk to the main process through window.vkey.' },
          anythingUnderElectron('The renderer never imports main-process code (electron/): what both sides need lives in shared/.'),
        ],
      }),
    },
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': restricted({
        patterns: [
          { group: [...nodeModules, ...backendPackages, 'react', 'react-dom', 'react-i18next'], message: 'shared/ is pure TypeScript used by both sides.' },
          anythingUnderElectron('shared/ depends on nothing above it.'),
          { regex: '(^|/)renderer(/|$)', message: 'shared/ depends on nothing above it.' },
        ],
      }),
    },
  },
  {
    files: ['electron/core/*.ts'],
    rules: { 'no-restricted-imports': restricted({ patterns: [coreRuntime, ...electronFolders(['cli', 'main', 'preload', 'app'], 1, coreMessage)] }) },
  },
  {
    files: ['electron/core/*/**/*.ts'],
    rules: { 'no-restricted-imports': restricted({ patterns: [coreRuntime, ...electronFolders(['cli', 'main', 'preload', 'app'], 2, coreMessage)] }) },
  },
  {
    files: ['electron/cli/**/*.ts'],
    rules: { 'no-restricted-imports': restricted({ patterns: [coreRuntime] }) },
  },
  // Formatting is Prettier's (npm run format; npm test checks it): no lint rule argues with it.
  prettier,
)
