/**
 * The partner certificate's lifecycle inside VK Depot: the RSA 2048 key and the PKCS#10
 * request (CSR) Stellantis signs, the key kept sealed in the vault as the profile's pending
 * key until the signed certificate comes back, and the import of that answer (matched to
 * the pending key by public key, no key file involved).
 *
 * The key and the request are made in csr.ts (with node-forge, loaded only then); this module
 * is what every start needs: the pending requests' views and the matching of an answer.
 *
 * The private key exists in clear only in this process's memory: it goes straight from
 * generation into the vault (AES-256-GCM) and is never written, printed or sent to the
 * renderer.
 */
import { createHash, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto'
import { CsrSubjectFields, csrFieldOptions, formatCsrSubject, type PendingRequestView } from '../../shared/cert-request'
import { VkError } from '../../shared/errors'
import { orderChain } from './certificates'
import type { CredentialFile, PartnerCertificate } from './credential-import'
import type { PendingRequest, ProfileSecrets } from './vault'

/** How many requests a profile keeps waiting at once (the oldest is dropped beyond this). */
export const MAX_PENDING_REQUESTS = 3

/** A CA's clock a little ahead of ours is not a reason to refuse its certificate. */
const clockSlackMs = 5 * 60 * 1000

/** SHA-256 of a public key's SubjectPublicKeyInfo DER, `AA:BB:…` uppercase. */
export function publicKeyFingerprint(key: KeyObject): string {
  const publicKey = key.type === 'public' ? key : createPublicKey(key)
  const der = publicKey.export({ type: 'spki', format: 'der' })
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':')
}

/** The subject fields, validated (zod), or a usage error naming the option and the rule. */
export function parseSubjectFields(input: unknown): CsrSubjectFields {
  const parsed = CsrSubjectFields.safeParse(input)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  const key = String(issue?.path[0] ?? 'subject') as keyof CsrSubjectFields
  const option = csrFieldOptions[key] ?? key
  throw new VkError('usage', `Certificate request: ${option} ${issue?.message ?? 'is not valid'}.`, { field: key })
}

/** What may be shown of a pending request (no key). */
export function pendingView(pending: PendingRequest): PendingRequestView {
  return {
    subject: formatCsrSubject(pending.fields, pending.commonName),
    fields: pending.fields,
    commonName: pending.commonName,
    createdAt: pending.createdAt,
    keyFingerprintSha256: pending.keyFingerprintSha256,
  }
}

/** The profile's secrets with one more pending request (newest first, at most MAX_PENDING_REQUESTS). */
export function withPendingRequest(secrets: ProfileSecrets, pending: PendingRequest): ProfileSecrets {
  return { ...secrets, pendingRequests: [pending, ...(secrets.pendingRequests ?? [])].slice(0, MAX_PENDING_REQUESTS) }
}

/**
 * The fields to prefill a new request with: the newest pending request's, else the current
 * certificate's subject (a renewal keeps the same subject), else nothing.
 */
export function requestDraft(secrets: ProfileSecrets | undefined): Partial<CsrSubjectFields> {
  const pending = secrets?.pendingRequests?.[0]
  if (pending) return pending.fields
  if (!secrets?.certPem) return {}
  const subject = new X509Certificate(secrets.certPem).subject
  const part = (type: string): string | undefined =>
    subject
      .split('\n')
      .find((line) => line.startsWith(`${type}=`))
      ?.slice(type.length + 1)
  const draft: Partial<CsrSubjectFields> = {}
  const pairs: Array<[keyof CsrSubjectFields, string]> = [
    ['country', 'C'],
    ['state', 'ST'],
    ['locality', 'L'],
    ['organization', 'O'],
    ['email', 'emailAddress'],
  ]
  for (const [field, type] of pairs) {
    const value = part(type)
    if (value !== undefined) draft[field] = value
  }
  return draft
}

// ---------------------------------------------------------------- the answer

const certificateBlock = /-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END (?:X509 |TRUSTED )?CERTIFICATE-----/g

/**
 * The certificates in a file that holds certificates and nothing else (PEM with or without
 * the chain, or one DER certificate: .pem/.crt/.cer/.der); undefined for anything else
 * (a .p12, a file with a key), which the PKCS#12/PEM import reads instead.
 */
export function certificatesOnlyIn(file: CredentialFile): X509Certificate[] | undefined {
  const text = file.bytes.toString('latin1')
  if (text.includes('-----BEGIN ')) {
    if (/-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE REQUEST)-----/.test(text)) return undefined
    const blocks = text.match(certificateBlock) ?? []
    const certs: X509Certificate[] = []
    for (const block of blocks) {
      try {
        certs.push(new X509Certificate(block.replace(/-----(BEGIN|END) (?:X509 |TRUSTED )CERTIFICATE-----/g, '-----$1 CERTIFICATE-----')))
      } catch {
        return undefined // a damaged block: let the general import explain it
      }
    }
    return certs.length ? certs : undefined
  }
  try {
    return [new X509Certificate(file.bytes)]
  } catch {
    return undefined
  }
}

export interface SignedAnswer {
  /** The certificate, key and chain that become the profile's credentials. */
  credentials: PartnerCertificate
  /** The pending requests left once the matched one is consumed. */
  remaining: PendingRequest[]
}

/**
 * Matches a signed certificate to one of the profile's pending keys by public key and checks
 * it: subject CN = the profile's login, inside its validity, not a CA.
 */
export function acceptSignedCertificate(
  certs: X509Certificate[],
  context: { fileName: string; profileName: string; login: string; pending: PendingRequest[]; now: Date; current?: ProfileSecrets },
): SignedAnswer {
  const { fileName, profileName, login, pending, now, current } = context
  // The same answer imported again (a second click, a re-run script): nothing to change.
  if (current?.certPem && current.keyPem) {
    const installed = new X509Certificate(current.certPem).fingerprint256
    if (certs.some((cert) => cert.fingerprint256 === installed)) {
      return { credentials: { certPem: current.certPem, keyPem: current.keyPem, chainPems: current.chainPems ?? [] }, remaining: pending }
    }
  }
  if (!pending.length) {
    throw new VkError(
      'config.key-mismatch',
      `${fileName} holds a certificate without its private key, and profile "${profileName}" has no certificate request waiting for an answer. ` +
        `If VK Depot made the request, it was for another profile: import it there with \`vkey cert import ${fileName} --profile NAME\`. ` +
        `If you made the key yourself, pass it: \`vkey cert import ${fileName} --key KEY.pem\`. Otherwise make a request with \`vkey cert request --profile "${profileName}" …\` and send it to your Stellantis contact.`,
      { file: fileName, field: 'certificate' },
    )
  }
  for (const [index, request] of pending.entries()) {
    const key = createPublicKey(request.keyPem)
    const leaf = certs.find((cert) => publicKeyFingerprint(cert.publicKey) === publicKeyFingerprint(key))
    if (!leaf) continue
    checkSignedCertificate(leaf, { fileName, profileName, login, now })
    const others = certs.filter((cert) => cert !== leaf)
    return {
      credentials: { certPem: leaf.toString(), keyPem: request.keyPem, chainPems: orderChain(leaf, others).map((cert) => cert.toString()) },
      remaining: pending.filter((_, other) => other !== index),
    }
  }
  const waiting = pending.map((p) => `made ${p.createdAt.slice(0, 10)}, key SHA-256 ${p.keyFingerprintSha256.slice(0, 23)}…`).join('; ')
  throw new VkError(
    'config.key-mismatch',
    `${fileName} matches no certificate request of profile "${profileName}": it was issued for another key (requests waiting: ${waiting}). ` +
      'Check that Stellantis signed the request file you sent from VK Depot (see `vkey cert show`), or send it again; if the certificate belongs to another profile, import it there with --profile.',
    { file: fileName, field: 'certificate' },
  )
}

/** Text from a certificate as it may reach a terminal: control characters shown as `?`. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')
}

function checkSignedCertificate(leaf: X509Certificate, context: { fileName: string; profileName: string; login: string; now: Date }): void {
  const { fileName, profileName, login, now } = context
  const commonName = leaf.subject
    .split('\n')
    .find((line) => line.startsWith('CN='))
    ?.slice(3)
  if (commonName !== login) {
    throw new VkError(
      'config.certificate-format',
      `${fileName} is for CN=${commonName === undefined ? '(none)' : printable(commonName)}, but profile "${profileName}" logs in as ${login}: PSA refuses a certificate whose CN is not the login. Ask your Stellantis contact for a certificate with CN=${login}, or fix the profile's login.`,
      { file: fileName, field: 'certificate' },
    )
  }
  if (leaf.ca) {
    throw new VkError(
      'config.certificate-format',
      `${fileName} is a CA certificate (it may sign other certificates), not a partner client certificate. Import the certificate Stellantis issued for your request.`,
      { file: fileName, field: 'certificate' },
    )
  }
  const notAfter = new Date(leaf.validTo)
  const notBefore = new Date(leaf.validFrom)
  if (now > notAfter) {
    throw new VkError(
      'config.certificate-expired',
      `${fileName} expired on ${notAfter.toISOString().slice(0, 10)}: ask your Stellantis contact for a current certificate for the same request.`,
      { file: fileName, field: 'certificate' },
    )
  }
  if (now.getTime() < notBefore.getTime() - clockSlackMs) {
    throw new VkError(
      'config.certificate-not-yet-valid',
      `${fileName} is valid only from ${notBefore.toISOString().slice(0, 16).replace('T', ' ')} UTC: check this computer's date, or import it then.`,
      { file: fileName, field: 'certificate' },
    )
  }
}
