/**
 * The subject of a certificate request (CSR) as Stellantis' B2B process wants it:
 * C (2 letters), ST, L, O, OU = Programs Partners, CN = the MZP login, emailAddress.
 * The zod schema is the one rule for the wizard (renderer), the IPC contract and `vkey`.
 */
import * as z from 'zod'

/** Fixed by Stellantis for every partner certificate. */
export const PARTNER_OU = 'Programs Partners'

// C0 and C1 control characters (newlines, escapes…): never in a certificate subject.
// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u001f\u007f-\u009f]/

/** A subject field: trimmed, not empty, no control characters, at most `max` characters (RFC 5280 upper bounds). */
function field(max: number) {
  return z
    .string()
    .trim()
    .min(1, 'is required')
    .max(max, `must be at most ${max} characters`)
    .refine((value) => !controlCharacters.test(value), 'must not contain control characters (line breaks, tabs…)')
}

export const CsrSubjectFields = z.object({
  /** Two-letter ISO 3166 country code, e.g. FR. */
  country: z
    .string()
    .trim()
    .transform((value) => value.toUpperCase())
    .pipe(z.string().regex(/^[A-Z]{2}$/, 'must be the two-letter country code, e.g. FR')),
  state: field(128),
  locality: field(128),
  organization: field(64),
  /** Where Stellantis sends the certificate and its renewal notices. */
  email: z.string().trim().max(128, 'must be at most 128 characters').pipe(z.email('must be an e-mail address, e.g. fleet@depot.example')),
})
export type CsrSubjectFields = z.infer<typeof CsrSubjectFields>

/** The option or form field each subject field comes from, for error messages. */
export const csrFieldOptions: Record<keyof CsrSubjectFields, string> = {
  country: '--country',
  state: '--state',
  locality: '--locality',
  organization: '--org',
  email: '--email',
}

/** What is shown of a request waiting for its certificate (never key material). */
export const PendingRequestView = z.object({
  /** `C=FR, ST=…, L=…, O=…, OU=Programs Partners, CN=MZP123456, emailAddress=…` */
  subject: z.string(),
  fields: CsrSubjectFields,
  commonName: z.string(),
  /** ISO-8601 UTC. */
  createdAt: z.string(),
  /** SHA-256 of the public key (SubjectPublicKeyInfo DER), `AA:BB:…`. */
  keyFingerprintSha256: z.string(),
})
export type PendingRequestView = z.infer<typeof PendingRequestView>

/** The subject as one line, in the order of the request. */
export function formatCsrSubject(fields: CsrSubjectFields, commonName: string): string {
  return `C=${fields.country}, ST=${fields.state}, L=${fields.locality}, O=${fields.organization}, OU=${PARTNER_OU}, CN=${commonName}, emailAddress=${fields.email}`
}
