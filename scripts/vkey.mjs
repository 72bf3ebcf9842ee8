#!/usr/bin/env node
// The `vkey` command. Runs the esbuild bundle (out/cli/vkey.mjs, made by
// scripts/build-cli.mjs at `npm ci` and `npm run build`), or the TypeScript sources
// through tsx when there is no bundle or, in a git checkout, when a source it was built
// from changed since — so `npx vkey` works straight after `npm ci` and a developer never
// runs a stale build.
//
// The freshness check costs a few dozen stat() calls, only in a checkout: build-cli.mjs
// writes the list of the sources it bundled (out/cli/inputs.json), and a source that starts
// importing a new file is itself changed. An installed copy (no .git) runs its bundle.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const bundle = `${root}out/cli/vkey.mjs`

function bundleIsFresh() {
  try {
    const built = statSync(bundle).mtimeMs
    if (!existsSync(`${root}.git`)) return true
    const { inputs } = JSON.parse(readFileSync(`${root}out/cli/inputs.json`, 'utf8'))
    return inputs.every((path) => statSync(`${root}${path}`).mtimeMs <= built)
  } catch {
    // no bundle, no list, or a listed source gone: run the sources
    return false
  }
}

// Ctrl-C while vkey is still loading: noted, and handled as soon as the command line watches
// its signals (electron/cli/interrupt.ts says what was sent, which is nothing yet). A second one ends it at once.
for (const name of ['SIGINT', 'SIGTERM']) {
  process.on(name, () => {
    if (globalThis.vkeyEarlySignal) process.exit(130)
    globalThis.vkeyEarlySignal = name
  })
}

if (bundleIsFresh()) {
  await import(bundle)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import('../electron/cli/main.ts')
}
