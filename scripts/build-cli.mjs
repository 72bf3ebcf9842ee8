#!/usr/bin/env node
// Bundles the `vkey` CLI into out/cli/vkey.mjs with esbuild, so a cold `vkey` starts in a
// quarter of a second instead of compiling TypeScript through tsx at every run (and uses
// less memory: see docs/performance.md). scripts/vkey.mjs runs this bundle when it is
// newer than the sources, and the TypeScript through tsx otherwise: a stale or missing
// bundle never runs old code. Runs at `npm install`/`npm ci` (prepare) and `npm run build`.
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
let esbuild
try {
  esbuild = await import('esbuild')
} catch {
  console.warn('build-cli: esbuild is not installed (a production install?): vkey will run through tsx.')
  process.exit(0)
}
await esbuild.build({
  absWorkingDir: root,
  entryPoints: ['electron/cli/main.ts'],
  outfile: 'out/cli/vkey.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // keytar and better-sqlite3 are native addons: they load from node_modules at run time
  // (better-sqlite3 finds its .node file relative to its own sources). pg-native is pg's
  // optional native driver, which VK Depot does not use.
  external: ['keytar', 'better-sqlite3', 'pg-native'],
  // Some bundled CommonJS dependencies call require() on Node built-ins.
  banner: { js: "import { createRequire as vkeyCreateRequire } from 'node:module'; const require = vkeyCreateRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
})
