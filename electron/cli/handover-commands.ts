/**
 * `vkey batch`, `list`, `show`, `pack`, `audit`, `handed-over` and `purge-expired`: the
 * offline-prepared handover commands, over the same depot as the app.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { inDefaultPack } from '../../shared/pack-rule'
import { EXIT, exitCodeFor, VkError, type ErrorCode } from '../../shared/errors'
import type { ImportedVehicle, ImportResult } from '../../shared/cardata'
import { outlivesWindow, planWindow, type DurationPlan } from '../../shared/duration'
import type { BatchProgress } from '../../shared/ipc/contract'
import { environmentBand } from '../../shared/environment-marker'
import type { Environment } from '../../shared/profile'
import { exportAuditCsv } from '../core/audit'
import { BatchRunner, DEFAULT_CONCURRENCY } from '../core/batch'
import type { BatchOutcome } from '../core/batch-run'
import { batchInputs } from '../core/batch-inputs'
import { importCarDataFiles } from '../core/cardata-files'
import { writeCarDataNotes } from './cardata-notes'
import type { Depot } from '../core/depot'
import { tokenJsonOf } from '../core/handover-payload'
import { type HandoverStore } from '../core/handovers'
import { carDataHash, coversPlan, hasValidToken, mayHoldUnstoredKey, stillValidAtPsa, type HandoverRecord } from '../core/handover-record'
import { keyNotes } from '../core/key-notes'
import { cannotWriteNow } from '../core/ledger-db'
import { assertWritableFile, assertWritableFolder, qrFormatForPath } from '../core/output-paths'
import { durationPlan, write, writeJson } from './args'
import { withDepot } from './depot-access'
import { findRecord } from './find-record'
import { qrFilesText, qrMissingJson, qrPipeline, qrRoomCheck, qrStopText, RERUN_WRITES_QR } from './qr-output'
import { flushQueueQuietly } from './queue-commands'
import { parseFor } from './spec'
import { formatLocal } from '../../shared/time'
import { batchCountsText, countsFromProgress, finishedOf } from '../../shared/batch-counts'
import { environmentResolver } from '../core/handover-environment'
import { QrFilePipeline, qrFileName } from '../core/qr-files'
import { assertRoomForQrFiles } from '../core/qr-folder-room'
import { writeHuman, type CliIo } from './io'
import { warnCertificateRenewal } from './cert-commands'
import { askAgain, warnCutOff } from './cut-off'
import { shellWord } from './did-you-mean'
import { printHandover } from './key-output'

// ---- batch ---------------------------------------------------------------------------

/** One line that redraws itself on a terminal, or a line per 10 % elsewhere. */
function progressPrinter(io: CliIo, unreadable: number): (progress: BatchProgress) => void {
  let lastTenth = -1
  return (progress) => {
    const counts = countsFromProgress(progress, unreadable)
    // What a resumed batch leaves alone (its earlier run's keys) is finished too: `done` counts it, the counts do not.
    const leftAlone = progress.done - progress.issued - progress.renewed - progress.reused
    const finished = finishedOf(counts) + leftAlone
    const total = progress.total + unreadable
    const fraction = total ? finished / total : 1
    const text = `${batchCountsText(counts)}${leftAlone ? `, ${leftAlone} left alone` : ''}`
    if (io.isTty) {
      const width = 30
      const filled = Math.round(fraction * width)
      io.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${finished}/${total}  ${text}${progress.running ? '' : '\n'}`)
      return
    }
    const tenth = Math.floor(fraction * 10)
    if (tenth !== lastTenth || !progress.running) {
      lastTenth = tenth
      io.stderr.write(`vkey batch: ${finished}/${total} (${Math.round(fraction * 100)} %): ${text}\n`)
    }
  }
}

/**
 * The records to request for (core/batch-inputs.ts): the same CarData seen again (a re-run, or
 * a file given twice) is one request, its newest record reused; CarData under another VIN is
 * refused. Repeats are said on stderr; the refusals join the import's issues.
 */
async function batchIds(
  io: CliIo,
  depot: Depot,
  imported: ImportResult,
  profile: string | undefined,
): Promise<{ ids: string[]; added: Set<string>; sources: Map<string, string> }> {
  const inputs = batchInputs(imported.vehicles, (v) => carDataHash(v.carData, v.carDataSignature), (await depot.handovers()).newestByCarDataHash())
  for (const { source, sameAs, vin } of inputs.repeated)
    writeHuman(io.stderr, `vkey batch: ${source} holds the same vehicle${vin ? ` (${vin})` : ''} as ${sameAs}: one request for both.`)
  imported.issues.push(...inputs.issues)
  const store = await depot.handovers()
  const known = []
  for (const { id, source } of inputs.known) known.push(await store.askedFrom(id, source)) // the key's record names the file read now
  const added = await depot.addVehicles({ vehicles: inputs.fresh, issues: [] }, profile ? { profile } : {})
  const ids = [...known.map((k) => k.id), ...added.map((r) => r.id)]
  const sources = new Map([...known.map((k, i) => [k.id, inputs.known[i]!.source] as const), ...added.map((r) => [r.id, r.source] as const)])
  return { ids, added: new Set([...known.filter((k) => k.copied).map((k) => k.id), ...added.map((r) => r.id)]), sources }
}

/**
 * A vehicle this batch stored for the first time whose live key already covered the window
 * was only a draft for the request that was never sent: it goes, so the history keeps one row
 * per key (as `vkey token` stores nothing when it reuses a key). Not after a cancel: the
 * batch may be resumed over its records.
 */
async function dropUnusedDrafts(store: HandoverStore, outcome: BatchOutcome, added: Set<string>): Promise<void> {
  if (outcome.cancelled) return
  try {
    for (const id of outcome.reused) {
      const record = added.has(id) ? store.find(id) : undefined
      if (record?.status === 'draft' && !record.requestedAt && outcome.keys.get(id)?.id !== id) await store.remove(id)
    }
  } catch {
    // Only tidying: a busy or full ledger must not cost the batch its report (the draft stays, as before).
  }
}

export async function batchCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals, numbers } = parseFor('batch', args)
  if (!positionals.length) throw new VkError('usage', 'vkey batch: give one or more CarData files (FILE…).', { field: 'FILE' })
  const plan = durationPlan('batch', values, (line) => io.stderr.write(`${line}\n`))
  const concurrency = numbers.concurrency ?? DEFAULT_CONCURRENCY
  const out = values.out ? assertWritableFolder(values.out, '--out') : undefined
  const newFolder = out !== undefined && !existsSync(out)
  const imported = await importCarDataFiles(positionals)
  writeCarDataNotes(io, imported.vehicles)
  // The output is checked before anything is stored or sent (the queue's flush included): a folder that cannot take the files refuses the batch.
  if (out) assertRoomForQrFiles(out, imported.vehicles.map(qrNameOf))
  let files: QrFilePipeline | undefined
  const closeFiles = async () => files?.close() // the QR file worker, also when the batch ends on an error
  return withDepot(io, async (depot) => {
    await warnCertificateRenewal(io, depot, values.profile)
    planWindow(plan, depot.now()) // refused before any record exists
    await depot.clients.forProfile(values.profile) // pre-flight: nothing is stored or sent with a bad certificate
    await flushQueueQuietly(io, depot)
    const { ids, added, sources } = await batchIds(io, depot, imported, values.profile)
    warnCutOff(io, (await depot.handovers()).findMany(ids), 'batch', depot.profiles)
    const runner = new BatchRunner(depot, values.json ? () => undefined : progressPrinter(io, imported.issues.length))
    // A QR file that cannot be written, or a disk with no room for one more, stops the sending: no key is asked for that cannot be delivered.
    const halt = new AbortController()
    const pipeline = out ? await qrPipeline(depot, out, () => halt.abort()) : undefined
    const room = out && pipeline ? qrRoomCheck(out, pipeline) : undefined
    files = pipeline
    const controller = new AbortController()
    io.interrupted?.then(() => controller.abort()).catch(() => undefined)
    const outcome = ids.length
      ? await runner.run(ids, plan, {
          concurrency,
          signal: controller.signal,
          halt: halt.signal,
          ...(room ? { mayStart: room.mayStart } : {}),
          ...(pipeline && out ? { onKey: (record) => pipeline.addRecords([record]), deliverQrFor: (record) => join(out, qrFileName(record)) } : {}),
        })
      : emptyOutcome()
    const store = await depot.handovers()
    const keys = [...new Map([...outcome.keys.values()].filter((r) => hasValidToken(r, depot.now())).map((r) => [r.id, r])).values()]
    const qrFiles: Record<string, string> = pipeline ? Object.fromEntries(await pipeline.finish()) : {}
    const qrStop = out ? qrStopText(out, pipeline, room?.shortfall(), RERUN_WRITES_QR) : undefined
    // Files missing: the same command again resumes this batch over the same records (RERUN_WRITES_QR).
    if (qrStop && outcome.batchId) await runner.leaveResumable(outcome.batchId)
    else await dropUnusedDrafts(store, outcome, added)
    const records = new Map(store.findMany(outcome.failed.map((f) => f.id)).map((r) => [r.id, r]))
    const failures = [
      ...imported.issues.map((issue) => ({
        what: `${issue.source}${issue.field ? ` (${issue.field})` : ''}`,
        code: issue.code as ErrorCode,
        message: issue.message,
      })),
      ...outcome.failed.map((f) => ({ what: f.vin ?? records.get(f.id)?.source ?? f.id, code: f.code, message: f.message })),
    ]
    const counts = {
      issued: outcome.issued.length,
      renewed: outcome.renewed.length,
      reused: outcome.reused.length,
      queued: outcome.queued.length,
      failed: failures.length,
    }
    if (values.json) {
      writeBatchJson(io, depot, store, { outcome, counts, keys, qrFiles, failures, ...(qrStop ? { qrMissing: qrMissingJson(pipeline) } : {}) })
    } else {
      write(
        io,
        `Batch ${outcome.batchId || '(nothing to send)'}: ${batchCountsText(counts)}${outcome.skipped.length ? `, ${outcome.skipped.length} left alone by the resumed batch` : ''}.`,
      )
      // A message that names its file already ("…/car.json was not found") is not prefixed with it again.
      for (const f of failures) write(io, `  failed: ${f.message.includes(f.what) ? '' : `${f.what}: `}${f.message}`)
      if (outcome.reused.length) write(io, '  reused: those vehicles already had a key that covers the window; nothing was sent for them.')
      writeReusedLonger(io, outcome, plan, depot.now(), (item, key) => tokenWithNew(sources.get(item), key, values, out))
      if (outcome.renewed.length)
        write(io, '  renewed: the older keys of those vehicles are superseded (still valid at PSA until they expire; see `vkey list`).')
      const fresh = new Set([...outcome.issued, ...outcome.renewed].map((id) => outcome.keys.get(id)?.id))
      const short = keys.filter((k) => fresh.has(k.id) && coversPlan(k) === false)
      if (short.length)
        write(
          io,
          `  shorter: PSA granted ${short.length === 1 ? 'a key' : `${short.length} keys`} ending before the window asked (${short.map((k) => k.vin ?? k.id).join(', ')}); \`vkey list\` shows when each ends.`,
        )
      if (outcome.queued.length)
        write(io, `  queued: PSA could not be reached; \`vkey queue flush\` sends them once${out ? ` and writes their QR codes to ${out}` : ''}.`)
      if (out) write(io, qrFilesText(Object.keys(qrFiles).length, out, newFolder))
      if (qrStop?.stdout) write(io, qrStop.stdout)
      if (outcome.notSent?.length) write(io, `  not sent: ${outcome.notSent.length} (the sending stopped: their QR files could not have been written).`)
      if (outcome.cancelled) write(io, 'Cancelled: run the same command again to resume; vehicles that got a key are not sent again.')
    }
    if (qrStop) writeHuman(io.stderr, qrStop.stderr)
    if (outcome.storageStopped) {
      io.stderr.write(
        `vkey: ${outcome.storageStopped.message} Sending stopped; ${outcome.storageStopped.inFlight} request(s) were already on their way to PSA and may have issued keys that are not recorded.\n`,
      )
      return EXIT.config
    }
    if (outcome.cancelled) return EXIT.interrupted
    if (qrStop) return exitCodeFor(qrStop.code)
    if (failures.length) return exitCodeFor(failures[0]!.code)
    return outcome.queued.length ? EXIT.queued : EXIT.ok
  }).finally(closeFiles)
}

/**
 * Reused keys that outlive the window asked (outlivesWindow, measured against
 * the window as it ends now, the latest any of this batch's requests asked): named, as vkey token does.
 */
/**
 * `vkey token --new` for one vehicle of the batch, with the batch's window and profile, its QR
 * file where the batch put it: a new key of the length asked (not `vkey batch`, whose re-run
 * resumes a batch and would never replace the keys it just reused).
 */
function tokenWithNew(source: string | undefined, key: HandoverRecord, values: { duration?: string; until?: string; profile?: string }, out?: string): string {
  const timing = values.duration !== undefined ? ['--duration', values.duration] : ['--until', values.until!]
  const words = [
    ...['--cardata', source ?? 'FILE.json'],
    ...(key.vin ? ['--vin', key.vin] : []),
    ...timing,
    ...(values.profile ? ['--profile', values.profile] : []),
    ...(out ? ['--qr', join(out, qrFileName(key))] : []),
    '--new',
  ]
  return `vkey token ${words.map(shellWord).join(' ')}`
}

/** Reused keys that work beyond the window asked, named, each with the command that asks for one of the length asked. */
function writeReusedLonger(io: CliIo, outcome: BatchOutcome, plan: DurationPlan, now: Date, command: (item: string, key: HandoverRecord) => string): void {
  let askedEnd: number
  try {
    askedEnd = Date.parse(planWindow(plan, now).plannedEnd)
  } catch {
    return // an --until already past: every window asked has ended
  }
  const items = outcome.reused.filter((id) => {
    const key = outcome.keys.get(id)
    return key?.expires && outlivesWindow(Date.parse(key.expires), askedEnd)
  })
  const longer = items.map((id) => outcome.keys.get(id))
  if (!longer.length) return
  write(
    io,
    `  longer: ${longer.map((r) => `${r!.vin ?? r!.id} (until ${formatLocal(r!.expires!)})`).join(', ')} reused a key that works beyond the window asked: whoever takes it can open the car until then, and PSA cannot revoke it. For keys of the length asked, ask for each again:`,
  )
  for (const item of items) write(io, `    ${command(item, outcome.keys.get(item)!)}`)
}

interface BatchReport {
  outcome: BatchOutcome
  counts: Record<string, number>
  /** The valid keys the batch has to hand over (outcome.keys, one per record). */
  keys: HandoverRecord[]
  qrFiles: Record<string, string>
  failures: { what: string; code: ErrorCode; message: string }[]
  /** Set when the QR files stopped the sending: the files missing. */
  qrMissing?: ReturnType<typeof qrMissingJson>
}

/**
 * `vkey batch --json`: the counts and each key to hand over, with its QR file. What a resumed
 * batch left alone is listed under `skipped` with its key when it holds a valid one
 * (`access_token: null` when it does not: handed over, expired, superseded).
 */
function writeBatchJson(io: CliIo, depot: Depot, store: HandoverStore, { outcome, counts, keys, qrFiles, failures, qrMissing }: BatchReport): void {
  const environmentOf = environmentResolver(depot.profiles)
  const keyOf = (itemId: string) => keys.find((k) => k.id === outcome.keys.get(itemId)?.id)
  const keyJson = (r: HandoverRecord) => ({
    ...tokenJsonOf(r, store.tokenOf(r)!),
    environment: environmentOf(r) ?? null,
    ...(qrFiles[r.id] ? { qr: qrFiles[r.id] } : {}),
  })
  const withKey = (ids: string[]) =>
    ids
      .map(keyOf)
      .filter((r) => r !== undefined)
      .map(keyJson)
  // `item`: the ID the batch knows the vehicle by; `id`: the record holding its key (the live one its earlier run reused).
  const skipped = outcome.skipped.map((item) => {
    const kept = keyOf(item)
    if (kept) return { item, ...keyJson(kept), status: kept.status }
    const record = store.find(item)
    return { item, id: item, vin: record?.vin ?? null, status: record?.status ?? null, access_token: null }
  })
  const report = {
    batch_id: outcome.batchId || null,
    counts,
    issued: withKey(outcome.issued),
    renewed: withKey(outcome.renewed),
    reused: withKey(outcome.reused),
    skipped,
    queued: outcome.queued,
    failed: failures,
    cancelled: outcome.cancelled,
    ...(outcome.storageStopped ? { storage_stopped: outcome.storageStopped } : {}),
    ...(qrMissing !== undefined ? { qr_missing: qrMissing, not_sent: outcome.notSent ?? [] } : {}),
  }
  writeJson(io, JSON.stringify(report, null, 2))
}

/** The name a vehicle's QR file will have (qrFileName), before it has a record. */
function qrNameOf(vehicle: ImportedVehicle, index: number): Pick<HandoverRecord, 'vin' | 'id' | 'carDataHash'> {
  return { id: `vehicle-${index}`, ...(vehicle.vin ? { vin: vehicle.vin } : { carDataHash: carDataHash(vehicle.carData, vehicle.carDataSignature) }) }
}

function emptyOutcome(): BatchOutcome {
  return { batchId: '', issued: [], renewed: [], reused: [], skipped: [], failed: [], queued: [], cancelled: false, keys: new Map() }
}

// ---- list / show ---------------------------------------------------------------------

/** What a person reads about a record's key in `vkey list`: its state and, for keys, until when (core/key-notes.ts). */
function keyNote(r: HandoverRecord, now: Date): string {
  return keyNotes(r, { time: (iso) => formatLocal(iso), now })
    .filter((note) => note.kind !== 'batch')
    .map((note) => (note.warning ? `! ${note.text}` : note.text))
    .join('  ')
}

/**
 * Expired tokens are erased before a view; on a disk that cannot take the write now (full), the
 * view still shows (an expired token is never shown as valid) and the next write erases them.
 */
async function purgeBeforeView(store: HandoverStore): Promise<void> {
  try {
    await store.purgeExpired()
  } catch (error) {
    if (!cannotWriteNow(error)) throw error
  }
}

export async function listCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFor('list', args)
  return withDepot(io, async (depot) => {
    const store = await depot.handovers()
    await purgeBeforeView(store)
    const records = await store.list()
    const environmentOf = environmentResolver(depot.profiles)
    if (values.json) {
      writeJson(
        io,
        JSON.stringify(
          records.map((r) => ({
            id: r.id,
            vin: r.vin ?? null,
            label: r.label ?? null,
            status: r.status,
            profile: r.profile ?? null,
            environment: environmentOf(r) ?? null,
            created: r.createdAt,
            requested_at: r.requestedAt ?? null,
            planned_end: r.plannedEnd ?? null,
            issued: r.issuedAt ?? null,
            expires: r.expires ?? null,
            duration_seconds: r.durationSeconds ?? null,
            covers_plan: coversPlan(r) ?? null,
            longer_than_asked: r.longerThanAsked ?? false,
            superseded_by: r.supersededBy ?? null,
            still_valid_at_psa: stillValidAtPsa(r, depot.now()),
            // A request for it was cut off or got no answer (the last one, or an earlier one): PSA may hold a key for it that was not stored here.
            may_have_issued: mayHoldUnstoredKey(r),
            batch: r.batchId ?? null,
            error: r.error ? { code: r.error.code, message: r.error.message } : null,
          })),
          null,
          2,
        ),
      )
      return 0
    }
    if (!records.length) {
      write(io, 'No handovers yet. Get a token with `vkey token --cardata FILE --duration 8h` or prepare many with `vkey batch FILE… --duration 8h`.')
      return 0
    }
    for (const r of records)
      write(
        io,
        `${r.id}  ${(r.vin ?? '(no VIN)').padEnd(17)}  ${r.status.padEnd(11)}  ${keyNote(r, depot.now())}${listBand(r, environmentOf(r))}${r.label ? `  ${r.label}` : ''}`,
      )
    return 0
  })
}

/** `  [SIMULATOR — NOT A CAR KEY]` after a key that is not a production one (nothing for production, or for a draft of unknown origin). */
function listBand(record: HandoverRecord, environment: Environment | undefined): string {
  if (environment === undefined && !record.expires) return ''
  const band = environmentBand(environment)
  return band ? `  [${band}]` : ''
}

/** Who hands over the key that superseded this one: this laptop (`vkey show ID`), or another laptop of the fleet (its entry id is LAPTOP/ID). */
function supersederText(supersededBy: string | undefined): string {
  if (!supersededBy) return 'a newer key: hand over that one (`vkey list` names it)'
  const slash = supersededBy.indexOf('/')
  if (slash < 0) return `${supersededBy}: hand over that one (\`vkey show ${supersededBy}\`)`
  return `a key issued on laptop ${supersededBy.slice(0, slash)} (fleet entry ${supersededBy}): that laptop hands it over, with \`vkey show ${supersededBy.slice(slash + 1)}\` there`
}

export async function showCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFor('show', args)
  if (positionals.length !== 1) throw new VkError('usage', 'vkey show: give exactly one handover ID (see `vkey list`).', { field: 'ID' })
  if (values.qr) qrFormatForPath(values.qr) // a --qr it cannot write is refused before the key is shown
  return withDepot(io, async (depot) => {
    await purgeBeforeView(await depot.handovers())
    const record = await findRecord(depot, positionals[0]!)
    if (record.status === 'superseded') {
      throw new VkError(
        'not-found',
        `Handover ${record.id} (${record.vin ?? 'no VIN'}) is superseded by ${supersederText(record.supersededBy)}. The old key stays valid at PSA until ${record.expires ? formatLocal(record.expires) : 'it expires'}.`,
      )
    }
    if (!hasValidToken(record, depot.now())) {
      const expired = expiredAt(record, depot.now())
      const state = expired
        ? `it expired ${expired}. A new key for the car: ${askAgain(record, false, depot.profiles)}`
        : `it is ${record.status}${record.error ? ` (${record.error.message})` : ''}`
      throw new VkError('not-found', `Handover ${record.id} (${record.vin ?? 'no VIN'}) has no valid token: ${state}.`)
    }
    await printHandover(io, depot, record, { json: Boolean(values.json), ...(values.qr ? { qr: values.qr } : {}) })
    return 0
  })
}

// ---- pack / audit / handed-over / purge ---------------------------------------------

/** When a record's key expired (local time with its zone), if it has. */
function expiredAt(record: HandoverRecord, now: Date): string | undefined {
  return record.expires && Date.parse(record.expires) <= now.getTime() ? formatLocal(record.expires) : undefined
}

/** Why a handover gets no pack page, in the words `vkey list` uses. */
function whyNoPage(record: HandoverRecord, now: Date): string {
  const who = record.vin ?? record.id
  if (record.status === 'superseded')
    return `${who} (handover ${record.id}) was superseded by handover ${record.supersededBy ?? '?'}: pack that one (the older key stays valid at PSA until it expires)`
  const expired = expiredAt(record, now)
  if (expired) return `${who} (handover ${record.id}) expired ${expired}`
  return `${who} (handover ${record.id}) has no key (${record.status})`
}

export async function packCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFor('pack', args)
  if (!values.out) throw new VkError('usage', 'vkey pack: --out PACK.pdf is required.', { field: '--out' })
  if (!values['all-valid'] && !positionals.length) throw new VkError('usage', 'vkey pack: give handover IDs or --all-valid.', { field: 'ID' })
  if (!/\.pdf$/i.test(values.out))
    throw new VkError('usage', `vkey pack: --out ${values.out}: a pack is a PDF; give a file name ending in .pdf (for example pack.pdf).`, { field: '--out' })
  const out = assertWritableFile(values.out, '--out', 'nothing was written')
  const pages = await withDepot(io, async (depot) => {
    const store = await depot.handovers()
    await store.purgeExpired()
    const records = values['all-valid']
      ? (await store.list()).filter((r) => inDefaultPack(r.status, hasValidToken(r, depot.now())))
      : [...new Map((await Promise.all(positionals.map((id) => findRecord(depot, id)))).map((r) => [r.id, r])).values()] // one page per key, however often named
    // A superseded key is never put on a page to hand over.
    const invalid = records.filter((r) => !hasValidToken(r, depot.now()))
    if (invalid.length)
      throw new VkError('not-found', `Not put in a pack: ${invalid.map((r) => whyNoPage(r, depot.now())).join('; ')}. Leave them out or request new tokens.`)
    if (!records.length) {
      const given = (await store.list()).filter((r) => r.status === 'handed-over' && hasValidToken(r, depot.now())).length
      if (given)
        throw new VkError(
          'not-found',
          `Every valid key (${given}) is marked handed over, and a pack of all valid keys leaves those out. To print one again, name it: \`vkey pack ID… --out PACK.pdf\` (IDs from \`vkey list\`).`,
        )
      throw new VkError('not-found', 'No valid token to put in a pack. Request tokens first (`vkey batch FILE… --duration 8h`).')
    }
    // pdf-lib loads only for this command (a cold `vkey token` does not parse it).
    const { writeHandoverPack } = await import('../core/pack')
    return writeHandoverPack(out, records, store, { environmentOf: environmentResolver(depot.profiles) })
  })
  write(io, `Handover pack written: ${out} (${pages} page${pages === 1 ? '' : 's'}). Every page is a car key until its expiry: keep it safe.`)
  return 0
}

export async function auditCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFor('audit', args)
  if (!values.csv) throw new VkError('usage', 'vkey audit: --csv OUT.csv is required.', { field: '--csv' })
  if (!/\.csv$/i.test(values.csv))
    throw new VkError('usage', `vkey audit: --csv ${values.csv}: the audit is a CSV file; give a file name ending in .csv (for example audit.csv).`, {
      field: '--csv',
    })
  const csv = assertWritableFile(values.csv, '--csv', 'nothing was written') // the folder exists and can be written, named as given
  const rows = await withDepot(io, async (depot) => {
    const store = await depot.handovers()
    return exportAuditCsv(csv, await store.list(), store.events())
  })
  write(io, `Audit written: ${csv} (${rows} row${rows === 1 ? '' : 's'}, no secrets).`)
  return 0
}

export async function handedOverCommand(args: string[], io: CliIo): Promise<number> {
  const { positionals } = parseFor('handed-over', args)
  if (!positionals.length)
    throw new VkError('usage', 'vkey handed-over: give the ID, ID prefix or VIN of each key given to its driver (see `vkey list`).', { field: 'ID' })
  await withDepot(io, async (depot) => {
    const store = await depot.handovers()
    for (const id of positionals) {
      const found = await findRecord(depot, id)
      const what = `${found.vin ?? 'A vehicle with no VIN'} (handover ${found.id})`
      if (found.status === 'handed-over') {
        write(io, `${what}: already marked handed over${found.handedOverAt ? ` on ${formatLocal(found.handedOverAt)}` : ''}.`)
        continue
      }
      await store.markHandedOver(found.id)
      write(io, `${what}: marked handed over (a pack of all valid keys leaves it out).`)
    }
  })
  return 0
}

export async function purgeCommand(args: string[], io: CliIo): Promise<number> {
  parseFor('purge-expired', args)
  const purged = await withDepot(io, async (depot) => (await depot.handovers()).purgeExpired())
  write(io, `${purged.length} expired token${purged.length === 1 ? '' : 's'} erased (the records stay in the history, marked expired).`)
  return 0
}
