/**
 * The app's handlers on the parts the renderer tests do not reach: the clipboard is
 * cleared after the configured time (and at quit), the page cannot name a file path, and
 * work no one waits for (resuming batches at start, the expiry sweep) says in the log why
 * it failed (so does a batch started in the background that stops); a settings value the app
 * cannot use gives way to its default.
 */
import assert from 'node:assert/strict'
import { mock, test } from 'node:test'
import type { Clipboard } from '../../electron/app/app-deps'
import { dispatch } from '../../electron/app/ipc-dispatch'
import { openStore } from '../../electron/core/settings-store'
import { vaultKeyAccount } from '../../electron/core/vault'
import type { BatchProgress } from '../../shared/ipc/contract'
import { setupDepot, testHandlers, vinFor } from '../helpers/depot-env'
import { waitUntil } from '../helpers/wait'

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

test('at start, a batch whose journal cannot be read is named in the log with what to do, and the other unfinished batch still resumes', async (t) => {
  const { dataDir, depot } = await setupDepot(t)
  const [vehicle] = await depot.addVehicles({
    vehicles: [{ source: 'car.json', index: 0, vin: vinFor(25), carData: 'AAAA', carDataSignature: 'BBBB' }],
    issues: [],
  })
  const store = await depot.handovers()
  const createdAt = new Date().toISOString()
  const leave = (id: string, journal: object) =>
    store.write(() => store.db.prepare('INSERT INTO batches (id, created_at, journal) VALUES (?, ?, ?)').run(id, createdAt, JSON.stringify(journal)))
  // Left by a crash (no owner process any more), and one a newer VK Depot wrote: its vehicles cannot be known.
  leave('bleft', { id: 'bleft', ids: [vehicle!.id], plan: { kind: 'seconds', seconds: 3600 }, concurrency: 1, createdAt })
  leave('bnewer', { id: 'bnewer', vehicles: [vehicle!.id], createdAt })

  const logged: string[] = []
  let finished!: (progress: BatchProgress) => void
  const resumed = new Promise<BatchProgress>((resolve) => (finished = resolve))
  await testHandlers(t, dataDir, {
    log: (line) => logged.push(line),
    emit: (event, payload) => void (event === 'batch:progress' && !(payload as BatchProgress).running && finished(payload as BatchProgress)),
  })
  const progress = await resumed
  assert.deepEqual({ batchId: progress.batchId, done: progress.done, issued: progress.issued }, { batchId: 'bleft', done: 1, issued: 1 })
  await waitUntil(() => logged.length > 0, 'the log line about bnewer')
  assert.equal(logged.length, 1, logged.join('\n'))
  assert.match(logged[0]!, /^resuming unfinished batches failed: The journal of batch bnewer in \S*ledger\.db cannot be read/)
  assert.match(logged[0]!, /Run that batch again \(in the app, or `vkey batch FILE… --duration …`\).* \[storage\.damaged\]$/)
})

test('when the vault key is gone from the keychain, the app still starts and its log says why expired tokens cannot be erased nor batches resume', async (t) => {
  const { dataDir, depot } = await setupDepot(t)
  await depot.secretStore.delete(vaultKeyAccount((await depot.vault()).vaultId))
  const logged: string[] = []
  const handlers = await testHandlers(t, dataDir, { log: (line) => logged.push(line) })
  assert.equal((await handlers['app:info'](undefined)).dataFolder, dataDir)
  await waitUntil(() => logged.length >= 2, 'two log lines')
  assert.deepEqual(logged.map((line) => line.replace(/ failed: .*/s, '')).sort(), ['erasing expired tokens', 'resuming unfinished batches'])
  for (const line of logged) assert.match(line, /Run `vkey vault reset`.* \[config\.vault-key-lost\]$/)
})

test('a settings value the app cannot use (a hand edit) gives way to its default, is logged once, and saving in Settings repairs it', async (t) => {
  const { dataDir } = await setupDepot(t, { profile: false })
  openStore(dataDir).set('settings', { locale: 'fr', clipboardClearSeconds: 'soon' })
  const logged: string[] = []
  const handlers = await testHandlers(t, dataDir, { log: (line) => logged.push(line) })
  assert.deepEqual(await handlers['settings:get'](undefined), { locale: 'fr', clipboardClearSeconds: 30 })
  assert.deepEqual(await handlers['settings:get'](undefined), { locale: 'fr', clipboardClearSeconds: 30 })
  assert.equal(logged.length, 1, logged.join('\n'))
  assert.match(logged[0]!, /^reading the settings failed: \S*settings\.json holds a value for clipboardClearSeconds that VK Depot cannot use/)
  await handlers['settings:set']({ clipboardClearSeconds: 10 })
  assert.deepEqual(openStore(dataDir).get('settings'), { locale: 'fr', clipboardClearSeconds: 10 })
})

test('a batch the app started that stops on a ledger row it cannot read says so in the log, naming the row', async (t) => {
  const { dataDir, depot } = await setupDepot(t)
  const [vehicle] = await depot.addVehicles({
    vehicles: [{ source: 'car.json', index: 0, vin: vinFor(26), carData: 'AAAA', carDataSignature: 'BBBB' }],
    issues: [],
  })
  const store = await depot.handovers()
  store.write(() => store.db.prepare("UPDATE handovers SET record = json_set(record, '$.status', 'parked') WHERE id = ?").run(vehicle!.id))
  const logged: string[] = []
  const handlers = await testHandlers(t, dataDir, { log: (line) => logged.push(line) })
  const { batchId } = await handlers['batch:start']({ handoverIds: [vehicle!.id], duration: { kind: 'seconds', seconds: 3600 } })
  await waitUntil(() => logged.length > 0, 'the log line about the batch')
  assert.match(logged[0]!, new RegExp(`^batch ${batchId} failed: The handover ${vehicle!.id} in \\S*ledger\\.db cannot be read \\(its field "status"\\)`))
})
