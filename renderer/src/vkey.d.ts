// The bridge the preload (or the e2e harness) puts on the page. Types only: no runtime import.
import type { VkeyApi } from '../../shared/ipc/contract'

declare global {
  interface Window {
    readonly vkey: VkeyApi
  }
}

export {}
