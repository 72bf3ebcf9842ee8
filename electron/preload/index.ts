/**
 * The sandboxed preload: exposes `window.vkey` (one method per IPC channel) and nothing
 * else. Bundled to CommonJS (out/preload/index.cjs) because sandboxed preloads cannot be
 * ES modules; at run time it requires only `electron`.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { buildApi } from './api'

const api = buildApi(
  (channel, input) => ipcRenderer.invoke(channel, input),
  (channel, listener) => {
    // The page gets the payload only: the IPC event (and its `sender`) never crosses.
    const wrapped = (_event: IpcRendererEvent, payload: unknown) => listener(payload)
    ipcRenderer.on(channel, wrapped)
    return () => {
      ipcRenderer.removeListener(channel, wrapped)
    }
  },
)

contextBridge.exposeInMainWorld('vkey', api)
