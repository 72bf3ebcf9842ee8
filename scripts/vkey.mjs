#!/usr/bin/env node
// The `vkey` command: runs the TypeScript CLI through tsx, so `npx vkey` works
// straight after `npm ci` with no build step.
import { register } from 'tsx/esm/api'
register()
await import('../electron/cli/main.ts')
