// electron-vite only auto-finds electron.vite.config.*: every call passes `-c electron.config.ts`.
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'electron-vite'
import react from '@vitejs/plugin-react'

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url))

export default defineConfig({
  main: {
    build: {
      outDir: here('./out/main'),
      rollupOptions: { input: { index: here('./electron/main/index.ts') } },
    },
  },
  preload: {
    build: {
      outDir: here('./out/preload'),
      rollupOptions: {
        input: { index: here('./electron/preload/index.ts') },
        output: { format: 'cjs' },
      },
    },
  },
  // The renderer: a sandboxed React page loaded with relative asset paths (custom protocol
  // in the app, a static server in the e2e tests). No inline styles or scripts: the CSP forbids them.
  renderer: {
    root: here('./renderer'),
    base: './',
    plugins: [react()],
    build: {
      outDir: here('./out/renderer'),
      emptyOutDir: true,
      target: 'chrome130',
      cssCodeSplit: false,
      modulePreload: { polyfill: false },
      rollupOptions: { input: { index: here('./renderer/index.html') } },
    },
  },
})
