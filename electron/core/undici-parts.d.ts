/** The undici files undici-lean.ts imports on their own, typed from undici's own declarations. */
declare module 'undici/lib/dispatcher/agent.js' {
  import type { Agent } from 'undici'
  const AgentClass: typeof Agent
  export default AgentClass
}
declare module 'undici/lib/core/connect.js' {
  import type { buildConnector } from 'undici'
  const build: typeof buildConnector
  export default build
}
declare module 'undici/lib/api/api-request.js' {
  import type { Dispatcher } from 'undici'
  /** Dispatcher.prototype.request: `this` is the dispatcher. */
  function request(this: Dispatcher, options: Dispatcher.RequestOptions<unknown>): Promise<Dispatcher.ResponseData<unknown>>
  export default request
}
