/**
 * Navigation, pop-up, webview and permission lockdown for every web contents and the
 * session. Electron types only: index.ts passes the real objects, the tests pass fakes.
 */
import type { Session, WebContents } from 'electron'
import { isAllowedUrl } from './origins'

export type SecurityLog = (message: string) => void

/** URLs can be long or carry query data: log only a bounded, single-line prefix. */
export function describeUrl(url: string): string {
  return JSON.stringify(String(url).slice(0, 120))
}

/**
 * Denies new windows, navigation and redirects away from the app origin, and <webview>.
 * The page has no reason to leave its origin: external links are not part of the product.
 */
export function hardenWebContents(contents: WebContents, allowedOrigins: readonly string[], log: SecurityLog): void {
  contents.setWindowOpenHandler(({ url }) => {
    log(`blocked a new window for ${describeUrl(url)}`)
    return { action: 'deny' }
  })
  contents.on('will-navigate', (event) => {
    if (isAllowedUrl(event.url, allowedOrigins)) return
    event.preventDefault()
    log(`blocked navigation to ${describeUrl(event.url)}`)
  })
  contents.on('will-frame-navigate', (event) => {
    if (isAllowedUrl(event.url, allowedOrigins)) return
    event.preventDefault()
    log(`blocked frame navigation to ${describeUrl(event.url)}`)
  })
  contents.on('will-redirect', (event) => {
    if (isAllowedUrl(event.url, allowedOrigins)) return
    event.preventDefault()
    log(`blocked redirect to ${describeUrl(event.url)}`)
  })
  contents.on('will-attach-webview', (event) => {
    event.preventDefault()
    log('blocked a <webview>')
  })
}

/**
 * What the page may have, and only from the app origin: writing text to the clipboard
 * (sanitized and write-only; "Copy details" on an error uses it) and the camera — video
 * only, never the microphone — for Vehicles → Scan from phone. `mediaTypes` is what a
 * 'media' request or check asks for (Electron's details.mediaTypes / details.mediaType);
 * absent or empty means "unknown" and is denied. Reading the clipboard, microphones, screen
 * capture, notifications, geolocation, devices and everything else stay denied.
 */
export function isPermissionAllowed(permission: string, requestingUrl: string, allowedOrigins: readonly string[], mediaTypes?: readonly string[]): boolean {
  if (!isAllowedUrl(requestingUrl, allowedOrigins)) return false
  if (permission === 'clipboard-sanitized-write') return true
  if (permission === 'media') return mediaTypes !== undefined && mediaTypes.length > 0 && mediaTypes.every((type) => type === 'video')
  return false
}

/** Denies permission requests and checks (but the one above), device access and downloads. */
export function hardenSession(session: Session, allowedOrigins: readonly string[], log: SecurityLog): void {
  session.setPermissionRequestHandler((_contents, permission, callback, details) => {
    const mediaTypes = 'mediaTypes' in details ? details.mediaTypes : undefined
    const allowed = isPermissionAllowed(permission, details.requestingUrl, allowedOrigins, mediaTypes)
    if (!allowed) log(`denied permission ${JSON.stringify(permission)} to ${describeUrl(details.requestingUrl)}`)
    callback(allowed)
  })
  session.setPermissionCheckHandler((_contents, permission, requestingOrigin, details) =>
    isPermissionAllowed(permission, requestingOrigin, allowedOrigins, details?.mediaType ? [details.mediaType] : undefined),
  )
  session.setDevicePermissionHandler(() => false)
  session.setSpellCheckerEnabled(false)
  // Exports are written by the main process after a save dialog; the page never downloads.
  session.on('will-download', (event) => {
    event.preventDefault()
    log('blocked a download')
  })
}
