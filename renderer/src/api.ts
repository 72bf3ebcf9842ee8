/**
 * Small helpers over `window.vkey`: results become values or a thrown CallFailed that
 * carries the main side's ErrorView, so screens can keep one error state each.
 */
import type { ErrorView, Result } from '../../shared/ipc/contract'

export type { ErrorView }

/** A failed IPC call, carrying the error exactly as the main process described it. */
export class CallFailed extends Error {
  readonly view: ErrorView

  constructor(view: ErrorView) {
    super(view.message)
    this.name = 'CallFailed'
    this.view = view
  }
}

/** Awaits a bridge call and returns its value, or throws CallFailed. */
export async function unwrap<T>(pending: Promise<Result<T>>): Promise<T> {
  let result: Result<T>
  try {
    result = await pending
  } catch {
    // The bridge itself failed (main process gone): not something the user can fix here.
    throw new CallFailed({ code: 'internal', message: 'VK Depot lost contact with its main process. Restart the app.', details: {} })
  }
  if (result.ok) return result.value
  throw new CallFailed(result.error)
}

/** Any thrown value as an ErrorView (bridge errors keep their code; the rest is 'internal'). */
export function toErrorView(error: unknown): ErrorView {
  if (error instanceof CallFailed) return error.view
  return { code: 'internal', message: error instanceof Error ? error.message : String(error), details: {} }
}

/** The bridge, as one place to read it from. */
export function vkey(): Window['vkey'] {
  return window.vkey
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'

/** A request id: 16 characters from [A-Za-z0-9_-] (64 symbols, so `& 63` is unbiased). */
export function newRequestId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  let id = ''
  for (const byte of bytes) id += ID_ALPHABET[byte & 63]
  return id
}
