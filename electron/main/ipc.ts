/**
 * The only file that touches ipcMain (eslint.config.js enforces it). Every contract channel
 * is registered through one `handle` that first checks who is calling (the main frame of our
 * window, showing a page from the app origin), then runs `dispatch`: input parsed as
 * unknown, output parsed again, failures returned as results. Electron's own ipcMain is
 * loaded only when the app registers (registerElectronIpc), so the tests import this file
 * in plain Node and register against a fake.
 */
import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron'
import type { ErrorView, Result } from '../../shared/ipc/contract'
import { channels, events, type Channel } from '../../shared/ipc/contract'
import { dispatch, type EventSink, type Handlers } from '../app/ipc-dispatch'
import { describeUrl, type SecurityLog } from './hardening'
import { isTrustedSender, type SenderFacts } from './origins'

export { isTrustedSender } from './origins'

export const untrustedSenderError: ErrorView = { code: 'usage', message: 'Untrusted sender', details: {} }

/**
 * What the sender check needs to know about one IPC message. A message from another
 * web contents, from a sub-frame, or from a frame that is gone is never the main frame.
 */
export function senderFacts(event: Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>, contents: WebContents | undefined): SenderFacts {
  try {
    const frame = event.senderFrame
    if (contents === undefined || contents.isDestroyed() || event.sender !== contents || frame === null || frame.isDestroyed()) {
      return { url: '', isMainFrame: false }
    }
    return { url: frame.url, isMainFrame: frame.parent === null }
  } catch {
    // A frame that navigated or detached mid-call throws on access: treat it as untrusted.
    return { url: '', isMainFrame: false }
  }
}

export interface IpcRegistration {
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>
  handlers: Handlers
  /** The main window's web contents, or undefined while there is no window. */
  mainContents: () => WebContents | undefined
  allowedOrigins: readonly string[]
  log: SecurityLog
}

/** Registers every channel with Electron's ipcMain (the app's main process); returns a function that removes them again. */
export async function registerElectronIpc(registration: Omit<IpcRegistration, 'ipcMain'>): Promise<() => void> {
  const { ipcMain } = await import('electron')
  return registerIpc({ ...registration, ipcMain })
}

/** Registers every channel of the contract; returns a function that removes them again. */
export function registerIpc(registration: IpcRegistration): () => void {
  const { ipcMain, handlers, mainContents, allowedOrigins, log } = registration

  async function handle(channel: Channel, event: IpcMainInvokeEvent, input: unknown): Promise<Result<unknown>> {
    const facts = senderFacts(event, mainContents())
    if (!isTrustedSender(facts, allowedOrigins)) {
      // The input is never logged: it may hold a password or passphrase.
      log(`refused ${channel} from an untrusted sender ${describeUrl(facts.url)} (main frame: ${facts.isMainFrame})`)
      return { ok: false, error: untrustedSenderError }
    }
    return dispatch(handlers, channel, input)
  }

  for (const channel of channels) {
    ipcMain.handle(channel, (event, input: unknown) => handle(channel, event, input))
  }
  return () => {
    for (const channel of channels) ipcMain.removeHandler(channel)
  }
}

/**
 * Pushes events to the main window. The payload is parsed with the event's schema first,
 * so a field that is not in the contract never crosses; a payload that fails is dropped.
 */
export function createEventSink(mainContents: () => WebContents | undefined, log: SecurityLog): EventSink {
  return {
    emit(event, payload) {
      const contents = mainContents()
      if (contents === undefined || contents.isDestroyed()) return
      const checked = events[event].payload.safeParse(payload)
      if (!checked.success) {
        log(`dropped a ${event} event that does not match the contract`)
        return
      }
      contents.send(event, checked.data)
    },
  }
}
