#!/usr/bin/env node
// The `vkey` command. Runs the esbuild bundle (out/cli/vkey.mjs, made by
// scripts/build-cli.mjs at `npm ci` and `npm run build`) when it is newer than every
// source file, and the TypeScript sources through tsx otherwise, so `npx vkey` works
// straight after `npm ci` and never runs a stale build.
import { readdirSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const bundle = `${root}out/cli/vkey.mjs`

function newestSource(folder) {
  let newest = 0
  for (const entry of readdirSync(folder, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(`${entry.parentPath}/${entry.name}`).mtimeMs)
  }
  return newest
}

function bundleIsFresh() {
  try {
    const built = statSync(bundle).mtimeMs
    return built >= Math.max(newestSource(`${root}electron`), newestSource(`${root}shared`), statSync(`${root}package-lock.json`).mtimeMs)
  } catch {
    return false
  }
}

if (bundleIsFresh()) {
  await import(bundle)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import('../electron/cli/main.ts')
}
