// electron-vite only auto-finds electron.vite.config.*: every call passes `-c electron.config.ts`.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'electron-vite'
import react from '@vitejs/plugin-react'

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url))

// `npm run dev` only: Vite's dev server injects an inline React-refresh preamble and styles
// and talks to itself over a websocket. The built app (`npm start`, packages) keeps the strict CSP.
const devServerCsp = {
  name: 'vkey-dev-server-csp',
  apply: 'serve' as const,
  transformIndexHtml: (html: string): string =>
    html
      .replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
      .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
      .replace("connect-src 'none'", "connect-src 'self' ws://localhost:* http://localhost:*"),
}

// The QR decoder's WebAssembly, as base64 inside the worker's chunk (renderer/src/scanner):
// nothing is fetched at run time, so the CSP keeps connect-src 'none'.
const zxingWasmId = 'virtual:zxing-reader-wasm'
const zxingWasmInline = {
  name: 'vkey-zxing-wasm-inline',
  resolveId: (id: string): string | undefined => (id === zxingWasmId ? `\0${zxingWasmId}` : undefined),
  load: (id: string): string | undefined =>
    id === `\0${zxingWasmId}`
      ? `export default ${JSON.stringify(readFileSync(createRequire(import.meta.url).resolve('zxing-wasm/reader/zxing_reader.wasm')).toString('base64'))}`
      : undefined,
}

export default defineConfig({
  // Main process: an ES module (package.json "type": "module"; electron-store is ESM-only).
  // Dependencies stay external and load from node_modules inside app.asar, so keytar's
  // native .node file is never bundled (electron-builder unpacks and rebuilds it).
  main: {
    build: {
      outDir: here('./out/main'),
      externalizeDeps: true,
      rolldownOptions: {
        input: { index: here('./electron/main/index.ts') },
        external: ['keytar', 'better-sqlite3'],
        output: { format: 'es', entryFileNames: '[name].js' },
      },
    },
  },
  // Preload: CommonJS in one file (out/preload/index.cjs), because a sandboxed preload can
  // neither be an ES module nor require anything but `electron`; nothing is externalized.
  preload: {
    build: {
      outDir: here('./out/preload'),
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: here('./electron/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  // The renderer: a sandboxed React page loaded with relative asset paths (custom protocol
  // in the app, a static server in the e2e tests). No inline styles or scripts: the CSP forbids them.
  renderer: {
    root: here('./renderer'),
    base: './',
    plugins: [react(), devServerCsp],
    // The QR decoder runs in a module worker (renderer/src/scanner): its own lazily loaded chunk.
    worker: { format: 'es' as const, plugins: () => [zxingWasmInline] },
    build: {
      outDir: here('./out/renderer'),
      emptyOutDir: true,
      target: 'chrome130',
      cssCodeSplit: false,
      modulePreload: { polyfill: false },
      // electron-vite turns minification off by default; the renderer ships minified (bundle budget).
      minify: true,
      reportCompressedSize: true,
      rolldownOptions: { input: { index: here('./renderer/index.html') } },
    },
  },
})
