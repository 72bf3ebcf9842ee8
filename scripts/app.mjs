#!/usr/bin/env node
// `npm start` (build and run the app) and `npm run dev` (hot reload): runs electron-vite
// when the Electron binary is there. On a fresh clone it first installs what is needed
// (the Debian build packages through scripts/setup-system.sh, then `npm ci`, then the
// Electron binary on its own). Where the binary cannot be had it ends with ONE line
// saying what is missing, how to get it and that `vkey` works meanwhile — no stack trace.
// Plain Node with no dependency: it must run before `npm ci` has.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const mode = process.argv[2] === 'dev' ? 'dev' : 'preview'
const electronDir = `${root}node_modules/electron`

/** The path of the Electron binary the electron package would run, when it is installed. */
function electronBinary(dir = electronDir) {
  try {
    const relative = readFileSync(`${dir}/path.txt`, 'utf8').trim()
    const binary = `${dir}/dist/${relative}`
    return relative && existsSync(binary) ? binary : undefined
  } catch {
    return undefined
  }
}

const MISSING_ELECTRON =
  'VK Depot cannot start: the Electron binary is not installed (node_modules/electron/dist is missing; its download was skipped or failed). ' +
  'Get it with `npm rebuild electron` (needs access to github.com, with ELECTRON_SKIP_BINARY_DOWNLOAD unset). ' +
  'Meanwhile the command line works: `npx vkey help`.'

function run(command, args, options = {}) {
  return spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options })
}

function fail(line) {
  process.stderr.write(`${line}\n`)
  process.exit(1)
}

if (!existsSync(`${root}node_modules/.package-lock.json`)) {
  // A fresh clone: the packages keytar and better-sqlite3 build against, then the npm
  // dependencies without the Electron download (its failure would stop everything)...
  if (run('bash', [`${root}scripts/setup-system.sh`, 'build']).status !== 0) process.exit(1)
  const install = run('npm', ['ci', '--no-audit', '--no-fund'], { env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' } })
  if (install.status !== 0) fail('VK Depot: `npm ci` failed (its messages are above); fix that and run `npm start` again.')
  // ...then the binary on its own, quietly: where it cannot be had, the line below says so.
  if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD !== '1') run('npm', ['rebuild', 'electron'], { stdio: 'ignore', timeout: 300_000 })
}

if (!electronBinary()) fail(MISSING_ELECTRON)
const result = run(`${root}node_modules/.bin/electron-vite`, [mode, '-c', 'electron.config.ts'])
process.exit(result.status ?? 1)
