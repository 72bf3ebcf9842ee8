/**
 * What the page may see of the depot: a record as a summary (no CarData, no token), with
 * its key when it has a valid one (the detail), a profile as its view, and a key's QR code
 * as an image. The one place a stored token is unsealed for the app.
 */
import { basename } from 'node:path'
import { VkError } from '../../shared/errors'
import type { HandoverDetail, HandoverSummary, ProfileView, QrImage, TokenView } from '../../shared/ipc/contract'
import type { Environment } from '../../shared/profile'
import type { Depot } from '../core/depot'
import { environmentResolver } from '../core/handover-environment'
import { handoverPayloadOf } from '../core/handover-payload'
import { coversPlan, hasValidToken, type HandoverRecord, type StoredToken } from '../core/handover-record'
import { earlierCutOffNote } from '../core/key-notes'
import { roomShortfallOf } from '../core/offline-queue'
import { profileView } from '../core/profile-view'
import type { QrFormat } from '../core/output-paths'
import { renderHandoverQr } from '../core/qr'

/** What the renderer may see of a record: no CarData, no token. */
export function summaryOf(record: HandoverRecord, environment?: Environment, now: Date = new Date()): HandoverSummary {
  const earlier = earlierCutOffNote(record, { time: (iso) => iso, now })
  const covers = coversPlan(record)
  const held = record.status === 'queued' ? roomShortfallOf(record) : undefined
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
    ...(earlier ? { earlierCutOff: record.earlierCutOff?.until ? { until: record.earlierCutOff.until } : {} } : {}),
    ...(held ? { heldForRoom: { file: record.deliverQr!, shortfall: held } } : {}),
  }
}

/** A record's summary with the environment its key comes from (one read of the profiles). */
export function viewOf(depot: Depot, record: HandoverRecord): HandoverSummary {
  return summaryOf(record, environmentResolver(depot.profiles)(record), depot.now())
}

/** The summary and, when the key is valid and was unsealed, the token. */
function detailWith(depot: Depot, record: HandoverRecord, token: StoredToken | undefined): HandoverDetail {
  const tokenView: TokenView | undefined =
    token && record.expires
      ? {
          accessToken: token.accessToken,
          tokenType: token.tokenType,
          expires: record.expires,
          expiresIn: token.expiresIn,
          tokenSignature: token.tokenSignature,
        }
      : undefined
  return { ...viewOf(depot, record), ...(tokenView ? { token: tokenView } : {}) }
}

/** The record's token, unsealed, while it is valid. */
async function validToken(depot: Depot, record: HandoverRecord): Promise<StoredToken | undefined> {
  return hasValidToken(record, depot.now()) ? (await depot.handovers()).tokenOf(record) : undefined
}

/**
 * A record as the page sees it, with its token while the key is valid and, when `qr` names
 * a format, its QR code: both from one unseal of the token.
 */
export async function detailOf(depot: Depot, record: HandoverRecord, qr?: QrFormat): Promise<HandoverDetail> {
  const token = await validToken(depot, record)
  const detail = detailWith(depot, record, token)
  if (!qr || !token || !record.expires) return detail
  try {
    return { ...detail, qr: await qrImageOf(handoverPayloadOf(record, token, detail.environment), qr) }
  } catch {
    // A token too large for one QR code: the key is still shown (and exported as JSON); the
    // page asks handovers:qr for the image and gets the error that says so.
    return detail
  }
}

/** A handover's valid key: its record, its detail and the QR payload, from one unseal. */
export interface IssuedKey {
  record: HandoverRecord
  token: StoredToken
  detail: HandoverDetail & { token: TokenView }
  environment: Environment | undefined
  payload: string
}

/** The key of handover `id`; refuses a handover with no valid key. */
export async function keyOf(depot: Depot, id: string): Promise<IssuedKey> {
  const record = await (await depot.handovers()).get(id)
  const token = await validToken(depot, record)
  if (!token || !record.expires)
    throw new VkError('not-found', `Handover ${record.vin ?? id} has no valid token (status ${record.status}). Request one first.`, { field: 'id' })
  const environment = environmentResolver(depot.profiles)(record)
  const detail = detailWith(depot, record, token) as IssuedKey['detail']
  return { record, token, detail, environment, payload: handoverPayloadOf(record, token, environment) }
}

/** The QR code of a payload as a data URL the page can show. */
export async function qrImageOf(payload: string, format: QrFormat): Promise<QrImage> {
  const dataUrl =
    format === 'svg'
      ? `data:image/svg+xml;base64,${Buffer.from(await renderHandoverQr(payload, 'svg')).toString('base64')}`
      : `data:image/png;base64,${(await renderHandoverQr(payload, 'png')).toString('base64')}`
  return { dataUrl, payloadBytes: Buffer.byteLength(payload) }
}

/** A profile as the page sees it, by name. */
export async function profileViewOf(depot: Depot, name: string): Promise<ProfileView> {
  return profileView(await depot.partners.summary(depot.profiles.get(name)))
}
