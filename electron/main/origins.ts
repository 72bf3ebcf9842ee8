/**
 * Where the window's page may come from, and who may call the IPC channels.
 * Pure functions (no `electron` import) so the unit tests can run them in Node.
 */

/** The custom protocol the packaged app serves its page from. */
export const appScheme = 'app'
export const appHost = 'vkey'
export const appOrigin = `${appScheme}://${appHost}`
export const appEntryUrl = `${appOrigin}/index.html`

/**
 * The scheme+host+port of a URL, or undefined when it has none we accept.
 * WHATWG `URL.origin` is "null" for non-special schemes such as `app:`, so it is built by hand.
 */
export function originOf(url: string): string | undefined {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return undefined
  }
  // Credentials in a URL are never ours and make origin comparisons ambiguous.
  if (parsed.username !== '' || parsed.password !== '') return undefined
  if (parsed.host === '') return undefined
  return `${parsed.protocol}//${parsed.host}`
}

/** True when the URL belongs to one of the allowed origins (exact scheme, host and port). */
export function isAllowedUrl(url: string, allowedOrigins: readonly string[]): boolean {
  const origin = originOf(url)
  return origin !== undefined && allowedOrigins.includes(origin)
}

export interface SenderFacts {
  /** The URL of the frame that sent the IPC message ('' when the frame is gone). */
  url: string
  /** True only when the frame is the main frame of our own window. */
  isMainFrame: boolean
}

/**
 * Whether an IPC message may reach the handlers: it must come from the main frame of
 * our window (never an iframe) showing a page from the app origin.
 */
export function isTrustedSender(sender: SenderFacts, allowedOrigins: readonly string[]): boolean {
  return sender.isMainFrame === true && typeof sender.url === 'string' && isAllowedUrl(sender.url, allowedOrigins)
}

export type RendererSource = { kind: 'app'; url: string; origin: string } | { kind: 'dev'; url: string; origin: string }

/**
 * Where the window loads its page from: the electron-vite dev server in development,
 * else `app://vkey/index.html`. A packaged app ignores ELECTRON_RENDERER_URL, and only a
 * loopback http(s) dev server is accepted, so an environment variable can never point
 * the window (and its `window.vkey` bridge) at a remote page.
 */
export function rendererSource(isPackaged: boolean, devServerUrl: string | undefined): RendererSource {
  const app: RendererSource = { kind: 'app', url: appEntryUrl, origin: appOrigin }
  if (isPackaged || !devServerUrl) return app
  let parsed: URL
  try {
    parsed = new URL(devServerUrl)
  } catch {
    return app
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname)
  if (!loopback || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) return app
  const origin = originOf(devServerUrl)
  if (origin === undefined) return app
  return { kind: 'dev', url: parsed.href, origin }
}
