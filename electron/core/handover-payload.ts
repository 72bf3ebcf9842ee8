/**
 * The handover QR payload of a stored key: the one place a record and its unsealed token
 * become the text a phone scans (format: shared/qr-payload.ts, docs/handover-qr.md).
 */
import { payloadEnvironment } from '../../shared/environment-marker'
import { VkError } from '../../shared/errors'
import type { Environment } from '../../shared/profile'
import { buildHandoverPayload } from '../../shared/qr-payload'
import type { HandoverRecord, StoredToken } from './handover-record'

/**
 * The payload of a stored key, with `env` set to its environment unless that is production
 * (or unknown). Refuses a record with no key.
 */
export function handoverPayloadOf(
  record: Pick<HandoverRecord, 'vin' | 'expires'> & Partial<Pick<HandoverRecord, 'id' | 'status'>>,
  token: StoredToken | undefined,
  environment?: Environment,
): string {
  if (!token || !record.expires)
    throw new VkError('not-found', `Handover ${record.vin ?? record.id} has no valid key (status ${record.status}).`, { field: 'id' })
  const env = payloadEnvironment(environment)
  return buildHandoverPayload({
    ...(env ? { env } : {}),
    ...(record.vin ? { vin: record.vin } : {}),
    accessToken: token.accessToken,
    tokenType: token.tokenType,
    expires: record.expires,
    tokenSignature: token.tokenSignature,
  })
}

/** The token as `--json` and the app's JSON export show it: PSA's field names, the stored expiry. */
export function tokenJsonOf(record: HandoverRecord, token: StoredToken): Record<string, unknown> {
  return {
    id: record.id,
    vin: record.vin ?? null,
    access_token: token.accessToken,
    token_type: token.tokenType,
    expires: record.expires,
    expires_in: token.expiresIn,
    token_signature: token.tokenSignature,
    ...(record.longerThanAsked ? { longer_than_asked: true } : {}),
  }
}
