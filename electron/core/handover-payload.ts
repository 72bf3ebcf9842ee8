/**
 * The handover QR payload of a stored key: the one place a record and its unsealed token
 * become the text a phone scans (format: shared/qr-payload.ts, docs/handover-qr.md).
 */
import { VkError } from '../../shared/errors'
import type { Environment } from '../../shared/profile'
import { handoverPayloadFor } from './handover-environment'
import type { HandoverRecord, StoredToken } from './handovers'

/** The payload of a stored key, marked with its environment (absent for production). */
export function handoverPayloadOf(record: HandoverRecord, token: StoredToken | undefined, environment?: Environment): string {
  if (!token || !record.expires) throw new VkError('not-found', `Handover ${record.vin ?? record.id} has no valid key (status ${record.status}).`, { field: 'id' })
  return handoverPayloadFor(record, token, environment)
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
