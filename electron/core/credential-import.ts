/**
 * Partner credential import: PKCS#12 and PEM files (or DER), a separate key file, a
 * passphrase, the leaf certificate matched to its key and the chain ordered issuer-first.
 *
 * Containers are decrypted with node-forge, not Node's crypto: Electron's main process runs
 * BoringSSL and plain Node runs OpenSSL 3, and both refuse the legacy RC2-40 / 3DES PKCS#12
 * files Windows and Java tools still produce. forge reads those and modern AES-256 (PBES2)
 * bundles alike. Once decrypted, everything is plain DER (X.509, PKCS#8), which Node's crypto
 * reads the same under either library, RSA and EC alike (certificates.ts checks the pair).
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'
import forge from 'node-forge'
import { VkError } from '../../shared/errors'
import { matches, orderChain } from './certificates'

/** A file as the user chose it: its name (for messages) and its bytes. */
export interface CredentialFile {
  name: string
  bytes: Buffer
}

export interface PartnerCertificate {
  /** The client certificate (the one matching the key), PEM. */
  certPem: string
  /** Unencrypted PKCS#8 PEM: keep it in memory only, or sealed in the vault. */
  keyPem: string
  /** The other certificates found (issuer first), PEM. */
  chainPems: string[]
}

export interface ImportOptions {
  file: CredentialFile
  key?: CredentialFile
  passphrase?: string
}

const maxFileBytes = 1024 * 1024
const acceptedFormats =
  'a PKCS#12 bundle (.p12/.pfx), or a PEM certificate (.pem/.crt/.cer, optionally with its chain and key) with its PEM private key (.key/.pem)'

interface FoundKey {
  source: string
  key: KeyObject
}

interface Collected {
  certs: X509Certificate[]
  keys: FoundKey[]
}

/**
 * Imports the partner's client certificate and private key from what Stellantis partners
 * actually hold: a .p12/.pfx (any age), or PEM files as `openssl req -keyout` makes them.
 */
export function importPartnerCredentials({ file, key, passphrase }: ImportOptions): PartnerCertificate {
  const collected: Collected = { certs: [], keys: [] }
  readCredentialFile(file, passphrase, collected)
  if (key) readCredentialFile(key, passphrase, collected)

  if (collected.certs.length === 0) {
    throw new VkError('config.certificate-format', `${file.name} holds no certificate. Choose ${acceptedFormats}.`, { file: file.name })
  }
  if (collected.keys.length === 0) {
    const where = key ? `${file.name} and ${key.name} hold` : `${file.name} holds`
    throw new VkError(
      'config.certificate-format',
      `${where} a certificate but no private key. Pass the key file too (\`--key key.pem\`; in the app, choose the key file), or use the .p12/.pfx bundle that holds both.`,
      { file: key?.name ?? file.name, field: 'key' },
    )
  }

  for (const found of collected.keys) {
    const leaf = collected.certs.find((cert) => matches(cert, found.key))
    if (!leaf) continue
    const others = collected.certs.filter((cert) => cert !== leaf)
    return {
      certPem: leaf.toString(),
      keyPem: found.key.export({ type: 'pkcs8', format: 'pem' }).toString(),
      chainPems: orderChain(leaf, others).map((cert) => cert.toString()),
    }
  }
  const keySource = collected.keys[0]?.source ?? file.name
  throw new VkError(
    'config.key-mismatch',
    `The private key in ${keySource} does not belong to the certificate in ${file.name}. Choose the key that was made together with this certificate's request (\`openssl req -keyout …\`), or the .p12/.pfx that holds both.`,
    { file: keySource, field: 'key' },
  )
}

function readCredentialFile(file: CredentialFile, passphrase: string | undefined, into: Collected): void {
  const { name, bytes } = file
  if (bytes.length === 0) throw formatError(name, 'it is empty')
  if (bytes.length > maxFileBytes) {
    throw new VkError('input.too-large', `${name} is larger than 1 MB: it is not a certificate or key file. Choose ${acceptedFormats}.`, { file: name })
  }
  if (bytes.readUInt32BE(0) === 0xfeedfeed || bytes.readUInt32BE(0) === 0xcececece) {
    throw new VkError(
      'config.certificate-format',
      `${name} is a Java keystore (JKS/JCEKS), which VK Depot does not read. Convert it: \`keytool -importkeystore -srckeystore ${name} -destkeystore partner.p12 -deststoretype PKCS12\`, then import partner.p12.`,
      { file: name },
    )
  }
  const text = bytes.toString('latin1')
  if (text.includes('-----BEGIN ')) {
    readPem(name, text, passphrase, into)
    return
  }
  readDer(name, bytes, passphrase, into)
}

// ---------------------------------------------------------------- PEM

const pemBlock = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)\r?\n?-----END \1-----/g

function readPem(name: string, text: string, passphrase: string | undefined, into: Collected): void {
  let blocks = 0
  for (const match of text.matchAll(pemBlock)) {
    const label = match[1] ?? ''
    const { headers, body } = splitPemBody(match[2] ?? '')
    blocks += 1
    switch (label) {
      case 'CERTIFICATE':
      case 'X509 CERTIFICATE':
      case 'TRUSTED CERTIFICATE':
        into.certs.push(parseCertificate(name, body))
        break
      case 'PRIVATE KEY':
        into.keys.push({ source: name, key: parseKey(name, body, 'pkcs8') })
        break
      case 'RSA PRIVATE KEY':
      case 'EC PRIVATE KEY': {
        const type = label === 'RSA PRIVATE KEY' ? 'pkcs1' : 'sec1'
        const der = headers.get('proc-type')?.includes('ENCRYPTED') ? decryptLegacyPem(name, headers, body, passphrase) : body
        into.keys.push({ source: name, key: parseKey(name, der, type) })
        break
      }
      case 'ENCRYPTED PRIVATE KEY':
        into.keys.push({ source: name, key: parseKey(name, decryptPkcs8(name, body, passphrase), 'pkcs8') })
        break
      case 'CERTIFICATE REQUEST':
      case 'NEW CERTIFICATE REQUEST':
        throw new VkError(
          'config.certificate-format',
          `${name} is a certificate request (CSR), not the certificate. Send it to Stellantis and import the certificate they return, with your key.`,
          { file: name },
        )
      default:
        // Parameters (EC PARAMETERS) and public keys are harmless company; skip them.
        break
    }
  }
  if (blocks === 0) throw formatError(name, 'its PEM blocks are damaged')
}

function splitPemBody(raw: string): { headers: Map<string, string>; body: Buffer } {
  const headers = new Map<string, string>()
  const lines = raw.split(/\r?\n/)
  let index = 0
  while (index < lines.length && /^[A-Za-z-]+:/.test(lines[index] ?? '')) {
    const line = lines[index] ?? ''
    const colon = line.indexOf(':')
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
    index += 1
  }
  const base64 = lines.slice(index).join('').replace(/\s+/g, '')
  return { headers, body: Buffer.from(base64, 'base64') }
}

// ---------------------------------------------------------------- DER

const oids = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
}

function readDer(name: string, bytes: Buffer, passphrase: string | undefined, into: Collected): void {
  if (bytes[0] !== 0x30) throw formatError(name, 'it is neither PEM text nor a DER/PKCS#12 file')
  let asn1: forge.asn1.Asn1
  try {
    asn1 = forge.asn1.fromDer(forge.util.createBuffer(bytes.toString('binary')), { strict: false, parseAllBytes: false } as unknown as boolean)
  } catch {
    throw formatError(name, 'it is neither PEM text nor a DER/PKCS#12 file')
  }
  if (looksLikePkcs12(asn1)) {
    readPkcs12(name, asn1, passphrase, into)
    return
  }
  // A DER certificate (.cer/.der) or key.
  try {
    into.certs.push(new X509Certificate(bytes))
    return
  } catch {
    // not a certificate: maybe a key
  }
  if (looksLikeEncryptedPrivateKeyInfo(asn1)) {
    into.keys.push({ source: name, key: parseKey(name, decryptPkcs8(name, bytes, passphrase), 'pkcs8') })
    return
  }
  for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
    try {
      into.keys.push({ source: name, key: createPrivateKey({ key: bytes, format: 'der', type }) })
      return
    } catch {
      // try the next layout
    }
  }
  throw formatError(name, 'it is not a certificate, a key or a PKCS#12 bundle')
}

function looksLikePkcs12(asn1: forge.asn1.Asn1): boolean {
  const children = Array.isArray(asn1.value) ? asn1.value : []
  const version = children[0]
  const authSafe = children[1]
  if (!version || version.type !== forge.asn1.Type.INTEGER || typeof version.value !== 'string') return false
  if (forge.util.bytesToHex(version.value) !== '03') return false
  if (!authSafe || !Array.isArray(authSafe.value)) return false
  const contentType = authSafe.value[0]
  if (!contentType || contentType.type !== forge.asn1.Type.OID || typeof contentType.value !== 'string') return false
  const oid = forge.asn1.derToOid(contentType.value)
  return oid === oids.data || oid === oids.signedData
}

function looksLikeEncryptedPrivateKeyInfo(asn1: forge.asn1.Asn1): boolean {
  const children = Array.isArray(asn1.value) ? asn1.value : []
  return children.length === 2 && children[0]?.type === forge.asn1.Type.SEQUENCE && children[1]?.type === forge.asn1.Type.OCTETSTRING
}

function readPkcs12(name: string, asn1: forge.asn1.Asn1, passphrase: string | undefined, into: Collected): void {
  let p12: forge.pkcs12.Pkcs12Pfx | undefined
  let lastError: unknown
  // With no passphrase given, try the empty one: some exports use it.
  for (const candidate of passphrase === undefined ? [''] : [passphrase]) {
    try {
      p12 = forge.pkcs12.pkcs12FromAsn1(asn1, false, candidate)
      break
    } catch (error) {
      lastError = error
    }
  }
  if (!p12) {
    const message = lastError instanceof Error ? lastError.message : ''
    if (/password|MAC|decrypt|Too few bytes|padding/i.test(message)) {
      const error = passphraseError(name, passphrase)
      // forge feeds PBES2 (AES) bundles the passphrase as UTF-16 code units, OpenSSL as UTF-8:
      // they agree for ASCII only.
      if (passphrase !== undefined && /[^\x20-\x7e]/.test(passphrase)) {
        error.message +=
          ' If it is right: VK Depot cannot yet open an AES-encrypted .p12 whose passphrase has non-ASCII characters; re-export it with an ASCII passphrase.'
      }
      throw error
    }
    throw formatError(name, `its PKCS#12 content could not be read (${message || 'unknown structure'})`)
  }
  for (const safeContents of p12.safeContents) {
    for (const bag of safeContents.safeBags) {
      const raw = bag as forge.pkcs12.Bag & { asn1?: forge.asn1.Asn1 }
      if (bag.type === forge.pki.oids.certBag) {
        const certAsn1 = bag.cert ? forge.pki.certificateToAsn1(bag.cert) : raw.asn1
        if (certAsn1) into.certs.push(parseCertificate(name, derOf(certAsn1)))
      } else if (bag.type === forge.pki.oids.keyBag || bag.type === forge.pki.oids.pkcs8ShroudedKeyBag) {
        // forge turns RSA keys into objects and leaves others (EC) as PrivateKeyInfo ASN.1.
        const infoAsn1 = bag.key ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key)) : raw.asn1
        if (infoAsn1) into.keys.push({ source: name, key: parseKey(name, derOf(infoAsn1), 'pkcs8') })
      }
    }
  }
}

// ---------------------------------------------------------------- decryption

function requirePassphrase(name: string, passphrase: string | undefined): string {
  if (passphrase === undefined || passphrase === '') {
    throw new VkError(
      'config.passphrase',
      `The private key in ${name} is protected by a passphrase: give it (\`--passphrase-stdin\` on the command line, or the passphrase field in Settings).`,
      {
        file: name,
        field: 'passphrase',
      },
    )
  }
  return passphrase
}

/** PKCS#8 EncryptedPrivateKeyInfo (PBES2 with AES/3DES, or PKCS#12-style PBE) → PrivateKeyInfo DER. */
function decryptPkcs8(name: string, der: Buffer, passphrase: string | undefined): Buffer {
  const secret = forge.util.encodeUtf8(requirePassphrase(name, passphrase))
  let info: forge.asn1.Asn1 | null
  try {
    const encrypted = forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')))
    info = forge.pki.decryptPrivateKeyInfo(encrypted, secret)
  } catch (error) {
    const message = error instanceof Error ? error.message : ''
    if (/unsupported|Cannot read/i.test(message)) {
      throw new VkError(
        'config.certificate-format',
        `The private key in ${name} uses an encryption VK Depot cannot read (${message}). Re-encrypt it: \`openssl pkcs8 -topk8 -v2 aes-256-cbc -in ${name} -out key-aes.pem\`.`,
        { file: name, field: 'key' },
        { cause: error },
      )
    }
    throw passphraseError(name, passphrase, error)
  }
  if (!info) throw passphraseError(name, passphrase)
  return derOf(info)
}

const legacyCiphers: Record<string, { cipher: forge.cipher.Algorithm; keyBytes: number }> = {
  'AES-128-CBC': { cipher: 'AES-CBC', keyBytes: 16 },
  'AES-192-CBC': { cipher: 'AES-CBC', keyBytes: 24 },
  'AES-256-CBC': { cipher: 'AES-CBC', keyBytes: 32 },
  'DES-EDE3-CBC': { cipher: '3DES-CBC', keyBytes: 24 },
  'DES-CBC': { cipher: 'DES-CBC', keyBytes: 8 },
}

type DeriveBytes = (password: string, salt: string, keyBytes: number) => string

/** OpenSSL's traditional "Proc-Type: 4,ENCRYPTED" PEM (EVP_BytesToKey with MD5) → inner DER. */
function decryptLegacyPem(name: string, headers: Map<string, string>, body: Buffer, passphrase: string | undefined): Buffer {
  const secret = forge.util.encodeUtf8(requirePassphrase(name, passphrase))
  const [algorithm = '', ivHex = ''] = (headers.get('dek-info') ?? '').split(',').map((part) => part.trim())
  const spec = legacyCiphers[algorithm.toUpperCase()]
  if (!spec || !/^[0-9a-fA-F]{16,32}$/.test(ivHex)) {
    throw new VkError(
      'config.certificate-format',
      `The private key in ${name} is encrypted with ${algorithm || 'an unknown cipher'}, which VK Depot cannot read. Re-encrypt it: \`openssl pkcs8 -topk8 -v2 aes-256-cbc -in ${name} -out key-aes.pem\`.`,
      { file: name, field: 'key' },
    )
  }
  const iv = forge.util.hexToBytes(ivHex)
  const derive = (forge.pki as unknown as { pbe: { opensslDeriveBytes: DeriveBytes } }).pbe.opensslDeriveBytes
  const decipher = forge.cipher.createDecipher(spec.cipher, derive(secret, iv.slice(0, 8), spec.keyBytes))
  decipher.start({ iv })
  decipher.update(forge.util.createBuffer(body.toString('binary')))
  if (!decipher.finish()) throw passphraseError(name, passphrase)
  const der = Buffer.from(decipher.output.getBytes(), 'binary')
  // A wrong passphrase passes the padding check about once in 256 tries: the DER parse catches it.
  try {
    forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')))
  } catch (error) {
    throw passphraseError(name, passphrase, error)
  }
  return der
}

function passphraseError(name: string, passphrase: string | undefined, cause?: unknown): VkError {
  const message =
    passphrase === undefined || passphrase === ''
      ? `${name} is protected by a passphrase: give it (\`--passphrase-stdin\` on the command line, or the passphrase field in Settings).`
      : `The passphrase for ${name} is wrong: retype it (passphrases are case-sensitive).`
  return new VkError('config.passphrase', message, { file: name, field: 'passphrase' }, cause === undefined ? undefined : { cause })
}

// ---------------------------------------------------------------- parsing helpers

function derOf(asn1: forge.asn1.Asn1): Buffer {
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary')
}

function parseCertificate(name: string, der: Buffer): X509Certificate {
  try {
    return new X509Certificate(der)
  } catch (error) {
    throw formatError(name, 'a certificate in it is damaged', error)
  }
}

function parseKey(name: string, der: Buffer, type: 'pkcs8' | 'pkcs1' | 'sec1'): KeyObject {
  try {
    return createPrivateKey({ key: der, format: 'der', type })
  } catch (error) {
    throw new VkError(
      'config.certificate-format',
      `The private key in ${name} is damaged or of a kind VK Depot cannot use (RSA and EC keys are accepted).`,
      {
        file: name,
        field: 'key',
      },
      { cause: error },
    )
  }
}

function formatError(name: string, reason: string, cause?: unknown): VkError {
  return new VkError(
    'config.certificate-format',
    `${name} is not a certificate VK Depot can read: ${reason}. Choose ${acceptedFormats}.`,
    { file: name },
    cause === undefined ? undefined : { cause },
  )
}
