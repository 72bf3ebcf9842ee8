/**
 * What the feature modules of the app's handlers share, in one explicit object: the depot,
 * the host's parts (deps), the little state that more than one feature reads or writes,
 * the files chosen in this session, the change event, and the log line for work no one
 * waits for (start-up, timers) that failed. Anything else a feature needs
 * (timers, running requests, the batch runner) stays private to that feature's module.
 */
import { randomBytes } from 'node:crypto'
import { basename, join } from 'node:path'
import { toErrorView, VkError } from '../../../shared/errors'
import { Settings } from '../../../shared/ipc/contract'
import type { Depot } from '../../core/depot'
import type { Simulator } from '../../core/simulator'
import type { HandlerDeps } from '../app-deps'
import type { Handlers } from '../ipc-dispatch'

const DEFAULT_SETTINGS: Settings = { locale: 'system', clipboardClearSeconds: 30 }
const SETTINGS_JOB = 'reading the settings'

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
  /**
   * Logs that background work (`job`, e.g. "resuming unfinished batches") failed, in one
   * line (failureLine). A job retried on a timer logs the same failure once, and again
   * after it worked (`worked(job)`) or failed differently.
   */
  failed(job: string, error: unknown): void
  worked(job: string): void
}

/** One feature's channels, and what to stop when the app quits. */
export interface Feature<C extends keyof Handlers = keyof Handlers> {
  handlers: Pick<Handlers, C>
  dispose?(): void | Promise<void>
}

/**
 * The log line for work that failed: the error's code and message as the page would show
 * them. An unexpected error's own text stays out (it may quote a secret; VKEY_DEBUG=1 prints it).
 */
export function failureLine(job: string, error: unknown): string {
  const view = toErrorView(error)
  return `${job} failed: ${view.message} [${view.code}]`
}

/**
 * The stored settings over the defaults. A stored value the app cannot use (a hand edit of
 * settings.json) gives way to its default and is named in `unusable`, so the Settings
 * screen still opens and saving there repairs it.
 */
function readSettings(stored: unknown): { settings: Settings; unusable: string[] } {
  if (stored === undefined) return { settings: DEFAULT_SETTINGS, unusable: [] }
  const value: Partial<Record<string, unknown>> = typeof stored === 'object' && stored !== null ? stored : {}
  const unusable = typeof stored === 'object' && stored !== null ? [] : ['settings']
  const usable: Partial<Record<string, unknown>> = {}
  for (const [key, schema] of Object.entries(Settings.shape)) {
    if (value[key] === undefined) continue
    const field = schema.safeParse(value[key])
    if (field.success) usable[key] = field.data
    else unusable.push(key)
  }
  return { settings: Settings.parse({ ...DEFAULT_SETTINGS, ...usable }), unusable }
}

export function createContext(deps: HandlerDeps, depot: Depot): HandlerContext {
  const grants = new Map<string, string>()
  /** The last failure logged for each job still failing. */
  const failing = new Map<string, string>()
  const failed = (job: string, error: unknown): void => {
    const line = failureLine(job, error)
    if (failing.get(job) === line) return
    failing.set(job, line)
    deps.log(line)
    if (process.env.VKEY_DEBUG === '1' && !(error instanceof VkError)) console.error(error)
  }
  const worked = (job: string): void => void failing.delete(job)
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
    settings() {
      const { settings, unusable } = readSettings(deps.store.get('settings'))
      if (!unusable.length) worked(SETTINGS_JOB)
      else {
        const file = join(deps.dataDir, 'settings.json')
        const what = `${file} holds a value for ${unusable.join(', ')} that VK Depot cannot use`
        failed(SETTINGS_JOB, new VkError('input.field', `${what}: the default is used until it is set again in Settings.`, { file, field: unusable[0]! }))
      }
      return settings
    },
    notify(ids) {
      if (ids.length) deps.events.emit('handovers:changed', { ids: [...ids] })
    },
    failed,
    worked,
  }
}
