#!/usr/bin/env node
// Bundles the `vkey` CLI into out/cli/vkey.mjs with esbuild, so a cold `vkey` starts in a
// quarter of a second instead of compiling TypeScript through tsx at every run (and uses
// less memory: see docs/performance.md). scripts/vkey.mjs runs this bundle when it is
// newer than the sources, and the TypeScript through tsx otherwise: a stale or missing
// bundle never runs old code. Runs at `npm install`/`npm ci` (prepare) and `npm run build`.
import { rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
let esbuild
try {
  esbuild = await import('esbuild')
} catch {
  console.warn('build-cli: esbuild is not installed (a production install?): vkey will run through tsx.')
  process.exit(0)
}
// Chunks of an older build would pile up: start from an empty folder.
rmSync(`${root}out/cli`, { recursive: true, force: true })
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { vkey: 'electron/cli/main.ts' },
  outdir: 'out/cli',
  outExtension: { '.js': '.mjs' },
  // Code that only some commands need (pdf-lib for `vkey pack`) goes to chunks loaded on
  // demand, and whitespace and syntax are minified (names kept for stack traces): a cold
  // `vkey token` parses ≈ 40 % less JavaScript (docs/performance.md).
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  minifyWhitespace: true,
  minifySyntax: true,
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
  metafile: true,
})

// scripts/vkey.mjs runs the bundle only when none of the sources it was built from changed
// since: their list, so that check is a few dozen stat() calls rather than a tree walk.
const inputs = Object.keys(result.metafile.inputs).filter((path) => !path.startsWith('node_modules/') && !path.includes('/node_modules/'))
writeFileSync(`${root}out/cli/inputs.json`, JSON.stringify({ inputs: [...inputs, 'package-lock.json'] }))
