// Folder = runtime: these rules keep each part of VK Depot in its own room.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import globals from 'globals'
import reactHooks from 'eslint-plugin-react-hooks'

const nodeModules = ['node:*', 'fs', 'path', 'os', 'crypto', 'child_process', 'net', 'tls', 'http', 'https', 'url', 'stream']
const backendPackages = ['electron', 'keytar', 'undici', 'electron-store', 'conf', 'node-forge', 'pdf-lib']

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', '.vkey-tmp/**', 'dist/**', 'test-results/**', 'tests/fixtures/insecure-window/**', 'bench/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'warn',
      'no-restricted-imports': ['error', {
        patterns: [
          { group: [...nodeModules, ...backendPackages], message: 'The renderer runs in a sandboxed page: talk to the main process through window.vkey.' },
          { group: ['**/electron/**', '../electron/*', '../../electron/*'], message: 'The renderer never imports main-process code.' },
        ],
      }],
    },
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: [...nodeModules, ...backendPackages, 'react', 'react-dom', 'react-i18next'], message: 'shared/ is pure TypeScript used by both sides.' },
          { group: ['**/electron/**', '**/renderer/**'], message: 'shared/ depends on nothing above it.' },
        ],
      }],
    },
  },
  {
    files: ['electron/core/**/*.ts', 'electron/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['electron', 'electron-store', 'electron/*'], message: 'core/ and cli/ run in plain Node: take the store and dialogs as parameters.' }],
      }],
    },
  },
  {
    files: ['electron/**/*.ts', 'renderer/**/*.{ts,tsx}', 'shared/**/*.ts'],
    ignores: ['electron/main/ipc.ts'],
    rules: {
      'no-restricted-syntax': ['error', { selector: "MemberExpression[object.name='ipcMain']", message: 'Only electron/main/ipc.ts touches ipcMain.' }],
    },
  },
)
