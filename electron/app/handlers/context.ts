/**
 * What the feature modules of the app's handlers share, in one explicit object: the depot,
 * the host's parts (deps), the little state that more than one feature reads or writes,
 * the files chosen in this session, and the change event. Anything else a feature needs
 * (timers, running requests, the batch runner) stays private to that feature's module.
 */
import { randomBytes } from 'node:crypto'
import { basename } from 'node:path'
import { VkError } from '../../../shared/errors'
import type { Settings } from '../../../shared/ipc/contract'
import type { Depot } from '../../core/depot'
import type { Simulator } from '../../core/simulator'
import type { HandlerDeps } from '../app-deps'
import type { Handlers } from '../ipc-dispatch'

const DEFAULT_SETTINGS: Settings = { locale: 'system', clipboardClearSeconds: 30 }

/** The state more than one feature touches. */
export interface AppState {
  /** False after a request found no network (or a batch queued one); true again once PSA answers. Shown by app:info. */
  online: boolean
  /** The embedded simulator once "Try the simulator" started it (closed when the app quits). */
  simulator: Simulator | undefined
}

/** Files the user chose in a dialog this session, by an opaque grant: the page never names a path. */
export interface FileGrants {
  /** A new grant for a chosen path. */
  grant(path: string): { grant: string; name: string }
  /** The path behind a grant; refuses one that was not given in this session. */
  pathOf(grant: string): string
}

export interface HandlerContext {
  readonly depot: Depot
  readonly deps: HandlerDeps
  readonly state: AppState
  readonly files: FileGrants
  /** The settings as stored, over the defaults. */
  settings(): Settings
  /** Tells the page these handovers changed (EVERY_HANDOVER: reload them all). */
  notify(ids: readonly string[]): void
}

/** One feature's channels, and what to stop when the app quits. */
export interface Feature<C extends keyof Handlers = keyof Handlers> {
  handlers: Pick<Handlers, C>
  dispose?(): void | Promise<void>
}

export function createContext(deps: HandlerDeps, depot: Depot): HandlerContext {
  const grants = new Map<string, string>()
  return {
    depot,
    deps,
    state: { online: true, simulator: undefined },
    files: {
      grant(path) {
        const grant = randomBytes(12).toString('base64url')
        grants.set(grant, path)
        return { grant, name: basename(path) }
      },
      pathOf(grant) {
        const path = grants.get(grant)
        if (!path) throw new VkError('usage', 'That file was not chosen in this session. Choose it again with the file dialog.', { field: 'grant' })
        return path
      },
    },
    settings: () => ({ ...DEFAULT_SETTINGS, ...((deps.store.get('settings') as Partial<Settings> | undefined) ?? {}) }),
    notify(ids) {
      if (ids.length) deps.events.emit('handovers:changed', { ids: [...ids] })
    },
  }
}
