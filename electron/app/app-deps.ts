/**
 * What the IPC handlers need from their host. The Electron main process passes the real
 * dialogs, clipboard and electron-store; the CLI and the e2e bridge pass their own. Only
 * the parts that need the Electron binary are swapped: everything else is the same core.
 */
import type { KeyValueStore } from '../core/profiles'
import type { EventSink } from './ipc-dispatch'

export type { KeyValueStore }

export type FilePurpose = 'certificate' | 'key' | 'ca' | 'cardata'
export type SaveFormat = 'png' | 'svg' | 'json' | 'pdf' | 'csv' | 'csr'

export interface Dialogs {
  /** Absolute paths the user picked; [] when the dialog was cancelled. */
  chooseFiles(purpose: FilePurpose, multiple: boolean): Promise<string[]>
  /** Where to save; undefined when cancelled. */
  chooseSavePath(suggestedName: string, format: SaveFormat): Promise<string | undefined>
}

export interface Clipboard {
  writeText(text: string): void
  readText(): string
  clear(): void
}

export interface HandlerDeps {
  dataDir: string
  /** Non-secret settings and profiles (electron-store in the app, conf elsewhere). */
  store: KeyValueStore
  dialogs: Dialogs
  clipboard: Clipboard
  events: EventSink
  /**
   * One line for the app's log (stderr in the app): background work that failed with no
   * one waiting for it (resuming batches at start, the expiry sweep, the queue's retries).
   * Never given a secret: only error codes and the messages the page may show as well.
   */
  log(line: string): void
  systemLocale: string
  /** The OS's regional format (Electron's app.getSystemLocale: "en-GB" on a UK Windows in English); dates follow it. */
  regionalLocale?: string
  version: string
  platform: string
  now?: () => Date
}
