/**
 * A new partner key and the PKCS#10 request (CSR) Stellantis signs (cert-request.ts keeps it
 * pending until the answer comes back).
 *
 * Library: node-forge, already in the tree for PKCS#12 (credential-import.ts) and the simulator's
 * PKI (pki.ts): one PKI library, and it writes CSRs. The key pair itself comes from Node's
 * native crypto (forge's pure-JS RSA generation is far slower); forge only signs the request.
 * Loaded only when a request is made: a cold `vkey token` does not load forge.
 *
 * The private key exists in clear only in this process's memory: it goes straight from
 * generation into the vault (AES-256-GCM) and is never written, printed or sent to the
 * renderer.
 */
import { generateKeyPairSync } from 'node:crypto'
import forge from 'node-forge'
import { PARTNER_OU } from '../../shared/cert-request'
import { VkError } from '../../shared/errors'
import { parseSubjectFields, publicKeyFingerprint } from './cert-request'
import type { PendingRequest } from './vault'

/** A new key and its CSR; the caller seals `pending` (it holds the key) and writes `csrPem`. */
export function makeCertificateRequest(login: string, input: unknown, now: Date): { csrPem: string; pending: PendingRequest } {
  const fields = parseSubjectFields(input)
  const commonName = login.trim()
  if (!commonName || commonName.length > 64) {
    throw new VkError(
      'config.profile',
      `The profile's MZP login "${commonName}" cannot be a certificate's CN (1 to 64 characters): fix the login with \`vkey profile add NAME --env ENV --login LOGIN …\` or in Settings.`,
      { field: 'login' },
    )
  }
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const forgeKey = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey
  const csr = forge.pki.createCertificationRequest()
  csr.publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e)
  const utf8 = forge.asn1.Type.UTF8
  csr.setSubject([
    { shortName: 'C', value: fields.country, valueTagClass: forge.asn1.Type.PRINTABLESTRING },
    { shortName: 'ST', value: fields.state, valueTagClass: utf8 },
    { shortName: 'L', value: fields.locality, valueTagClass: utf8 },
    { shortName: 'O', value: fields.organization, valueTagClass: utf8 },
    { shortName: 'OU', value: PARTNER_OU, valueTagClass: utf8 },
    { shortName: 'CN', value: commonName, valueTagClass: utf8 },
    { name: 'emailAddress', value: fields.email, valueTagClass: forge.asn1.Type.IA5STRING },
  ] as unknown as forge.pki.CertificateField[])
  csr.sign(forgeKey, forge.md.sha256.create())
  const csrPem = forge.pki.certificationRequestToPem(csr).replace(/\r\n/g, '\n')
  return {
    csrPem,
    pending: { keyPem, csrPem, fields, commonName, createdAt: now.toISOString(), keyFingerprintSha256: publicKeyFingerprint(publicKey) },
  }
}
