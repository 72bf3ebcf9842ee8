/**
 * Camera access (Vehicles → Scan from phone): granted by the main process only to the app's
 * own origin and only for video; every other origin and every non-video request is refused,
 * through the real handlers hardenSession installs (request and check).
 */
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { readFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import type { Session } from 'electron'
import { hardenSession, isPermissionAllowed } from '../../electron/main/hardening'
import { appOrigin } from '../../electron/main/origins'
import builderConfig from '../../scripts/electron-builder-config'

type RequestHandler = (contents: unknown, permission: string, callback: (granted: boolean) => void, details: unknown) => void
type CheckHandler = (contents: unknown, permission: string, origin: string, details: unknown) => boolean

function installedHandlers(): { request: RequestHandler; check: CheckHandler; logs: string[] } {
  const recorded: Record<string, unknown> = {}
  const session = new EventEmitter() as EventEmitter & Record<string, unknown>
  for (const name of ['setPermissionRequestHandler', 'setPermissionCheckHandler', 'setDevicePermissionHandler', 'setSpellCheckerEnabled']) {
    session[name] = (value: unknown) => {
      recorded[name] = value
    }
  }
  const logs: string[] = []
  hardenSession(session as unknown as Session, [appOrigin], (line) => logs.push(line))
  return { request: recorded.setPermissionRequestHandler as RequestHandler, check: recorded.setPermissionCheckHandler as CheckHandler, logs }
}

function ask(request: RequestHandler, permission: string, details: Record<string, unknown>): boolean | undefined {
  let granted: boolean | undefined
  request(
    {},
    permission,
    (g) => {
      granted = g
    },
    details,
  )
  return granted
}

describe('camera permission', () => {
  it('the app origin gets the camera for video, through the request and the check handlers', () => {
    const { request, check } = installedHandlers()
    assert.equal(ask(request, 'media', { requestingUrl: 'app://vkey/index.html', mediaTypes: ['video'] }), true)
    assert.equal(check({}, 'media', 'app://vkey', { mediaType: 'video' }), true)
  })

  it('refuses the microphone, audio with video, unknown media and screen capture, even to the app', () => {
    const { request, check, logs } = installedHandlers()
    for (const mediaTypes of [['audio'], ['video', 'audio'], [], undefined]) {
      assert.equal(ask(request, 'media', { requestingUrl: 'app://vkey/index.html', ...(mediaTypes ? { mediaTypes } : {}) }), false, String(mediaTypes))
    }
    assert.equal(check({}, 'media', 'app://vkey', { mediaType: 'audio' }), false)
    assert.equal(check({}, 'media', 'app://vkey', { mediaType: 'unknown' }), false)
    assert.equal(check({}, 'media', 'app://vkey', {}), false)
    assert.equal(ask(request, 'display-capture', { requestingUrl: 'app://vkey/index.html' }), false)
    assert.ok(
      logs.some((line) => line.includes('"media"')),
      'a refusal is logged',
    )
  })

  it('refuses video to every other origin', () => {
    const { request, check } = installedHandlers()
    for (const url of ['https://evil.example/', 'http://localhost:5173/', 'app://other/index.html', 'file:///index.html', 'app://user:pw@vkey/', '']) {
      assert.equal(ask(request, 'media', { requestingUrl: url, mediaTypes: ['video'] }), false, url)
      assert.equal(check({}, 'media', url, { mediaType: 'video' }), false, url)
      assert.equal(isPermissionAllowed('media', url, [appOrigin], ['video']), false, url)
    }
  })

  it('macOS: the build declares why the camera is used, and the hardened runtime allows it', async () => {
    const mac = (builderConfig as { mac?: { extendInfo?: Record<string, string> } }).mac
    assert.match(mac?.extendInfo?.NSCameraUsageDescription ?? '', /camera.*CarData/)
    assert.match(
      await readFile(new URL('../../build/entitlements.mac.plist', import.meta.url), 'utf8'),
      /com\.apple\.security\.device\.camera<\/key>\s*<true\/>/,
    )
  })
})
