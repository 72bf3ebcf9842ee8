/**
 * X.509 and PKCS#12 generation with node-forge, for the PSA simulator and the tests.
 *
 * Keys are RSA 2048 made by Node's native crypto (forge's pure-JS key generation is far
 * slower) and handed to forge for signing. Keys come out as unencrypted PKCS#8 PEM
 * ("BEGIN PRIVATE KEY"); certificates as PEM. Nothing here is meant for production PKI:
 * it makes a demo CA, server and partner certificates that look like the real ones.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { isIP } from 'node:net'
import forge from 'node-forge'
import { VkError } from '../../shared/errors'

/** A certificate and its private key (PKCS#8 PEM). */
export interface Issued {
  certPem: string
  keyPem: string
}

export interface CaOptions {
  commonName: string
  organization?: string
  notBefore?: Date
  notAfter?: Date
}

export interface SubjectFields {
  CN: string
  O?: string
  OU?: string
  C?: string
  ST?: string
  L?: string
  emailAddress?: string
}

export interface IssueOptions {
  subject: SubjectFields
  usage: 'server' | 'client'
  /** DNS names or IP addresses (v4 or v6) for subjectAltName. */
  altNames?: string[]
  notBefore?: Date
  notAfter?: Date
}

export interface Pkcs12Options {
  certPem: string
  keyPem: string
  chainPems?: string[]
  passphrase: string
  /** '3des' (default) is read by forge, OpenSSL 3 without the legacy provider, Windows and Java. */
  algorithm?: '3des' | 'aes256'
  friendlyName?: string
}

const DAY_MS = 24 * 60 * 60 * 1000

/** A fresh RSA 2048 key pair: PKCS#8 PEM and the forge objects for signing. */
export function generateRsaKey(): { keyPem: string; privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const forgeKey = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey
  const publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e)
  return { keyPem, privateKey: forgeKey, publicKey }
}

/** A random positive serial number (16 bytes, high bit clear, never zero). */
export function randomSerialHex(): string {
  const bytes = randomBytes(16)
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01
  return bytes.toString('hex')
}

function defaultValidity(notBefore?: Date, notAfter?: Date, days = 365): { notBefore: Date; notAfter: Date } {
  const start = notBefore ?? new Date(Date.now() - 5 * 60 * 1000) // 5 minutes of clock slack
  const end = notAfter ?? new Date(start.getTime() + days * DAY_MS)
  if (end.getTime() <= start.getTime()) {
    throw new VkError('input.field', 'The certificate would end before it starts: give a notAfter later than notBefore.', { field: 'notAfter' })
  }
  return { notBefore: start, notAfter: end }
}

function subjectAttributes(subject: SubjectFields): forge.pki.CertificateField[] {
  const attrs: forge.pki.CertificateField[] = []
  if (subject.C) attrs.push({ name: 'countryName', value: subject.C })
  if (subject.ST) attrs.push({ name: 'stateOrProvinceName', value: subject.ST })
  if (subject.L) attrs.push({ name: 'localityName', value: subject.L })
  if (subject.O) attrs.push({ name: 'organizationName', value: subject.O })
  if (subject.OU) attrs.push({ name: 'organizationalUnitName', value: subject.OU })
  attrs.push({ name: 'commonName', value: subject.CN })
  if (subject.emailAddress) attrs.push({ name: 'emailAddress', value: subject.emailAddress })
  return attrs
}

/** A self-signed CA certificate (10 years unless told otherwise). */
export function createCa(options: CaOptions): Issued {
  const { keyPem, privateKey, publicKey } = generateRsaKey()
  const cert = forge.pki.createCertificate()
  cert.publicKey = publicKey
  cert.serialNumber = randomSerialHex()
  const validity = defaultValidity(options.notBefore, options.notAfter, 3650)
  cert.validity.notBefore = validity.notBefore
  cert.validity.notAfter = validity.notAfter
  const attrs: forge.pki.CertificateField[] = []
  if (options.organization) attrs.push({ name: 'organizationName', value: options.organization })
  attrs.push({ name: 'commonName', value: options.commonName })
  cert.setSubject(attrs)
  cert.setIssuer(attrs)
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ])
  cert.sign(privateKey, forge.md.sha256.create())
  return { certPem: forge.pki.certificateToPem(cert), keyPem }
}

/** A leaf certificate signed by `ca`: a TLS server certificate or a partner (client) certificate. */
export function issueCertificate(ca: Issued, options: IssueOptions): Issued {
  const caCert = forge.pki.certificateFromPem(ca.certPem)
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem) as forge.pki.rsa.PrivateKey
  const { keyPem, publicKey } = generateRsaKey()
  const cert = forge.pki.createCertificate()
  cert.publicKey = publicKey
  cert.serialNumber = randomSerialHex()
  const validity = defaultValidity(options.notBefore, options.notAfter, options.usage === 'server' ? 397 : 730)
  cert.validity.notBefore = validity.notBefore
  cert.validity.notAfter = validity.notAfter
  cert.setSubject(subjectAttributes(options.subject))
  cert.setIssuer(caCert.subject.attributes)

  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    options.usage === 'server' ? { name: 'extKeyUsage', serverAuth: true } : { name: 'extKeyUsage', clientAuth: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]
  const altNames = options.altNames ?? []
  if (altNames.length > 0) {
    extensions.push({
      name: 'subjectAltName',
      altNames: altNames.map((name) => (isIP(name) ? { type: 7, ip: name } : { type: 2, value: name })),
    })
  }
  cert.setExtensions(extensions)
  cert.sign(caKey, forge.md.sha256.create())
  return { certPem: forge.pki.certificateToPem(cert), keyPem }
}

/** A partner certificate the way Stellantis issues them: OU = Programs Partners, CN = the MZP login. */
export function issuePartnerCertificate(
  partnerCa: Issued,
  options: { login: string; organization?: string; emailAddress?: string; notBefore?: Date; notAfter?: Date },
): Issued {
  return issueCertificate(partnerCa, {
    subject: {
      C: 'FR',
      ST: 'Ile-de-France',
      L: 'Paris',
      O: options.organization ?? 'Demo Depot SARL',
      OU: 'Programs Partners',
      CN: options.login,
      emailAddress: options.emailAddress ?? 'fleet@demo-depot.example',
    },
    usage: 'client',
    notBefore: options.notBefore,
    notAfter: options.notAfter,
  })
}

/** A passphrase-protected PKCS#12 (.p12/.pfx) bundle with the key, the certificate and its chain. */
export function toPkcs12(options: Pkcs12Options): Buffer {
  const key = forge.pki.privateKeyFromPem(options.keyPem)
  const certs = [options.certPem, ...(options.chainPems ?? [])].map((pem) => forge.pki.certificateFromPem(pem))
  // forge tests `'friendlyName' in options`: an undefined value would break the encoder.
  const p12Options: { algorithm: '3des' | 'aes256'; generateLocalKeyId: boolean; friendlyName?: string } = {
    algorithm: options.algorithm ?? '3des',
    generateLocalKeyId: true,
  }
  if (options.friendlyName !== undefined) p12Options.friendlyName = options.friendlyName
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, certs, options.passphrase, p12Options)
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary')
}

/** The facts the simulator needs from a certificate: subject CN and validity. */
export function certificateFacts(certPem: string): { commonName: string | undefined; notBefore: Date; notAfter: Date } {
  const cert = forge.pki.certificateFromPem(certPem)
  const cn = cert.subject.getField('CN') as { value?: unknown } | null
  return {
    commonName: typeof cn?.value === 'string' ? cn.value : undefined,
    notBefore: cert.validity.notBefore,
    notAfter: cert.validity.notAfter,
  }
}
