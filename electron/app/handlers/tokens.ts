/**
 * Tokens: a request for one vehicle's key (cancellable by its request id) and the token on
 * the clipboard, cleared after the configured time, or at quit, unless the user has copied
 * something else since.
 */
import { isNetworkUnreachable, VkError } from '../../../shared/errors'
import { detailOf, keyOf } from '../views'
import type { Feature, HandlerContext } from './context'

export function tokensFeature({ depot, deps, state, settings, notify }: HandlerContext): Feature<'token:request' | 'token:cancel' | 'clipboard:copy-token'> {
  const requests = new Map<string, AbortController>()
  const clipboardTimers = new Set<NodeJS.Timeout>()
  /** The token last put on the clipboard, until it is cleared. */
  let copiedToken: string | undefined

  return {
    dispose() {
      for (const timer of clipboardTimers) clearTimeout(timer)
      // Quitting before the timer ran: a token must not outlive the app on the clipboard.
      if (copiedToken !== undefined && deps.clipboard.readText() === copiedToken) deps.clipboard.clear()
      copiedToken = undefined
      for (const controller of requests.values()) controller.abort()
    },
    handlers: {
      async 'token:request'(input) {
        if (requests.has(input.requestId)) throw new VkError('usage', 'This request is already running.', { field: 'requestId' })
        const controller = new AbortController()
        requests.set(input.requestId, controller)
        try {
          const result = await depot.requestToken(input.handoverId, input.duration, {
            signal: controller.signal,
            ...(input.forceNew ? { forceNew: true } : {}),
          })
          if (result.outcome !== 'reused') state.online = true
          notify([input.handoverId, result.record.id, ...(result.replaced ? [result.replaced.id] : [])])
          return { ...(await detailOf(depot, result.record, input.qr)), outcome: result.outcome, ...(result.gateNote ? { gateNote: result.gateNote } : {}) }
        } catch (error) {
          if (isNetworkUnreachable(error)) state.online = false
          notify([input.handoverId])
          throw error
        } finally {
          requests.delete(input.requestId)
        }
      },
      async 'token:cancel'(input) {
        const controller = requests.get(input.requestId)
        controller?.abort()
        return { cancelled: Boolean(controller) }
      },
      async 'clipboard:copy-token'(input) {
        const token = (await keyOf(depot, input.id)).token.accessToken
        deps.clipboard.writeText(token)
        copiedToken = token
        const seconds = settings().clipboardClearSeconds
        const timer = setTimeout(() => {
          clipboardTimers.delete(timer)
          // Clear only if the clipboard still holds our token: never wipe what the user copied since.
          if (deps.clipboard.readText() === token) deps.clipboard.clear()
          if (copiedToken === token) copiedToken = undefined
        }, seconds * 1000)
        timer.unref()
        clipboardTimers.add(timer)
        return { clearsInSeconds: seconds }
      },
    },
  }
}
