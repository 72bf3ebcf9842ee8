/**
 * The IPC handlers as plain functions over the depot, one module per feature, composed
 * here: the Electron main process registers them through main/ipc.ts, the e2e bridge calls
 * the same functions from Chromium. Inputs arrive already parsed by dispatch(); outputs are
 * parsed again there. What the features share is in context.ts; the rest is theirs.
 */
import { Depot } from '../../core/depot'
import type { Simulator } from '../../core/simulator'
import type { HandlerDeps } from '../app-deps'
import type { Handlers } from '../ipc-dispatch'
import { batchFeature } from './batch'
import { certificatesFeature } from './certificates'
import { createContext, type Feature } from './context'
import { exportsFeature } from './exports'
import { filesFeature } from './files'
import { fleetFeature } from './fleet'
import { handoversFeature, sweepExpired } from './handovers'
import { profilesFeature } from './profiles'
import { settingsFeature } from './settings'
import { tokensFeature } from './tokens'

export interface HandlerHost extends Handlers {
  dispose(): Promise<void>
  /** The depot behind the handlers (tests and the main process use it directly). */
  readonly depot: Depot
  /** The embedded simulator once "Try the simulator" started it. */
  simulator(): Simulator | undefined
}

export async function createHandlers(deps: HandlerDeps): Promise<HandlerHost> {
  const depot = await Depot.open({ dataDir: deps.dataDir, store: deps.store, ...(deps.now ? { now: deps.now } : {}) })
  const context = createContext(deps, depot)
  // Start-up: erase expired tokens before the first call (the handovers feature keeps doing it).
  await sweepExpired(context)
  // One line per feature module (`xFeature(context): Feature<its channels>`, see context.ts):
  // a new feature is one more line here. The type of `all` below fails while a channel has
  // no handler; compose() refuses a channel answered twice.
  const { handlers, dispose } = compose([
    settingsFeature(context),
    profilesFeature(context),
    filesFeature(context),
    certificatesFeature(context),
    handoversFeature(context),
    tokensFeature(context),
    batchFeature(context),
    exportsFeature(context),
    fleetFeature(context),
  ] as const)
  const all: Handlers = handlers
  return {
    ...all,
    depot,
    simulator: () => context.state.simulator,
    async dispose() {
      await dispose()
      await depot.close()
      await context.state.simulator?.close()
    },
  }
}

type Intersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never

/** The features' channels as one object (a channel answered twice is a mistake), and one dispose for all, in order. */
function compose<const F extends readonly Feature<never>[]>(features: F): { handlers: Intersection<F[number]['handlers']>; dispose(): Promise<void> } {
  const handlers: Record<string, unknown> = {}
  for (const feature of features) {
    for (const [channel, handler] of Object.entries(feature.handlers)) {
      if (channel in handlers) throw new Error(`The IPC channel ${channel} is answered by two feature modules.`)
      handlers[channel] = handler
    }
  }
  return {
    handlers: handlers as Intersection<F[number]['handlers']>,
    async dispose() {
      for (const feature of features) await feature.dispose?.()
    },
  }
}
