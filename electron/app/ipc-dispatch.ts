/**
 * Runs one IPC call against the handlers: the input arrives as `unknown` and is parsed
 * with the channel's schema, the output is parsed before it leaves (unknown fields, such
 * as a secret added by mistake, are stripped), and failures come back as results rather
 * than thrown errors. The Electron main process and the e2e bridge both call this.
 */
import type * as z from 'zod'
import { toErrorView, VkError } from '../../shared/errors'
import { contract, type Channel, type Contract, type EventChannel, type EventPayload, type OutputOf, type Result } from '../../shared/ipc/contract'

export type HandlerInput<C extends Channel> = z.output<Contract[C]['input']>

export type Handlers = {
  [C in Channel]: (input: HandlerInput<C>) => Promise<OutputOf<C>>
}

/** Where the main side pushes events (Electron: webContents.send; e2e: the page). */
export interface EventSink {
  emit<E extends EventChannel>(event: E, payload: EventPayload<E>): void
}

export function isChannel(value: unknown): value is Channel {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(contract, value)
}

/** Validates, runs and validates again; never throws. */
export async function dispatch(handlers: Handlers, channel: unknown, rawInput: unknown): Promise<Result<unknown>> {
  try {
    if (!isChannel(channel)) throw new VkError('usage', `Unknown IPC channel ${JSON.stringify(String(channel)).slice(0, 80)}.`)
    const spec = contract[channel]
    const parsed = spec.input.safeParse(rawInput)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      const field = issue?.path.join('.') || 'input'
      throw new VkError('usage', `Invalid input for ${channel}: ${field} ${issue?.message ?? 'is not valid'}.`, { field })
    }
    const handler = handlers[channel] as (input: unknown) => Promise<unknown>
    const output = await handler(parsed.data)
    const checked = spec.output.safeParse(output)
    if (!checked.success) {
      if (process.env.VKEY_DEBUG === '1') console.error(`[vkey] output of ${channel} failed its schema`, checked.error.issues)
      throw new Error(`output of ${channel} does not match the contract`)
    }
    return { ok: true, value: checked.data }
  } catch (error) {
    if (process.env.VKEY_DEBUG === '1' && !(error instanceof VkError)) console.error(error)
    return { ok: false, error: toErrorView(error) }
  }
}
