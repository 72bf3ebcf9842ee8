/**
 * The app's handlers on the parts the renderer tests do not reach: the clipboard is
 * cleared after the configured time (and at quit), and the page cannot name a file path.
 */
import assert from 'node:assert/strict'
import { mock, test } from 'node:test'
import type { Clipboard } from '../../electron/app/app-deps'
import { dispatch } from '../../electron/app/ipc-dispatch'
import { setupDepot, testHandlers, vinFor } from '../helpers/depot-env'

function memoryClipboard(): Clipboard & { text: string } {
  return {
    text: '',
    writeText(text) {
      this.text = text
    },
    readText() {
      return this.text
    },
    clear() {
      this.text = ''
    },
  }
}

async function appWithToken(t: Parameters<typeof setupDepot>[0], clipboard: Clipboard) {
  const { dataDir, depot } = await setupDepot(t)
  const [record] = await depot.addVehicles({
    vehicles: [{ source: 'car.json', index: 0, vin: vinFor(21), carData: 'AAAA', carDataSignature: 'BBBB' }],
    issues: [],
  })
  await depot.requestToken(record!.id, { kind: 'seconds', seconds: 3600 })
  const handlers = await testHandlers(t, dataDir, { clipboard })
  const detail = await handlers['handovers:get']({ id: record!.id })
  return { handlers, id: record!.id, token: detail.token!.accessToken }
}

test('a copied token is cleared from the clipboard after the configured time, unless the user copied something else', async (t) => {
  const clipboard = memoryClipboard()
  const { handlers, id, token } = await appWithToken(t, clipboard)
  await handlers['settings:set']({ clipboardClearSeconds: 10 })
  mock.timers.enable({ apis: ['setTimeout'] })
  t.after(() => mock.timers.reset())

  assert.deepEqual(await handlers['clipboard:copy-token']({ id }), { clearsInSeconds: 10 })
  assert.equal(clipboard.text, token)
  mock.timers.tick(9_000)
  assert.equal(clipboard.text, token, 'still there before the time is up')
  mock.timers.tick(1_000)
  assert.equal(clipboard.text, '', 'cleared after 10 s')

  await handlers['clipboard:copy-token']({ id })
  clipboard.writeText('something the technician copied since')
  mock.timers.tick(10_000)
  assert.equal(clipboard.text, 'something the technician copied since', "the user's own clipboard is not wiped")
})

test('quitting the app clears a token still on the clipboard', async (t) => {
  const clipboard = memoryClipboard()
  const { handlers, id } = await appWithToken(t, clipboard)
  await handlers['clipboard:copy-token']({ id })
  await handlers.dispose()
  assert.equal(clipboard.text, '')
})

test('the page cannot make the main process read a path it names: only files chosen in a dialog', async (t) => {
  const { handlers } = await appWithToken(t, memoryClipboard())
  const result = await dispatch(handlers, 'certificate:import', { profile: 'sim', certificate: '/etc/passwd' })
  assert.equal(result.ok, false)
  assert.equal(!result.ok && result.error.code, 'usage')
  assert.match(!result.ok ? result.error.message : '', /file dialog/)
  const files = await dispatch(handlers, 'vehicles:import-files', { grants: ['/etc/shadow'] })
  assert.equal(files.ok, false)
})

test('a token request answers with the key and its QR code from one unseal; the vehicle alone unseals nothing', async (t) => {
  const { dataDir, depot } = await setupDepot(t)
  const [record] = await depot.addVehicles({
    vehicles: [{ source: 'car.json', index: 0, vin: vinFor(22), carData: 'AAAA', carDataSignature: 'BBBB' }],
    issues: [],
  })
  const handlers = await testHandlers(t, dataDir)
  const unseal = mock.method(await handlers.depot.handovers(), 'tokenOf')

  const answer = await handlers['token:request']({
    handoverId: record!.id,
    duration: { kind: 'seconds', seconds: 3600 },
    requestId: 'request-qr-0001',
    qr: 'svg',
  })
  assert.equal(answer.outcome, 'issued')
  assert.ok(answer.token?.accessToken, 'the token is in the answer')
  assert.match(answer.qr?.dataUrl ?? '', /^data:image\/svg\+xml;base64,/, 'and its QR code')
  assert.equal(unseal.mock.callCount(), 1, 'the token was unsealed once for both')

  const vehicle = await handlers['handovers:get']({ id: answer.id, token: false })
  assert.equal(vehicle.token, undefined)
  assert.equal(vehicle.qr, undefined)
  assert.equal(unseal.mock.callCount(), 1, 'the vehicle alone unseals nothing')
  assert.deepEqual(await handlers['handovers:qr']({ id: answer.id, format: 'svg' }), answer.qr, 'the same QR code as handovers:qr makes')
})

test('every change to a handover tells the page: update, handed over, remove', async (t) => {
  const { dataDir, depot } = await setupDepot(t)
  const [issued, draft] = await depot.addVehicles({
    vehicles: [
      { source: 'car.json', index: 0, vin: vinFor(23), carData: 'AAAA', carDataSignature: 'BBBB' },
      { source: 'car.json', index: 1, vin: vinFor(24), carData: 'CCCC', carDataSignature: 'DDDD' },
    ],
    issues: [],
  })
  await depot.requestToken(issued!.id, { kind: 'seconds', seconds: 3600 })
  const changed: string[][] = []
  const handlers = await testHandlers(t, dataDir, {
    emit: (event, payload) => void (event === 'handovers:changed' && changed.push([...(payload as { ids: string[] }).ids])),
  })
  changed.length = 0 // whatever the start-up sweep said

  await handlers['handovers:update']({ id: draft!.id, label: 'Blue one' })
  assert.deepEqual(changed.pop(), [draft!.id])
  await handlers['handovers:mark-handed-over']({ id: issued!.id })
  assert.deepEqual(changed.pop(), [issued!.id])
  assert.deepEqual(await handlers['handovers:remove']({ id: draft!.id }), { removed: true })
  assert.deepEqual(changed.pop(), [draft!.id])
})
