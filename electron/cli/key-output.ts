/**
 * How `vkey` shows one key (`vkey token`, `vkey show`): masked on screen, whole only with
 * --json, with its expiry in local time, the environment it comes from and its QR file.
 */
import { basename, resolve } from 'node:path'
import { formatTimeLeft } from '../../shared/duration'
import { toErrorView, VkError } from '../../shared/errors'
import { environmentBand } from '../../shared/environment-marker'
import type { Environment } from '../../shared/profile'
import { formatLocal } from '../../shared/time'
import type { Depot } from '../core/depot'
import { environmentResolver } from '../core/handover-environment'
import { handoverPayloadOf, tokenJsonOf } from '../core/handover-payload'
import type { HandoverRecord, StoredToken } from '../core/handover-record'
import { write, writeJson } from './args'
import type { CliIo } from './io'

/** Shows a token as a technician may see it on screen: the ends only. */
export function maskToken(token: string): string {
  if (token.length <= 12) return '•'.repeat(8)
  return `${token.slice(0, 4)}${'•'.repeat(8)}${token.slice(-4)} (${token.length} characters; --json shows it)`
}

/** Prints an issued handover: masked by default, the whole token only with --json. */
export async function printHandover(io: CliIo, depot: Depot, record: HandoverRecord, options: { json: boolean; qr?: string; heading?: string }): Promise<void> {
  const store = await depot.handovers()
  const token = store.tokenOf(record)
  const environment = environmentResolver(depot.profiles)(record)
  const payload = handoverPayloadOf(record, token, environment)
  let qrPath: string | undefined
  let qrFailure: unknown
  if (options.qr) {
    try {
      // The QR encoder is loaded only when a QR file is asked for: a plain `vkey token` starts without it.
      const { writeHandoverQr } = await import('../core/qr')
      await writeHandoverQr(resolve(options.qr), payload, { environment })
      qrPath = resolve(options.qr)
    } catch (error) {
      qrFailure = error // the key is recorded: it is shown first, then the failure says so
    }
  }
  if (options.json)
    writeJson(io, JSON.stringify({ ...tokenJsonOf(record, token!), environment: environment ?? null, ...(qrPath ? { qr: qrPath } : {}) }, null, 2))
  else printKey(io, depot, record, token!, { environment, qrPath, heading: options.heading })
  if (qrFailure) throw qrNotWritten(record, qrFailure)
}

/** The QR file failed after the key was recorded: say the key exists, and how to write its QR code again. */
function qrNotWritten(record: HandoverRecord, failure: unknown): VkError {
  const view = toErrorView(failure)
  return new VkError(
    view.code,
    `${record.vin ?? 'The vehicle'} has its key (handover ${record.id}, recorded), but ${view.message.replace(/^The QR/, 'its QR')} Then write it with \`vkey show ${record.id} --qr FILE\`.`,
    view.details,
  )
}

function printKey(
  io: CliIo,
  depot: Depot,
  record: HandoverRecord,
  token: StoredToken,
  { environment, qrPath, heading }: { environment: Environment | undefined; qrPath: string | undefined; heading: string | undefined },
): void {
  const secondsLeft = Math.max(0, Math.round((Date.parse(record.expires!) - depot.now().getTime()) / 1000))
  write(io, `${heading ?? 'Key for'} ${record.vin ?? 'a vehicle with no VIN'} (handover ${record.id}).`)
  write(io, `  token:    ${maskToken(token.accessToken)}`)
  write(io, `  type:     ${token.tokenType}`)
  write(io, `  expires:  ${formatLocal(record.expires!)} (in ${formatTimeLeft(secondsLeft)})${record.longerThanAsked ? '  ! longer than asked' : ''}`)
  write(io, `  env:      ${environmentLine(environment)}`)
  if (qrPath) write(io, `  QR:       ${qrPath} — this QR is a car key until it expires.`)
  if (record.source && record.source !== 'stdin') write(io, `  from:     ${basename(record.source)}`)
}

/** Where a key comes from, for human output: the environment and, unless production, its band. */
export function environmentLine(environment: Environment | undefined): string {
  const band = environmentBand(environment)
  if (environment === undefined) return `unknown environment (the profile that issued it is gone) — ${band}`
  const name = environment === 'prod' ? 'production' : environment === 'preprod' ? 'pre-production' : environment === 'custom' ? 'custom server' : 'simulator'
  return band ? `${name} — ${band}` : name
}
