/**
 * Waiting on a condition, bounded: tests wait for what they need to see (a request arrived,
 * a process said so), never for a fixed time, and fail with what they waited for when it
 * does not come.
 */
import { setTimeout as delay } from 'node:timers/promises'

/**
 * Resolves with the condition's first truthy value, checked every `everyMs` (10 ms unless
 * told); fails after `timeoutMs` (30 s unless told) naming `what`.
 */
export async function waitUntil<T>(
  condition: () => T | Promise<T>,
  what: string,
  options: { timeoutMs?: number; everyMs?: number } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000)
  for (;;) {
    const value = await condition()
    if (value) return value as NonNullable<T>
    if (Date.now() > deadline) throw new Error(`waited ${options.timeoutMs ?? 30_000} ms for ${what}`)
    await delay(options.everyMs ?? 10)
  }
}
