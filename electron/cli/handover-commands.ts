/**
 * `vkey batch`, `list`, `show`, `pack`, `audit`, `purge-expired` and `queue`: the
 * offline-prepared handover commands, over the same depot as the app.
 */
import { mkdir } from 'node:fs/promises'
import { resolve } from 'node:path'
import { exitCodeFor, VkError, type ErrorCode } from '../../shared/errors'
import type { BatchProgress } from '../../shared/ipc/contract'
import { exportAuditCsv } from '../core/audit'
import { BatchRunner, DEFAULT_CONCURRENCY } from '../core/batch'
import { importCarDataFiles } from '../core/cardata-files'
import type { Depot } from '../core/depot'
import { carDataHash, coversPlan, hasValidToken, type HandoverRecord } from '../core/handovers'
import { describeWriteError, QrFilePipeline, recordEnvironment } from '../core/qr-files'
import { parse, write } from './args'
import type { CliIo } from './io'


export interface HandoverCommandContext {
  openDepot(): Promise<Depot>
  durationPlan(values: { duration?: string | undefined; until?: string | undefined }): import('../core/handovers').DurationPlan
  printHandover(io: CliIo, depot: Depot, record: HandoverRecord, options: { json: boolean; qr?: string }): Promise<void>
}

/** Finds a handover by id or by a unique prefix of it. */
async function findRecord(depot: Depot, idOrPrefix: string): Promise<HandoverRecord> {
  const records = await (await depot.handovers()).list()
  const exact = records.find((r) => r.id === idOrPrefix)
  if (exact) return exact
  const matches = records.filter((r) => r.id.startsWith(idOrPrefix) || (idOrPrefix.length === 17 && r.vin === idOrPrefix.toUpperCase()))
  if (matches.length === 1) return matches[0]!
  if (matches.length > 1) throw new VkError('usage', `"${idOrPrefix}" matches ${matches.length} handovers: give more of the id (see \`vkey list\`).`, { field: 'ID' })
  throw new VkError('not-found', `No handover "${idOrPrefix}". List them with \`vkey list\`.`, { field: 'ID' })
}

/** Sends what the offline queue holds, once; says so on stderr when it sent anything. */
export async function flushQueueQuietly(io: CliIo, depot: Depot): Promise<void> {
  const store = await depot.handovers()
  if (!(await store.list()).some((r) => r.status === 'queued')) return
  const result = await depot.flushQueue()
  if (result.sent || result.failed) io.stderr.write(`vkey: sent ${result.sent} queued request(s)${result.failed ? `, ${result.failed} refused` : ''}${result.stillQueued ? `, ${result.stillQueued} still waiting for the network` : ''}.\n`)
}

// ---- batch ---------------------------------------------------------------------------

/** One line that redraws itself on a terminal, or a line per 10 % elsewhere. */
function progressPrinter(io: CliIo): (progress: BatchProgress) => void {
  let lastTenth = -1
  return (progress) => {
    const finished = progress.done + progress.failed + progress.queued
    const fraction = progress.total ? finished / progress.total : 1
    if (io.isTty) {
      const width = 30
      const filled = Math.round(fraction * width)
      io.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${finished}/${progress.total}  issued ${progress.done}  failed ${progress.failed}  queued ${progress.queued}${progress.running ? '' : '\n'}`)
      return
    }
    const tenth = Math.floor(fraction * 10)
    if (tenth !== lastTenth || !progress.running) {
      lastTenth = tenth
      io.stderr.write(`vkey batch: ${finished}/${progress.total} (${Math.round(fraction * 100)} %), issued ${progress.done}, failed ${progress.failed}, queued ${progress.queued}\n`)
    }
  }
}

export async function batchCommand(args: string[], io: CliIo, context: HandoverCommandContext): Promise<number> {
  const { values, positionals } = parse('batch', args, {
    duration: { type: 'string' },
    until: { type: 'string' },
    concurrency: { type: 'string' },
    out: { type: 'string' },
    profile: { type: 'string' },
    json: { type: 'boolean' },
  })
  if (!positionals.length) throw new VkError('usage', 'vkey batch: give one or more CarData files (FILE…).', { field: 'FILE' })
  const plan = context.durationPlan(values)
  const concurrency = values.concurrency === undefined ? DEFAULT_CONCURRENCY : Number(values.concurrency)
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 16) throw new VkError('usage', `--concurrency must be a whole number from 1 to 16 (got "${values.concurrency}").`, { field: '--concurrency' })
  const imported = await importCarDataFiles(positionals)
  const depot = await context.openDepot()
  try {
    await depot.client(values.profile) // pre-flight: nothing is stored or sent with a bad certificate
    await flushQueueQuietly(io, depot)
    const store = await depot.handovers()
    // The same CarData seen again (a re-run after a crash) reuses its record: a vehicle
    // that already has a valid token is not sent again.
    const byHash = new Map<string, HandoverRecord>()
    for (const record of (await store.list()).reverse()) if (record.carDataHash) byHash.set(record.carDataHash, record)
    const ids: string[] = []
    const fresh: typeof imported.vehicles = []
    const seen = new Set<string>()
    for (const vehicle of imported.vehicles) {
      const hash = carDataHash(vehicle.carData, vehicle.carDataSignature)
      if (seen.has(hash)) continue
      seen.add(hash)
      const existing = byHash.get(hash)
      if (existing && existing.status !== 'expired' && existing.status !== 'handed-over') ids.push(existing.id)
      else fresh.push(vehicle)
    }
    const added = await depot.addVehicles({ vehicles: fresh, issues: [] }, values.profile ? { profile: values.profile } : {})
    ids.push(...added.map((r) => r.id))
    // --out: QR files are rendered and written beside the requests (core/qr-files.ts).
    const out = values.out ? resolve(values.out) : undefined
    if (out) {
      await mkdir(out, { recursive: true, mode: 0o700 }).catch((error: unknown) => {
        throw new VkError('input.file', `The --out folder ${out} could not be created: ${describeWriteError(error)}. Choose another --out folder.`, { file: out, field: '--out' }, { cause: error })
      })
    }
    const files = out ? new QrFilePipeline({ dir: out, store, environmentOf: (r) => recordEnvironment(depot, r), now: () => depot.now() }) : undefined
    const printer = values.json ? () => undefined : progressPrinter(io)
    const runner = new BatchRunner(depot, files ? (progress) => { printer(progress); files.onProgress(progress) } : printer)
    const controller = new AbortController()
    io.interrupted?.then(() => controller.abort()).catch(() => undefined)
    const outcome = ids.length ? await runner.run(ids, plan, { concurrency, signal: controller.signal }) : { batchId: '', issued: [], skipped: [], failed: [], queued: [], cancelled: false }

    const records = new Map((await store.list()).map((r) => [r.id, r]))
    const ready = [...outcome.issued, ...outcome.skipped].map((id) => records.get(id)).filter((r): r is HandoverRecord => Boolean(r && hasValidToken(r, depot.now())))
    const qrFiles: Record<string, string> = files ? Object.fromEntries(await files.finish()) : {}
    const failures = [
      ...imported.issues.map((issue) => ({ what: `${issue.source}${issue.field ? ` (${issue.field})` : ''}`, code: issue.code as ErrorCode, message: issue.message })),
      ...outcome.failed.map((f) => ({ what: f.vin ?? records.get(f.id)?.source ?? f.id, code: f.code, message: f.message })),
    ]
    if (values.json) {
      write(
        io,
        JSON.stringify(
          {
            batchId: outcome.batchId,
            issued: ready.map((r) => {
              const token = store.tokenOf(r)!
              return { id: r.id, vin: r.vin ?? null, access_token: token.accessToken, token_type: token.tokenType, expires: r.expires, expires_in: token.expiresIn, token_signature: token.tokenSignature, ...(qrFiles[r.id] ? { qr: qrFiles[r.id] } : {}) }
            }),
            skipped: outcome.skipped,
            queued: outcome.queued,
            failed: failures,
            cancelled: outcome.cancelled,
          },
          null,
          2,
        ),
      )
    } else {
      write(io, `Batch ${outcome.batchId || '(nothing to send)'}: ${outcome.issued.length} issued, ${outcome.skipped.length} already had a valid token, ${outcome.queued.length} queued for when the network returns, ${failures.length} failed.`)
      for (const f of failures) write(io, `  failed: ${f.what}: ${f.message}`)
      if (values.out) write(io, `QR codes: ${Object.keys(qrFiles).length} in ${resolve(values.out)} — each is a car key until it expires.`)
      if (outcome.cancelled) write(io, 'Cancelled: run the same command again to resume; vehicles that got a token are not sent again.')
    }
    if (outcome.cancelled) return 130
    if (failures.length) return exitCodeFor(failures[0]!.code) || 1
    return outcome.queued.length ? 5 : 0
  } finally {
    await depot.close()
  }
}

// ---- list / show ---------------------------------------------------------------------

export async function listCommand(args: string[], io: CliIo, context: HandoverCommandContext): Promise<number> {
  const { values } = parse('list', args, { json: { type: 'boolean' } }, false)
  const depot = await context.openDepot()
  const store = await depot.handovers()
  await store.purgeExpired()
  const records = await store.list()
  if (values.json) {
    write(io, JSON.stringify(records.map((r) => ({ id: r.id, vin: r.vin ?? null, label: r.label ?? null, status: r.status, profile: r.profile ?? null, created: r.createdAt, expires: r.expires ?? null, duration_seconds: r.durationSeconds ?? null, covers_plan: coversPlan(r) ?? null, error: r.error ? { code: r.error.code, message: r.error.message } : null })), null, 2))
    return 0
  }
  if (!records.length) {
    write(io, 'No handovers yet. Get a token with `vkey token --cardata FILE --duration 8h` or prepare many with `vkey batch`.')
    return 0
  }
  for (const r of records) {
    const short = coversPlan(r) === false ? '  ! token ends before the planned window' : ''
    write(io, `${r.id}  ${(r.vin ?? '(no VIN)').padEnd(17)}  ${r.status.padEnd(11)}  ${r.expires ? `expires ${r.expires}` : ''.padEnd(28)}  ${r.label ?? ''}${r.error ? `  ${r.error.message}` : ''}${short}`)
  }
  return 0
}

export async function showCommand(args: string[], io: CliIo, context: HandoverCommandContext): Promise<number> {
  const { values, positionals } = parse('show', args, { qr: { type: 'string' }, json: { type: 'boolean' } })
  if (positionals.length !== 1) throw new VkError('usage', 'vkey show: give exactly one handover ID (see `vkey list`).', { field: 'ID' })
  const depot = await context.openDepot()
  await (await depot.handovers()).purgeExpired()
  const record = await findRecord(depot, positionals[0]!)
  if (!hasValidToken(record, depot.now())) {
    throw new VkError('not-found', `Handover ${record.id} (${record.vin ?? 'no VIN'}) has no valid token: it is ${record.status}${record.error ? ` (${record.error.message})` : ''}.`)
  }
  await context.printHandover(io, depot, record, { json: Boolean(values.json), ...(values.qr ? { qr: values.qr } : {}) })
  return 0
}

// ---- pack / audit / purge / queue ----------------------------------------------------

export async function packCommand(args: string[], io: CliIo, context: HandoverCommandContext): Promise<number> {
  const { values, positionals } = parse('pack', args, { out: { type: 'string' }, 'all-valid': { type: 'boolean' } })
  if (!values.out) throw new VkError('usage', 'vkey pack: --out PACK.pdf is required.', { field: '--out' })
  if (!values['all-valid'] && !positionals.length) throw new VkError('usage', 'vkey pack: give handover IDs or --all-valid.', { field: 'ID' })
  const depot = await context.openDepot()
  const store = await depot.handovers()
  await store.purgeExpired()
  const records = values['all-valid'] ? (await store.list()).filter((r) => r.status === 'issued' && hasValidToken(r, depot.now())) : await Promise.all(positionals.map((id) => findRecord(depot, id)))
  const invalid = records.filter((r) => !hasValidToken(r, depot.now()))
  if (invalid.length) throw new VkError('not-found', `No valid token for ${invalid.map((r) => r.vin ?? r.id).join(', ')}: leave them out or request new tokens.`)
  if (!records.length) throw new VkError('not-found', 'No valid token to put in a pack. Request tokens first (`vkey batch`).')
  // pdf-lib loads only for this command (a cold `vkey token` does not parse it).
  const { writeHandoverPack } = await import('../core/pack')
  const pages = await writeHandoverPack(resolve(values.out), records, store, { environmentOf: (r) => recordEnvironment(depot, r) })
  write(io, `Handover pack written: ${resolve(values.out)} (${pages} page${pages === 1 ? '' : 's'}). Every page is a car key until its expiry: keep it safe.`)
  return 0
}

export async function auditCommand(args: string[], io: CliIo, context: HandoverCommandContext): Promise<number> {
  const { values } = parse('audit', args, { csv: { type: 'string' } }, false)
  if (!values.csv) throw new VkError('usage', 'vkey audit: --csv OUT.csv is required.', { field: '--csv' })
  const depot = await context.openDepot()
  const rows = await exportAuditCsv(resolve(values.csv), await (await depot.handovers()).list())
  write(io, `Audit written: ${resolve(values.csv)} (${rows} row${rows === 1 ? '' : 's'}, no secrets).`)
  return 0
}

export async function purgeCommand(args: string[], io: CliIo, context: HandoverCommandContext): Promise<number> {
  parse('purge-expired', args, {}, false)
  const depot = await context.openDepot()
  const purged = await (await depot.handovers()).purgeExpired()
  write(io, `${purged.length} expired token${purged.length === 1 ? '' : 's'} erased (the records stay in the history, marked expired).`)
  return 0
}

export async function queueCommand(args: string[], io: CliIo, context: HandoverCommandContext): Promise<number> {
  const { values, positionals } = parse('queue', args, { watch: { type: 'boolean' }, interval: { type: 'string' } })
  const sub = positionals[0] ?? 'flush'
  if (sub !== 'flush' && sub !== 'list') throw new VkError('usage', 'vkey queue: use `queue list` or `queue flush [--watch]`.')
  const depot = await context.openDepot()
  try {
    const store = await depot.handovers()
    if (sub === 'list') {
      const queued = (await store.list()).filter((r) => r.status === 'queued')
      for (const r of queued) write(io, `${r.id}  ${r.vin ?? '(no VIN)'}  queued since ${r.requestedAt ?? r.updatedAt}`)
      write(io, `${queued.length} request(s) waiting for the network.`)
      return 0
    }
    const intervalMs = values.interval === undefined ? 10_000 : Number(values.interval) * 1000
    let stopped = false
    io.interrupted?.then(() => (stopped = true)).catch(() => undefined)
    for (;;) {
      const result = await depot.flushQueue()
      write(io, `Queue: ${result.sent} sent, ${result.failed} refused, ${result.stillQueued} still waiting for the network.`)
      if (!values.watch || result.stillQueued === 0 || stopped) return result.stillQueued ? 5 : result.failed ? 4 : 0
      await Promise.race([new Promise((r) => setTimeout(r, intervalMs)), io.interrupted])
      if (stopped) return 130
    }
  } finally {
    await depot.close()
  }
}
