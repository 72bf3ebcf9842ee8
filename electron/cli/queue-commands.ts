/**
 * `vkey queue` (list, flush, cancel) and the quiet flush that `vkey token` and `vkey batch`
 * run first: the offline queue as the command line sees it (core/offline-queue.ts).
 */
import { existsSync } from 'node:fs'
import { EXIT, exitCodeFor, VkError } from '../../shared/errors'
import { formatLocal } from '../../shared/time'
import type { Depot } from '../core/depot'
import { type HandoverStore } from '../core/handovers'
import { hasValidToken, type HandoverRecord } from '../core/handover-record'
import type { FlushResult } from '../core/offline-queue'
import { assertWritableFolder } from '../core/output-paths'
import { write, writeJson } from './args'
import { withDepot } from './depot-access'
import { findRecord } from './find-record'
import { writeHuman, type CliIo } from './io'
import { assertRoomForQrFiles } from '../core/qr-folder-room'
import { qrFilesText, qrStopText, SHOW_WRITES_QR, qrPipeline } from './qr-output'
import { parseFor, QUEUE_SUBCOMMANDS, unknownCommand } from './spec'
import { warnCertificateRenewal } from './cert-commands'
import { warnCutOff } from './cut-off'

/** What a flush of the offline queue did, in words: sent, reused (nothing sent), refused, still waiting. */
function queueCountsText(result: FlushResult): string {
  const parts = [`${result.sent} sent`]
  if (result.reused) parts.push(`${result.reused} already covered by a live key (nothing sent)`)
  parts.push(`${result.failed} refused`, `${result.stillQueued} still waiting for the network`)
  return parts.join(', ')
}

/**
 * Sends what the offline queue holds, once; says so on stderr when it did anything. Ctrl-C
 * cancels it like the command's own request: what it did not send stays queued.
 */
export async function flushQueueQuietly(io: CliIo, depot: Depot): Promise<void> {
  if (!(await depot.handovers()).hasQueued()) return
  const controller = new AbortController()
  io.interrupted?.then(() => controller.abort()).catch(() => undefined)
  const result = await depot.queue.flush({ signal: controller.signal })
  if (result.sent || result.reused || result.failed) io.stderr.write(`vkey: offline queue: ${queueCountsText(result)}.\n`)
  for (const line of flushedLines(result)) writeHuman(io.stderr, line)
  writeQrErrors(io, result)
  writeNoRoom(io, result)
}

/**
 * What a flush did, car by car: each key it got (until when, and the QR file written for it: the
 * one its request asked for, or `--out`'s), then each request PSA or a check refused, with why.
 */
function flushedLines(result: FlushResult, outFiles: Record<string, string> = {}): string[] {
  const asked = new Map(result.qrFiles.map((f) => [f.id, f.path]))
  const keys = result.keys.map(({ record, outcome }) => {
    const files = [asked.get(record.id), outFiles[record.id]].filter((f): f is string => f !== undefined)
    const until = record.expires ? `, key until ${formatLocal(record.expires)}` : ''
    return `  ${outcome === 'reused' ? 'reused' : 'sent'}: ${record.vin ?? 'no VIN'} (handover ${record.id})${until}${files.length ? `; QR file ${files.join(', ')}` : ''}`
  })
  return [...keys, ...result.failures.map((f) => `  refused: ${f.vin ?? f.id}: ${f.message}`)]
}

/** Queued requests left in the queue because their QR file's folder has no room: named, with what to do. */
function writeNoRoom(io: CliIo, result: FlushResult): void {
  for (const r of result.noRoom)
    writeHuman(
      io.stderr,
      `vkey: the queued request for ${r.vin ?? r.id} (${r.id}) was not sent: the folder of its QR file ${r.path} ${r.shortfall}. Free space there, then \`vkey queue flush\`; or \`vkey queue cancel ${r.id}\` and ask again with another --qr.`,
    )
}

/** A key the queue obtained whose QR file could not be written: said, with the command that writes it. */
function writeQrErrors(io: CliIo, result: FlushResult): void {
  for (const e of result.qrErrors)
    writeHuman(
      io.stderr,
      `vkey: the key for handover ${e.id} was recorded, but its QR file ${e.path} could not be written (${e.message}). Write it with \`vkey show ${e.id} --qr FILE.png\`.`,
    )
}

export async function queueCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals, numbers } = parseFor('queue', args)
  const sub = positionals[0] ?? 'list'
  if (!QUEUE_SUBCOMMANDS.includes(sub)) throw unknownCommand(['queue', sub, ...args.toSpliced(args.indexOf(sub), 1)])
  if (values.json && sub !== 'list')
    throw new VkError('usage', `vkey queue ${sub}: --json goes with \`vkey queue list --json\`; ${sub} prints its counts as text.`, { field: '--json' })
  const intervalMs = (numbers.interval ?? 10) * 1000
  const out = values.out ? assertWritableFolder(values.out, '--out') : undefined
  let newFolder = out !== undefined && !existsSync(out) // said once, with the first count
  return withDepot(io, async (depot) => {
    if (sub === 'list') return await queueList(io, depot, Boolean(values.json))
    if (sub === 'cancel') return await queueCancel(io, depot, positionals.slice(1))
    // --out is checked before anything is sent or said (each queued request's own QR folder is checked by the queue as it goes).
    if (out) assertRoomForQrFiles(out, await queuedRequests(await depot.handovers()))
    await warnCertificateRenewal(io, depot, undefined)
    sayCutOff(io, depot, await depot.handovers(), { forget: true })
    let stopped = false
    const controller = new AbortController() // Ctrl-C cancels the request in flight: untried requests stay queued; one PSA may have is cut off (offline-queue.ts, cut-off.ts)
    io.interrupted
      ?.then(() => {
        stopped = true
        controller.abort()
      })
      .catch(() => undefined)
    for (;;) {
      const result = await depot.queue.flush({ signal: controller.signal })
      const keys = result.keys.map((k) => k.record).filter((r) => hasValidToken(r, depot.now()))
      const pipeline = out ? await qrPipeline(depot, out) : undefined
      pipeline?.addRecords(keys)
      const files = pipeline ? Object.fromEntries(await pipeline.finish()) : {}
      const qrStop = out ? qrStopText(out, pipeline, undefined, SHOW_WRITES_QR) : undefined
      write(io, `Queue: ${queueCountsText(result)}.${out ? ` ${qrFilesText(Object.keys(files).length, out, newFolder)}` : ''}`)
      newFolder = false
      if (qrStop?.stdout) write(io, qrStop.stdout)
      for (const line of flushedLines(result, files)) write(io, line)
      if (result.stillQueued && result.unreachable) write(io, `  still waiting: ${result.unreachable}`)
      writeQrErrors(io, result)
      writeNoRoom(io, result)
      if (qrStop) {
        writeHuman(io.stderr, qrStop.stderr)
        return exitCodeFor(qrStop.code)
      }
      if (stopped) return EXIT.interrupted
      if (!values.watch || result.stillQueued === 0)
        return result.stillQueued ? EXIT.queued : result.failures[0] ? exitCodeFor(result.failures[0].code) : EXIT.ok
      await Promise.race([new Promise((r) => setTimeout(r, intervalMs)), io.interrupted])
      if (stopped) return EXIT.interrupted
    }
  })
}

/** A queued request as `--json` shows it (`vkey queue --json`, and `vkey token --json` when it queues). */
function queuedRequestJson(r: HandoverRecord): Record<string, string | number | null> {
  return {
    id: r.id,
    vin: r.vin ?? null,
    profile: r.profile ?? null,
    queued_at: queuedSince(r),
    duration_seconds: r.durationSeconds ?? null,
    planned_end: r.plannedEnd ?? null,
    qr: r.deliverQr ?? null,
  }
}

/** `vkey token --json` that ends in the queue: the queued request on stdout, with its status. */
export function writeQueuedJson(io: CliIo, record: HandoverRecord): void {
  writeJson(io, JSON.stringify({ status: 'queued', ...queuedRequestJson(record) }, null, 2))
}

/** When a request went into the queue (a record of an older version: its last try). */
function queuedSince(record: HandoverRecord): string {
  return record.queuedAt ?? record.requestedAt ?? record.updatedAt
}

/**
 * Requests an interruption cut off after a flush took them from the queue (a flush killed, or
 * Ctrl-C): named on stderr, with how to ask again; `vkey queue flush` says it once (`forget`).
 */
function sayCutOff(io: CliIo, depot: Depot, store: HandoverStore, { forget }: { forget: boolean }): void {
  const cut = store.cutOffFromQueue()
  warnCutOff(io, cut, 'queue', depot.profiles)
  if (!forget || !cut.length) return
  try {
    store.forgetQueuedAt(cut.map((r) => r.id))
  } catch {
    // only tidying: a full or busy ledger says it again at the next flush
  }
}

/** The requests waiting in the offline queue. */
async function queuedRequests(store: HandoverStore): Promise<HandoverRecord[]> {
  return (await store.list()).filter((r) => r.status === 'queued')
}

async function queueList(io: CliIo, depot: Depot, json: boolean): Promise<number> {
  const store = await depot.handovers()
  sayCutOff(io, depot, store, { forget: false }) // on stderr: `--json` keeps stdout to the queue
  const queued = await queuedRequests(store)
  if (json) {
    writeJson(io, JSON.stringify(queued.map(queuedRequestJson), null, 2))
    return 0
  }
  for (const r of queued)
    write(io, `${r.id}  ${r.vin ?? '(no VIN)'}  queued since ${formatLocal(queuedSince(r))}${r.deliverQr ? `  QR to ${r.deliverQr}` : ''}`)
  write(
    io,
    `${queued.length} request(s) waiting for the network.${queued.length ? ' Send them with `vkey queue flush`, or remove one with `vkey queue cancel ID`.' : ''}`,
  )
  return 0
}

async function queueCancel(io: CliIo, depot: Depot, ids: string[]): Promise<number> {
  if (!ids.length) throw new VkError('usage', 'vkey queue cancel: give the ID of each queued request to remove (see `vkey queue list`).', { field: 'ID' })
  let missing = 0
  for (const id of ids) {
    const record = await findRecord(depot, id, 'vkey queue list')
    if (await depot.queue.cancel(record.id)) write(io, `Removed from the queue: ${record.id} (${record.vin ?? 'no VIN'}); nothing was sent for it.`)
    else {
      missing += 1
      io.stderr.write(`vkey: ${record.id} is not queued (it is ${record.status}).\n`)
    }
  }
  return missing ? EXIT.usage : EXIT.ok
}
