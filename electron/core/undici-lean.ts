/**
 * The three parts of undici the PSA client uses (Agent, buildConnector, request), imported
 * from their own files. undici's index also loads fetch, WebSocket, the caches and the mock
 * agents, and reads globalThis.Headers, which makes Node load its own second copy of undici:
 * together ≈ 60 ms of the ≈ 450 ms of a cold `vkey token` (docs/performance.md). undici 7
 * has no "exports" map, so these files are reachable as they are; tests/unit/undici-lean.test.ts
 * checks they are the very objects undici's index exports, so an upgrade that moves them fails
 * there, not in a technician's hands.
 */
import type { Dispatcher } from 'undici'
import AgentClass from 'undici/lib/dispatcher/agent.js'
import build from 'undici/lib/core/connect.js'
import dispatcherRequest from 'undici/lib/api/api-request.js'

export const Agent = AgentClass
export type Agent = InstanceType<typeof AgentClass>
export const buildConnector = build

/** undici's request(url, { dispatcher, … }), for a dispatcher that has not been given undici's request methods. */
export function request(
  url: string,
  options: Omit<Dispatcher.RequestOptions<unknown>, 'origin' | 'path'> & { dispatcher: Dispatcher },
): Promise<Dispatcher.ResponseData<unknown>> {
  const { dispatcher, ...rest } = options
  const target = new URL(url)
  return dispatcherRequest.call(dispatcher, { ...rest, origin: target.origin, path: `${target.pathname}${target.search}` })
}
