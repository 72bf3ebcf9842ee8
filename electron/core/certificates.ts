/**
 * A partner certificate's facts (subject, issuer, validity, renewal state) and the
 * pre-flight check before a request: the certificate is valid now and the key is its own.
 * Node's crypto only (X.509 and keys in DER/PEM); reading the files a partner is given —
 * PKCS#12 and PEM, legacy ciphers included — is credential-import.ts.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'
import { renewalState } from '../../shared/cert-renewal'
import { type CertificateFacts, type CertificateStatus } from '../../shared/certificate-facts'
import { VkError } from '../../shared/errors'

export type { CertificateFacts } from '../../shared/certificate-facts'

/** Whether `key` is the private key of `cert`. */
export function matches(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key)
  } catch {
    return false // e.g. an EC key against an RSA certificate
  }
}

const dayMs = 24 * 60 * 60 * 1000

function nameParts(distinguishedName: string): Array<[string, string]> {
  return distinguishedName
    .split('\n')
    .filter((line) => line.includes('='))
    .map((line) => {
      const equals = line.indexOf('=')
      return [line.slice(0, equals), line.slice(equals + 1)] as [string, string]
    })
}

function formatName(distinguishedName: string): string {
  return nameParts(distinguishedName)
    .map(([type, value]) => `${type}=${value}`)
    .join(', ')
}

function nameField(distinguishedName: string, type: string): string | undefined {
  return nameParts(distinguishedName).find(([field]) => field === type)?.[1]
}

function loadCertificate(certPem: string): X509Certificate {
  try {
    return new X509Certificate(certPem)
  } catch (error) {
    throw new VkError(
      'config.certificate-format',
      'The stored client certificate is damaged: re-import the certificate with `vkey cert import FILE --profile NAME`.',
      {
        field: 'certificate',
      },
      { cause: error },
    )
  }
}

/** What the app and `vkey profile show` tell about a certificate. */
export function certificateFacts(certPem: string, now: Date = new Date()): CertificateFacts {
  const cert = loadCertificate(certPem)
  const notBefore = new Date(cert.validFrom)
  const notAfter = new Date(cert.validTo)
  const daysLeft = Math.floor((notAfter.getTime() - now.getTime()) / dayMs)
  let status: CertificateStatus = 'valid'
  if (now < notBefore) status = 'not-yet-valid'
  else if (now > notAfter) status = 'expired'
  else if (renewalState(daysLeft).level !== 'none') status = 'expiring'
  const commonName = nameField(cert.subject, 'CN')
  const organizationalUnit = nameField(cert.subject, 'OU')
  const emailAddress = nameField(cert.subject, 'emailAddress') ?? cert.subjectAltName?.match(/email:([^,\s]+)/)?.[1]
  return {
    subject: formatName(cert.subject),
    ...(commonName === undefined ? {} : { commonName }),
    ...(organizationalUnit === undefined ? {} : { organizationalUnit }),
    ...(emailAddress === undefined ? {} : { emailAddress }),
    issuer: formatName(cert.issuer),
    serialNumber: cert.serialNumber.toUpperCase(),
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
    daysLeft,
    status,
    fingerprintSha256: cert.fingerprint256.toUpperCase(),
  }
}

/**
 * Refuses, before any request is sent, a certificate that is expired or not yet valid, or a
 * key that does not belong to it. The issuer is shown elsewhere but not enforced here: the
 * server decides which CAs it trusts.
 */
export function preflight({ certPem, keyPem }: { certPem: string; keyPem: string }, now: Date = new Date(), profileName?: string): CertificateFacts {
  const facts = certificateFacts(certPem, now)
  const day = (iso: string): string => iso.slice(0, 10)
  if (facts.status === 'expired') {
    const renewal = facts.emailAddress ? ` (renewal goes through ${facts.emailAddress})` : ''
    const profileOption = profileName === undefined ? '' : ` --profile ${JSON.stringify(profileName)}`
    throw new VkError(
      'config.certificate-expired',
      `The client certificate ${facts.commonName ?? facts.subject} expired on ${day(facts.notAfter)}: no request was sent. Renew it: \`vkey cert renew --out renewal.csr${profileOption}\` (in the app: Renew now), send renewal.csr to your Stellantis contact${renewal}, then import the certificate they return with \`vkey cert import FILE${profileOption}\`.`,
      { field: 'certificate' },
    )
  }
  if (facts.status === 'not-yet-valid') {
    throw new VkError(
      'config.certificate-not-yet-valid',
      `The client certificate ${facts.commonName ?? facts.subject} is valid only from ${facts.notBefore.replace('T', ' ').slice(0, 16)} UTC. Wait until then, or check this computer's date and time.`,
      { field: 'certificate' },
    )
  }
  let key: KeyObject
  try {
    key = createPrivateKey(keyPem)
  } catch (error) {
    throw new VkError(
      'config.certificate-format',
      'The stored private key is damaged: re-import the certificate and key with `vkey cert import FILE --profile NAME` (add `--key KEY.pem` for a PEM certificate).',
      { field: 'key' },
      { cause: error },
    )
  }
  if (!matches(loadCertificate(certPem), key)) {
    throw new VkError(
      'config.key-mismatch',
      'The stored private key does not belong to the client certificate: re-import both with `vkey cert import FILE --key KEY.pem --profile NAME` (or the .p12 alone).',
      {
        field: 'key',
      },
    )
  }
  return facts
}

/** Orders the rest issuer-first from the leaf upwards; certificates off that path follow. */
export function orderChain(leaf: X509Certificate, others: X509Certificate[]): X509Certificate[] {
  const ordered: X509Certificate[] = []
  const remaining = [...others]
  let current = leaf
  for (;;) {
    const index = remaining.findIndex((candidate) => current.checkIssued(candidate))
    if (index < 0) break
    const [issuer] = remaining.splice(index, 1)
    if (!issuer) break
    ordered.push(issuer)
    current = issuer
  }
  return [...ordered, ...remaining]
}
