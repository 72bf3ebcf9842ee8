/**
 * What VK Depot shows about a client certificate (never key material).
 * Pure TypeScript + zod: used by the core, the IPC contract and the renderer.
 */
import * as z from 'zod'
import { RENEWAL_WARNING_DAYS } from './cert-renewal'

export const certificateStatuses = ['valid', 'expiring', 'expired', 'not-yet-valid'] as const
export type CertificateStatus = (typeof certificateStatuses)[number]

/** A certificate counts as expiring from the first renewal warning on (shared/cert-renewal.ts). */
export const expiringWithinDays = RENEWAL_WARNING_DAYS[0]

export const CertificateFactsSchema = z.object({
  /** Distinguished name, most specific part last as printed by OpenSSL, e.g. `C=FR, O=Acme, OU=Programs Partners, CN=MZP123456`. */
  subject: z.string(),
  /** For a Stellantis partner certificate: the MZP login. */
  commonName: z.string().optional(),
  /** For a Stellantis partner certificate: `Programs Partners`. */
  organizationalUnit: z.string().optional(),
  /** Where renewal notices go, when the certificate names one. */
  emailAddress: z.string().optional(),
  issuer: z.string(),
  /** Uppercase hexadecimal. */
  serialNumber: z.string(),
  /** ISO-8601 UTC. */
  notBefore: z.string(),
  notAfter: z.string(),
  /** Whole days until notAfter (negative once expired). */
  daysLeft: z.number().int(),
  status: z.enum(certificateStatuses),
  /** SHA-256 of the DER certificate, `AA:BB:…` uppercase. */
  fingerprintSha256: z.string().regex(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/),
})

export type CertificateFacts = z.infer<typeof CertificateFactsSchema>
