/**
 * Serving the built renderer over `app://vkey/…` instead of `file://`: a real origin for
 * the CSP and the IPC sender check, and no access to the rest of the disk.
 * No `electron` import: index.ts passes the request in, the tests call these directly.
 */
import { readFile, realpath, stat } from 'node:fs/promises'
import path from 'node:path'
import { appHost, appScheme } from './origins'

/** Privileges for `protocol.registerSchemesAsPrivileged` (every one stated). */
export const appSchemePrivileges = {
  standard: true,
  secure: true,
  supportFetchAPI: true,
  bypassCSP: false,
  allowServiceWorkers: false,
  corsEnabled: false,
  stream: false,
  codeCache: false,
} as const

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
}

export function contentTypeFor(filePath: string): string {
  return contentTypes[path.extname(filePath).toLowerCase()] ?? 'application/octet-stream'
}

/**
 * The file inside `root` an app:// URL names, or undefined when the URL is not ours or
 * would leave `root` (`..`, encoded slashes or backslashes, NUL bytes, another host).
 */
export function resolveAppFile(root: string, requestUrl: string): string | undefined {
  let url: URL
  try {
    url = new URL(requestUrl)
  } catch {
    return undefined
  }
  if (url.protocol !== `${appScheme}:` || url.host !== appHost) return undefined
  if (url.username !== '' || url.password !== '') return undefined
  let pathname: string
  try {
    pathname = decodeURIComponent(url.pathname)
  } catch {
    return undefined
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return undefined
  // Refuse any `..` segment outright rather than trusting normalisation to remove it.
  if (pathname.split('/').some((segment) => segment === '..')) return undefined
  const relative = pathname === '/' || pathname === '' ? 'index.html' : pathname.replace(/^\/+/, '')
  const resolvedRoot = path.resolve(root)
  const file = path.resolve(resolvedRoot, relative)
  const inside = path.relative(resolvedRoot, file)
  if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) return undefined
  return file
}

/**
 * The real file an app:// URL names: symbolic links are resolved (fs.realpath) and the
 * result must still be a regular file inside the real renderer folder, so a link that
 * points elsewhere on the disk is not served. Undefined otherwise (the caller answers 404).
 */
export async function resolveRealAppFile(root: string, requestUrl: string): Promise<string | undefined> {
  const file = resolveAppFile(root, requestUrl)
  if (file === undefined) return undefined
  try {
    const [realRoot, realFile] = await Promise.all([realpath(root), realpath(file)])
    const inside = path.relative(realRoot, realFile)
    if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) return undefined
    return (await stat(realFile)).isFile() ? realFile : undefined
  } catch {
    return undefined
  }
}

/** Headers every app:// response carries, the Content Security Policy first among them. */
export function responseHeaders(filePath: string): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': contentTypeFor(filePath),
    'x-content-type-options': 'nosniff',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  }
  // One literal, so auditors (and Electronegativity's CSP check) read the policy as sent.
  headers['content-security-policy'] =
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
  return headers
}

/** The page's Content Security Policy (the header above). */
export const contentSecurityPolicy: string = responseHeaders('index.html')['content-security-policy'] ?? ''

/** Answers one app:// request from the files under `root` (GET/HEAD only). */
export async function serveAppRequest(root: string, request: { url: string; method: string }): Promise<Response> {
  const textHeaders = { 'content-type': 'text/plain; charset=utf-8', 'content-security-policy': contentSecurityPolicy }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return new Response('Method not allowed', { status: 405, headers: textHeaders })
  }
  const file = await resolveRealAppFile(root, request.url)
  if (file === undefined) return new Response('Not found', { status: 404, headers: textHeaders })
  try {
    const body = await readFile(file)
    return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), { status: 200, headers: responseHeaders(file) })
  } catch {
    return new Response('Not found', { status: 404, headers: textHeaders })
  }
}
