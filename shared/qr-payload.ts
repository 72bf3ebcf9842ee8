/**
 * The handover QR payload (format: docs/handover-qr.md). Pure TypeScript.
 *
 * Compact, versioned JSON, keys in this order:
 *   {"v":1,"typ":"vkey-handover","env":"simulator","vin":"VF3…","tok":"<access_token>",
 *    "tt":"bearer","exp":"2025-03-01T18:00:00Z","sig":"<token_signature>"}
 * `env` is left out for production keys, `vin` when the VIN is not known. Encoded as UTF-8, QR byte mode, level M.
 */

import * as z from 'zod'
import { MARKED_ENVIRONMENTS, type MarkedEnvironment } from './environment-marker'
import { VkError } from './errors'
import { normalizeVin, quoteShort, vinProblem } from './vin'

export const HANDOVER_PAYLOAD_VERSION = 1
export const HANDOVER_PAYLOAD_TYPE = 'vkey-handover'
export { QR_BYTE_CAPACITY_M } from './qr-capacity'

/** What the builder takes: the PSA answer's fields plus the VIN when known. */
export interface HandoverInput {
  /** Where the key comes from when it is not production (simulator, preprod, custom). */
  env?: MarkedEnvironment
  vin?: string
  /** token.access_token */
  accessToken: string
  /** token.token_type ("bearer"; stored lower-case) */
  tokenType: string
  /** token.expires, ISO-8601 with Z or an offset, kept as PSA wrote it */
  expires: string
  /** token_signature */
  tokenSignature: string
}

/** A parsed payload. */
export interface HandoverPayload extends HandoverInput {
  version: 1
}

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i
const CONTROL_CHAR = /[\u0000-\u001f\u007f]/ // eslint-disable-line no-control-regex
const TOKEN_TYPE = /^[A-Za-z][A-Za-z0-9._-]*$/

const text = z
  .string()
  .min(1)
  .refine((s) => !CONTROL_CHAR.test(s))

const payloadSchema = z.object({
  v: z.literal(HANDOVER_PAYLOAD_VERSION),
  typ: z.literal(HANDOVER_PAYLOAD_TYPE),
  env: z.enum(MARKED_ENVIRONMENTS).optional(),
  vin: z.string().optional(),
  tok: text,
  tt: z.string().regex(TOKEN_TYPE),
  exp: z
    .string()
    .regex(ISO_WITH_ZONE)
    .refine((s) => !Number.isNaN(Date.parse(s))),
  sig: text,
})

const FIELD_TEXT: Record<string, string> = {
  v: 'the format version "v" must be 1',
  typ: `the type "typ" must be "${HANDOVER_PAYLOAD_TYPE}"`,
  env: `the environment "env" must be one of ${MARKED_ENVIRONMENTS.join(', ')} (absent for production)`,
  vin: 'the VIN "vin" must be a text',
  tok: 'the token "tok" must be a non-empty text without control characters',
  tt: 'the token type "tt" must be a word such as "bearer"',
  exp: 'the expiry "exp" must be an ISO-8601 date and time with Z or an offset',
  sig: 'the token signature "sig" must be a non-empty text without control characters',
}

/** UTF-8 size of a payload (what the QR code has to hold). */
export function payloadByteLength(payload: string): number {
  return new TextEncoder().encode(payload).length
}

/**
 * Builds the payload text. Throws VkError('input.field' / 'input.vin') when a field could
 * not be read back by the phone — it validates by parsing its own output.
 */
export function buildHandoverPayload(input: HandoverInput): string {
  const fields: Record<string, unknown> = {
    v: HANDOVER_PAYLOAD_VERSION,
    typ: HANDOVER_PAYLOAD_TYPE,
  }
  if (input.env !== undefined) fields.env = input.env
  if (input.vin !== undefined) {
    const vin = normalizeVin(input.vin)
    const problem = vinProblem(vin)
    if (problem !== undefined) {
      throw new VkError(
        'input.vin',
        `The handover QR code cannot be made: the VIN ${quoteShort(vin)} ${problem}. Correct the vehicle's VIN and issue the token again.`,
        { field: 'vin' },
      )
    }
    fields.vin = vin
  }
  fields.tok = input.accessToken
  fields.tt = typeof input.tokenType === 'string' ? input.tokenType.toLowerCase() : input.tokenType
  fields.exp = input.expires
  fields.sig = input.tokenSignature
  const checked = payloadSchema.safeParse(fields)
  if (!checked.success) {
    const key = String(checked.error.issues[0]?.path[0] ?? '')
    throw new VkError(
      'input.field',
      `The handover QR code cannot be made from PSA's answer: ${FIELD_TEXT[key] ?? `field "${key}" is not valid`}. Issue the token again; if it repeats, export the token as JSON and report it.`,
      { field: key },
    )
  }
  return JSON.stringify(fields)
}

/**
 * Reads a payload back (tests; a future phone-side reader). Throws VkError:
 * 'input.json' (not JSON), 'input.field' (not a VK Depot handover, other version, bad field),
 * 'input.vin' (bad VIN).
 */
export function parseHandoverPayload(payloadText: string): HandoverPayload {
  let raw: unknown
  try {
    raw = JSON.parse(payloadText)
  } catch {
    throw new VkError('input.json', 'This QR code does not hold JSON, so it is not a VK Depot handover code. Scan the code printed or shown by VK Depot.')
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new VkError(
      'input.field',
      'This QR code holds JSON but not an object, so it is not a VK Depot handover code. Scan the code printed or shown by VK Depot.',
    )
  }
  const obj = raw as Record<string, unknown>
  if (obj.typ !== HANDOVER_PAYLOAD_TYPE) {
    throw new VkError(
      'input.field',
      `This QR code is not a VK Depot handover code ("typ" is not "${HANDOVER_PAYLOAD_TYPE}"). Scan the code printed or shown by VK Depot.`,
      { field: 'typ' },
    )
  }
  if (obj.v !== HANDOVER_PAYLOAD_VERSION) {
    const newer = typeof obj.v === 'number' && obj.v > HANDOVER_PAYLOAD_VERSION
    throw new VkError(
      'input.field',
      newer
        ? `This handover code uses format version ${String(obj.v)}, newer than this reader (version ${HANDOVER_PAYLOAD_VERSION}). Update the phone app.`
        : `This handover code has an unknown format version (${JSON.stringify(obj.v) ?? 'missing'}). Issue the token again with VK Depot.`,
      { field: 'v' },
    )
  }
  const checked = payloadSchema.safeParse(obj)
  if (!checked.success) {
    const key = String(checked.error.issues[0]?.path[0] ?? '')
    throw new VkError(
      'input.field',
      `This handover code is damaged: ${FIELD_TEXT[key] ?? `field "${key}" is not valid`}. Issue the token again with VK Depot.`,
      { field: key },
    )
  }
  const p = checked.data
  const out: HandoverPayload = {
    version: 1,
    accessToken: p.tok,
    tokenType: p.tt,
    expires: p.exp,
    tokenSignature: p.sig,
  }
  if (p.env !== undefined) out.env = p.env
  if (p.vin !== undefined) {
    const vin = normalizeVin(p.vin)
    const problem = vinProblem(vin)
    if (problem !== undefined) {
      throw new VkError('input.vin', `This handover code is damaged: its VIN ${quoteShort(vin)} ${problem}. Issue the token again with VK Depot.`, {
        field: 'vin',
      })
    }
    out.vin = vin
  }
  return out
}
