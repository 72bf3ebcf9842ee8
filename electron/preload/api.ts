/**
 * Builds `window.vkey` from the channel list: one named method per channel, and
 * `on.<method>(listener)` subscriptions that return an unsubscribe function.
 * Imports only the plain-data channel list (the contract as types), so nothing but
 * `electron` is required at run time in the sandboxed preload.
 */
import { channelMethods, eventMethods, type Channel, type EventChannel } from '../../shared/ipc/channels'
import type { VkeyApi } from '../../shared/ipc/contract'

/** Sends one request to the main process (ipcRenderer.invoke in the app). */
export type Invoke = (channel: Channel, input: unknown) => Promise<unknown>
/** Listens to one event; the listener gets the payload only. Returns an unsubscribe function. */
export type Subscribe = (channel: EventChannel, listener: (payload: unknown) => void) => () => void

export function buildApi(invoke: Invoke, subscribe: Subscribe): VkeyApi {
  const api: Record<string, unknown> = {}
  for (const [channel, method] of Object.entries(channelMethods) as [Channel, string][]) {
    // Exactly one argument crosses, whatever the page passes.
    api[method] = (input?: unknown) => invoke(channel, input)
  }
  const on: Record<string, unknown> = {}
  for (const [channel, method] of Object.entries(eventMethods) as [EventChannel, string][]) {
    on[method] = (listener: unknown) => {
      if (typeof listener !== 'function') throw new TypeError(`${method} needs a function`)
      return subscribe(channel, (payload) => (listener as (payload: unknown) => void)(payload))
    }
  }
  api.on = Object.freeze(on)
  return Object.freeze(api) as unknown as VkeyApi
}
