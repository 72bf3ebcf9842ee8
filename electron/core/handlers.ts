/**
 * The IPC handlers as plain functions over the depot: the Electron main process
 * registers them through ipc.ts, the e2e bridge calls the same functions from Chromium.
 * Inputs arrive already parsed by dispatch(); outputs are parsed again there.
 */
import { randomBytes } from 'node:crypto'
import { basename } from 'node:path'
import { VkError, toErrorView } from '../../shared/errors'
import { parseCarData, type ImportResult } from '../../shared/cardata'
import type { HandoverDetail, HandoverSummary, ImportSummary, ProfileView, Settings } from '../../shared/ipc/contract'
import type { Environment } from '../../shared/profile'
import type { HandlerDeps } from './app-deps'
import { certificateRequestHandlers } from './cert-handlers'
import { fleetHandlers } from './fleet-handlers'
import { exportAuditCsv } from './audit'
import { BatchRunner } from './batch'
import { importCarDataFiles } from './cardata-files'
import { carDataNotesOf, configuredMaxAgeDays } from './cardata-notes'
import { Depot, defaultSimulatorDir, type ProfileSummary } from './depot'
import { environmentResolver, handoverPayloadFor } from './handover-environment'
import { coversPlan, hasValidToken, type HandoverRecord } from './handovers'
import type { Handlers } from './ipc-dispatch'
import { settingsLock } from './owner-lock'
import { writeHandoverPack } from './pack'
import { renderHandoverQr } from './qr'
import { readRegularFile } from './regular-file'
import { writeFileAtomic } from './secure-files'
import { startSimulator, type Simulator } from './simulator'
import { resetVault } from './vault-recovery'

const DEFAULT_SETTINGS: Settings = { locale: 'system', clipboardClearSeconds: 30 }
/** Tokens are erased within this long after they expire (the requirement is 60 s). */
const EXPIRY_SWEEP_MS = 20_000
const QUEUE_RETRY_MS = 15_000

export interface HandlerHost extends Handlers {
  dispose(): Promise<void>
  /** The depot behind the handlers (tests and the main process use it directly). */
  readonly depot: Depot
  /** The embedded simulator once "Try the simulator" started it. */
  simulator(): Simulator | undefined
}

export async function createHandlers(deps: HandlerDeps): Promise<HandlerHost> {
  const depot = await Depot.open({ dataDir: deps.dataDir, store: deps.store, ...(deps.now ? { now: deps.now } : {}) })
  const grants = new Map<string, string>()
  let online = true
  const requests = new Map<string, AbortController>()
  const clipboardTimers = new Set<NodeJS.Timeout>()
  /** The token last put on the clipboard, until it is cleared. */
  let copiedToken: string | undefined
  const batches = new BatchRunner(depot, (progress) => {
    deps.events.emit('batch:progress', progress)
    if (progress.queued > 0) online = false
    if (!progress.running) notify(progress.items.map((item) => item.id))
  })
  let simulator: Simulator | undefined

  const settings = (): Settings => ({ ...DEFAULT_SETTINGS, ...((deps.store.get('settings') as Partial<Settings> | undefined) ?? {}) })

  const pathOf = (grant: string): string => {
    const path = grants.get(grant)
    if (!path) throw new VkError('usage', 'That file was not chosen in this session. Choose it again with the file dialog.', { field: 'grant' })
    return path
  }

  const profileView = async (summary: ProfileSummary): Promise<ProfileView> => ({
    name: summary.name,
    environment: summary.environment,
    baseUrl: summary.baseUrl,
    clientId: summary.clientId,
    login: summary.login,
    hasPassword: summary.hasPassword,
    hasCa: Boolean(summary.caPem),
    certificate: summary.certificate,
    isDefault: summary.isDefault,
  })

  const viewOf = async (name: string) => profileView(await depot.summary(depot.profiles.get(name)))

  /** A record as the renderer sees it, with the environment its key comes from. */
  const view = (record: HandoverRecord): HandoverSummary => summaryOf(record, environmentResolver(depot.profiles)(record))

  const importSummary = async (result: ImportResult): Promise<ImportSummary> => {
    const added = await depot.addVehicles(result)
    notify(added.map((r) => r.id))
    const carData = carDataNotesOf(result.vehicles, depot.now(), configuredMaxAgeDays())
    return { added: added.map(view), issues: result.issues.map((i) => ({ ...i, source: basename(i.source) })), ...(carData.length ? { carData } : {}) }
  }

  const detailOf = async (record: HandoverRecord): Promise<HandoverDetail> => {
    const store = await depot.handovers()
    const token = hasValidToken(record, depot.now()) ? store.tokenOf(record) : undefined
    return {
      ...view(record),
      ...(token && record.expires ? { token: { accessToken: token.accessToken, tokenType: token.tokenType, expires: record.expires, expiresIn: token.expiresIn, tokenSignature: token.tokenSignature } } : {}),
    }
  }

  const payloadOf = async (id: string): Promise<{ record: HandoverRecord; payload: string; detail: HandoverDetail }> => {
    const record = await (await depot.handovers()).get(id)
    const detail = await detailOf(record)
    if (!detail.token) throw new VkError('not-found', `Handover ${record.vin ?? id} has no valid token (status ${record.status}). Request one first.`, { field: 'id' })
    const payload = handoverPayloadFor(record, detail.token, environmentResolver(depot.profiles)(record))
    return { record, payload, detail }
  }

  const notify = (ids: string[]): void => {
    if (ids.length) deps.events.emit('handovers:changed', { ids })
  }

  const sweepExpired = async (): Promise<void> => {
    try {
      notify(await (await depot.handovers()).purgeExpired())
    } catch {
      // The keychain may be unavailable until the user sets it up; the next sweep retries.
    }
  }

  const flushQueue = async () => {
    const result = await depot.flushQueue()
    online = result.stillQueued === 0
    if (result.sent || result.failed) notify(['*'])
    return result
  }

  // Start-up: erase expired tokens now, then keep doing it; retry the offline queue;
  // resume any batch a crash or a quit left unfinished (vehicles with a token are skipped).
  await sweepExpired()
  batches.resumeUnfinished().catch(() => undefined)
  const expiryTimer = setInterval(() => void sweepExpired(), EXPIRY_SWEEP_MS)
  expiryTimer.unref()
  const queueTimer = setInterval(() => {
    void (async () => {
      try {
        const queued = (await (await depot.handovers()).list()).some((r) => r.status === 'queued')
        if (queued) await flushQueue()
      } catch {
        // keep the queue for the next round
      }
    })()
  }, QUEUE_RETRY_MS)
  queueTimer.unref()

  const handlers: HandlerHost = {
    depot,
    simulator: () => simulator,
    async dispose() {
      clearInterval(expiryTimer)
      clearInterval(queueTimer)
      for (const timer of clipboardTimers) clearTimeout(timer)
      // Quitting before the timer ran: a token must not outlive the app on the clipboard.
      if (copiedToken !== undefined && deps.clipboard.readText() === copiedToken) deps.clipboard.clear()
      copiedToken = undefined
      for (const controller of requests.values()) controller.abort()
      batches.cancelAll()
      await batches.idle()
      await depot.close()
      await simulator?.close()
    },

    async 'app:info'() {
      return { version: deps.version, platform: deps.platform, systemLocale: deps.systemLocale, ...(deps.regionalLocale ? { regionalLocale: deps.regionalLocale } : {}), dataFolder: deps.dataDir, online }
    },
    async 'settings:get'() {
      return settings()
    },
    async 'settings:set'(input) {
      // A key sent as undefined means "unchanged", not "erase".
      const changes = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined))
      return settingsLock(deps.dataDir)(() => {
        const next: Settings = { ...settings(), ...changes }
        deps.store.set('settings', next)
        return next
      })
    },

    async 'profiles:list'() {
      const views: ProfileView[] = []
      for (const profile of depot.profiles.list()) views.push(await profileView(await depot.summary(profile)))
      return { profiles: views }
    },
    async 'profiles:save'(input) {
      let environment: string = input.environment
      if (input.environment === 'custom') {
        if (!input.baseUrl) throw new VkError('usage', 'A custom environment needs its base URL, e.g. https://host:port/connectedcar/v3.', { field: 'baseUrl' })
        environment = input.baseUrl
      }
      const profile = await depot.saveProfile({
        name: input.name,
        environment,
        clientId: input.clientId,
        login: input.login,
        ...(input.password ? { password: input.password } : {}),
        ...(input.makeDefault ? { makeDefault: true } : {}),
        ...(input.replace ? { replace: true } : {}),
      })
      return viewOf(profile.name)
    },
    async 'profiles:remove'(input) {
      return { removed: await depot.removeProfile(input.name) }
    },
    async 'profiles:activate'(input) {
      depot.profiles.setDefault(input.name)
      return viewOf(input.name)
    },
    async 'simulator:try'() {
      const dir = defaultSimulatorDir(deps.dataDir)
      simulator ??= await startSimulator({ dir, port: 0 })
      await depot.registerSimulator({ baseUrl: simulator.baseUrl, dir })
      const profile = await depot.saveProfile({ name: 'Simulator', environment: 'simulator', makeDefault: true })
      await depot.importSimulatorCertificate(profile.name)
      return viewOf(profile.name)
    },

    async 'files:choose'(input) {
      const paths = await deps.dialogs.chooseFiles(input.purpose, Boolean(input.multiple))
      return {
        files: paths.map((path) => {
          const grant = randomBytes(12).toString('base64url')
          grants.set(grant, path)
          return { grant, name: basename(path) }
        }),
      }
    },
    async 'certificate:import'(input) {
      const certPath = pathOf(input.certificate)
      const bytes = await readRegularFile(certPath, { hint: 'Choose the certificate file itself.', field: 'certificate' })
      const keyPath = input.key ? pathOf(input.key) : undefined
      const keyBytes = keyPath ? await readRegularFile(keyPath, { hint: 'Choose the key file itself.', field: 'key' }) : undefined
      try {
        return await depot.importCertificate(input.profile, {
          file: { name: basename(certPath), bytes },
          ...(keyPath && keyBytes ? { key: { name: basename(keyPath), bytes: keyBytes } } : {}),
          ...(input.passphrase !== undefined ? { passphrase: input.passphrase } : {}),
        })
      } finally {
        bytes.fill(0)
        keyBytes?.fill(0)
      }
    },
    ...certificateRequestHandlers(depot, deps.dialogs),
    async 'ca:import'(input) {
      const caPem = (await readRegularFile(pathOf(input.ca), { hint: 'Choose the CA certificate file itself.', field: 'ca' })).toString('utf8')
      await depot.setCa(input.profile, caPem)
      return viewOf(input.profile)
    },

    async 'vehicles:import-files'(input) {
      return importSummary(await importCarDataFiles(input.grants.map(pathOf)))
    },
    async 'vehicles:import-text'(input) {
      return importSummary(parseCarData(input.text, basename(input.name)))
    },

    async 'handovers:list'(input) {
      const records = await (await depot.handovers()).list()
      const from = input?.from ? Date.parse(input.from) : undefined
      const to = input?.to ? Date.parse(input.to) : undefined
      const vin = input?.vin?.trim().toUpperCase()
      const filtered = records.filter(
        (r) =>
          (!vin || (r.vin ?? '').includes(vin)) &&
          (!input?.status || r.status === input.status) &&
          (from === undefined || Date.parse(r.createdAt) >= from) &&
          (to === undefined || Date.parse(r.createdAt) <= to),
      )
      const environmentOf = environmentResolver(depot.profiles)
      return { handovers: filtered.map((r) => summaryOf(r, environmentOf(r))) }
    },
    async 'handovers:get'(input) {
      return detailOf(await (await depot.handovers()).get(input.id))
    },
    async 'handovers:update'(input) {
      const record = await depot.setVin(input.id, input.vin, input.label)
      notify([record.id])
      return view(record)
    },
    async 'handovers:remove'(input) {
      const removed = await (await depot.handovers()).remove(input.id)
      notify([input.id])
      return { removed }
    },
    async 'handovers:mark-handed-over'(input) {
      const record = await (await depot.handovers()).update(input.id, (r) => {
        if (r.status !== 'issued') throw new VkError('usage', `Only an issued token can be marked handed over (this one is ${r.status}).`, { field: 'status' })
        r.status = 'handed-over'
        r.handedOverAt = depot.now().toISOString()
      })
      notify([record.id])
      return view(record)
    },
    async 'handovers:qr'(input) {
      const { payload } = await payloadOf(input.id)
      const rendered = await renderHandoverQr(payload, input.format)
      const dataUrl = input.format === 'svg' ? `data:image/svg+xml;base64,${Buffer.from(rendered as string).toString('base64')}` : `data:image/png;base64,${(rendered as Buffer).toString('base64')}`
      return { dataUrl, payloadBytes: Buffer.byteLength(payload) }
    },
    async 'handovers:export'(input) {
      const { record, payload, detail } = await payloadOf(input.id)
      const path = await deps.dialogs.chooseSavePath(`vkey-${record.vin ?? record.id}.${input.format}`, input.format)
      if (!path) return { saved: false }
      if (input.format === 'json') {
        const token = detail.token!
        const json = { id: record.id, vin: record.vin ?? null, access_token: token.accessToken, token_type: token.tokenType, expires: token.expires, expires_in: token.expiresIn, token_signature: token.tokenSignature }
        await writeFileAtomic(path, `${JSON.stringify(json, null, 2)}\n`, { recordIn: deps.dataDir })
      } else {
        const rendered = await renderHandoverQr(payload, input.format, { environment: environmentResolver(depot.profiles)(record) })
        // Recorded in the data folder: a crash mid-write leaves no car key in a temp file nobody sweeps.
        await writeFileAtomic(path, rendered, { recordIn: deps.dataDir })
      }
      return { saved: true, fileName: basename(path) }
    },

    async 'token:request'(input) {
      if (requests.has(input.requestId)) throw new VkError('usage', 'This request is already running.', { field: 'requestId' })
      const controller = new AbortController()
      requests.set(input.requestId, controller)
      try {
        const result = await depot.requestToken(input.handoverId, input.duration, { signal: controller.signal, ...(input.forceNew ? { forceNew: true } : {}) })
        if (result.outcome !== 'reused') online = true
        notify([input.handoverId, result.record.id, ...(result.replaced ? [result.replaced.id] : [])])
        return { ...(await detailOf(result.record)), outcome: result.outcome }
      } catch (error) {
        if (toErrorView(error).code === 'network.unreachable') online = false
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
      const { detail } = await payloadOf(input.id)
      const token = detail.token!.accessToken
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

    async 'batch:start'(input) {
      const batchId = await batches.start(input.handoverIds, input.duration, input.concurrency === undefined ? {} : { concurrency: input.concurrency })
      return { batchId }
    },
    async 'batch:cancel'(input) {
      return { cancelled: batches.cancel(input.batchId) }
    },
    async 'queue:flush'() {
      const result = await flushQueue()
      return { sent: result.sent, stillQueued: result.stillQueued }
    },
    async 'queue:cancel'(input) {
      const cancelled = await depot.cancelQueued(input.id)
      notify([input.id])
      return { cancelled }
    },
    async 'pack:export'(input) {
      const store = await depot.handovers()
      const records = input.ids?.length ? await Promise.all(input.ids.map((id) => store.get(id))) : await store.list()
      const valid = records.filter((r) => hasValidToken(r, depot.now()))
      if (!valid.length) throw new VkError('not-found', 'No valid token to put in a handover pack. Request tokens first.')
      const path = await deps.dialogs.chooseSavePath('vkey-handover-pack.pdf', 'pdf')
      if (!path) return { saved: false, pages: 0 }
      const pages = await writeHandoverPack(path, valid, store, { environmentOf: environmentResolver(depot.profiles) })
      return { saved: true, fileName: basename(path), pages }
    },
    async 'audit:export'() {
      const path = await deps.dialogs.chooseSavePath('vkey-audit.csv', 'csv')
      if (!path) return { saved: false, rows: 0 }
      const store = await depot.handovers()
      const rows = await exportAuditCsv(path, await store.list(), store.events())
      return { saved: true, fileName: basename(path), rows }
    },
    async 'vault:reset'() {
      // No batch can run meanwhile: none gets far without the vault this replaces.
      const report = await resetVault(deps.dataDir, depot.secretStore, depot.profiles.list().map((p) => p.name))
      await depot.reloadVault()
      notify(['*'])
      return { profiles: report.profiles.length, records: report.records, unreadable: report.unreadable }
    },
    ...fleetHandlers(depot, { pathOf, notify }),
  }
  return handlers
}

/** What the renderer may see of a record: no CarData, no token. */
export function summaryOf(record: HandoverRecord, environment?: Environment): HandoverSummary {
  const covers = coversPlan(record)
  return {
    id: record.id,
    ...(record.vin ? { vin: record.vin } : {}),
    ...(record.label ? { label: record.label } : {}),
    source: basename(record.source),
    status: record.status,
    ...(record.profile ? { profile: record.profile } : {}),
    ...(environment ? { environment } : {}),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    ...(record.plannedStart ? { plannedStart: record.plannedStart } : {}),
    ...(record.plannedEnd ? { plannedEnd: record.plannedEnd } : {}),
    ...(record.durationSeconds ? { durationSeconds: record.durationSeconds } : {}),
    ...(record.expires ? { expires: record.expires } : {}),
    ...(covers !== undefined ? { coversPlan: covers } : {}),
    ...(record.longerThanAsked ? { longerThanAsked: true } : {}),
    ...(record.supersededBy ? { supersededBy: record.supersededBy } : {}),
    ...(record.error ? { error: record.error as HandoverSummary['error'] } : {}),
  }
}
