import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createPrivateKey } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { certificateFacts, preflight } from '../../electron/core/certificates'
import { importPartnerCredentials } from '../../electron/core/credential-import'
import { createCa, issueCertificate, toPkcs12 } from '../../electron/core/pki'
import { CertificateFactsSchema } from '../../shared/certificate-facts'
import { VkError } from '../../shared/errors'
import { credentialFile, makeEcFiles, makePartnerFiles, makeTempDir, opensslFingerprint, type EcFiles, type PartnerFiles } from '../helpers/cert-fixtures'

const day = 24 * 60 * 60 * 1000

function rejects(action: () => unknown, code: string, pattern?: RegExp): VkError {
  try {
    action()
  } catch (error) {
    assert.ok(error instanceof VkError, `expected a VkError, got ${String(error)}`)
    assert.equal(error.code, code, error.message)
    if (pattern) assert.match(error.message, pattern)
    return error
  }
  assert.fail(`expected ${code}`)
}

describe('importing partner credentials', () => {
  let temp: ReturnType<typeof makeTempDir>
  let files: PartnerFiles
  let ec: EcFiles
  let leafFingerprint: string
  let caFingerprint: string

  before(() => {
    temp = makeTempDir()
    files = makePartnerFiles(temp.dir)
    ec = makeEcFiles(temp.dir)
    leafFingerprint = opensslFingerprint(temp.dir, files.cert)
    caFingerprint = opensslFingerprint(temp.dir, files.caCert)
  })
  after(() => temp.cleanup())

  const expectPartner = (result: ReturnType<typeof importPartnerCredentials>, chainLength: number) => {
    assert.equal(certificateFacts(result.certPem).fingerprintSha256, leafFingerprint)
    assert.equal(certificateFacts(result.certPem).commonName, 'MZP123456')
    assert.match(result.keyPem, /^-----BEGIN PRIVATE KEY-----\n/)
    assert.equal(createPrivateKey(result.keyPem).asymmetricKeyType, 'rsa')
    assert.equal(result.chainPems.length, chainLength)
    if (chainLength > 0) assert.equal(certificateFacts(result.chainPems[0] ?? '').fingerprintSha256, caFingerprint)
    preflight(result)
  }

  test('a legacy RC2-40 / 3DES .p12 that OpenSSL 3 and Electron refuse is read', () => {
    expectPartner(importPartnerCredentials({ file: credentialFile(files.legacyP12), passphrase: files.p12Passphrase }), 1)
  })

  test('a modern AES-256 (PBES2, HMAC-SHA256) .p12 is read', () => {
    expectPartner(importPartnerCredentials({ file: credentialFile(files.modernP12), passphrase: files.p12Passphrase }), 1)
  })

  test('a .p12 is recognised by its content, whatever its name', () => {
    const file = { name: 'partner-bundle.bin', bytes: credentialFile(files.modernP12).bytes }
    expectPartner(importPartnerCredentials({ file, passphrase: files.p12Passphrase }), 1)
  })

  test('a forge-made 3DES .p12 from pki.ts is read', () => {
    const ca = createCa({ commonName: 'Forge CA' })
    const leaf = issueCertificate(ca, { subject: { CN: 'MZP999', OU: 'Programs Partners' }, usage: 'client' })
    const bytes = toPkcs12({ ...leaf, chainPems: [ca.certPem], passphrase: 'pw', algorithm: '3des' })
    const result = importPartnerCredentials({ file: { name: 'forge.pfx', bytes }, passphrase: 'pw' })
    assert.equal(certificateFacts(result.certPem).commonName, 'MZP999')
    assert.equal(result.chainPems.length, 1)
  })

  test('the key made by `openssl req -keyout` (encrypted PKCS#8) with its certificate', () => {
    expectPartner(
      importPartnerCredentials({ file: credentialFile(files.cert), key: credentialFile(files.keyPkcs8Encrypted), passphrase: files.keyPassphrase }),
      0,
    )
  })

  test('unencrypted PKCS#8 and PKCS#1 keys, and a certificate with its chain in one file', () => {
    expectPartner(importPartnerCredentials({ file: credentialFile(files.certWithChain), key: credentialFile(files.keyPkcs8) }), 1)
    expectPartner(importPartnerCredentials({ file: credentialFile(files.cert), key: credentialFile(files.keyPkcs1) }), 0)
  })

  test('a legacy "Proc-Type: 4,ENCRYPTED" PKCS#1 key', () => {
    expectPartner(
      importPartnerCredentials({ file: credentialFile(files.cert), key: credentialFile(files.keyPkcs1Encrypted), passphrase: files.keyPassphrase }),
      0,
    )
  })

  test('one PEM file holding key, certificate and chain', () => {
    expectPartner(importPartnerCredentials({ file: credentialFile(files.combinedPem) }), 1)
  })

  test('EC P-256 keys: plain, encrypted PKCS#8, encrypted SEC1 and in a .p12', () => {
    const fingerprint = opensslFingerprint(temp.dir, ec.cert)
    const variants = [
      importPartnerCredentials({ file: credentialFile(ec.cert), key: credentialFile(ec.key) }),
      importPartnerCredentials({ file: credentialFile(ec.cert), key: credentialFile(ec.keyEncryptedPkcs8), passphrase: ec.passphrase }),
      importPartnerCredentials({ file: credentialFile(ec.cert), key: credentialFile(ec.keyEncryptedSec1), passphrase: ec.passphrase }),
      importPartnerCredentials({ file: credentialFile(ec.p12), passphrase: ec.passphrase }),
    ]
    for (const result of variants) {
      assert.equal(certificateFacts(result.certPem).fingerprintSha256, fingerprint)
      assert.equal(createPrivateKey(result.keyPem).asymmetricKeyType, 'ec')
      preflight(result)
    }
  })

  test('a wrong passphrase is named as such, for every encrypted format', () => {
    for (const [file, key] of [
      [files.legacyP12, undefined],
      [files.modernP12, undefined],
      [files.cert, files.keyPkcs8Encrypted],
      [files.cert, files.keyPkcs1Encrypted],
      [ec.cert, ec.keyEncryptedSec1],
    ] as const) {
      const error = rejects(
        () => importPartnerCredentials({ file: credentialFile(file), key: key ? credentialFile(key) : undefined, passphrase: 'wrong passphrase' }),
        'config.passphrase',
        /passphrase for .+ is wrong: retype it/,
      )
      assert.ok(error.details.file)
    }
  })

  test('a missing passphrase asks for one', () => {
    rejects(() => importPartnerCredentials({ file: credentialFile(files.modernP12) }), 'config.passphrase', /modern\.p12 is protected by a passphrase/)
    rejects(() => importPartnerCredentials({ file: credentialFile(files.cert), key: credentialFile(files.keyPkcs8Encrypted) }), 'config.passphrase', /key\.pem/)
  })

  test('a file that is not a certificate says which formats are accepted', () => {
    for (const bytes of [Buffer.from('hello, this is a text file\n'), Buffer.from([0x30, 0x82, 0x01, 0x00, 0xff, 0x00]), Buffer.alloc(0)]) {
      rejects(() => importPartnerCredentials({ file: { name: 'notes.txt', bytes } }), 'config.certificate-format', /notes\.txt .*PKCS#12 .*PEM/)
    }
    rejects(() => importPartnerCredentials({ file: credentialFile(files.keyPkcs8) }), 'config.certificate-format', /no certificate/)
    rejects(
      () => importPartnerCredentials({ file: { name: 'req.csr', bytes: credentialFile(`${temp.dir}/req.csr`).bytes } }),
      'config.certificate-format',
      /certificate request/,
    )
    const jks = Buffer.concat([Buffer.from([0xfe, 0xed, 0xfe, 0xed]), Buffer.alloc(40)])
    rejects(() => importPartnerCredentials({ file: { name: 'partner.jks', bytes: jks } }), 'config.certificate-format', /keytool -importkeystore/)
  })

  test('a certificate without its key says to pass --key', () => {
    const error = rejects(() => importPartnerCredentials({ file: credentialFile(files.cert) }), 'config.certificate-format', /--key/)
    assert.equal(error.details.field, 'key')
  })

  test('a key that belongs to another certificate is refused', () => {
    rejects(
      () => importPartnerCredentials({ file: credentialFile(files.cert), key: credentialFile(files.otherKey) }),
      'config.key-mismatch',
      /other\.pem .*cert\.pem/,
    )
    rejects(() => importPartnerCredentials({ file: credentialFile(files.cert), key: credentialFile(ec.key) }), 'config.key-mismatch')
  })
})

describe('certificate facts and pre-flight', () => {
  const ca = createCa({ commonName: 'Facts CA', organization: 'Stellantis Test' })
  const now = new Date('2030-06-15T12:00:00Z')
  const issue = (notBefore: Date, notAfter: Date) =>
    issueCertificate(ca, {
      subject: { C: 'FR', O: 'Demo Depot', OU: 'Programs Partners', CN: 'MZP123456', emailAddress: 'fleet@demo.example' },
      usage: 'client',
      notBefore,
      notAfter,
    })

  test('facts give subject, issuer, days left and the OpenSSL fingerprint', () => {
    const temp = makeTempDir()
    try {
      const leaf = issue(new Date(now.getTime() - 10 * day), new Date(now.getTime() + 100 * day + 3600_000))
      const path = `${temp.dir}/leaf.pem`
      writeFileSync(path, leaf.certPem) // the openssl CLI reads it from disk
      const facts = certificateFacts(leaf.certPem, now)
      CertificateFactsSchema.parse(facts)
      assert.equal(facts.commonName, 'MZP123456')
      assert.equal(facts.organizationalUnit, 'Programs Partners')
      assert.equal(facts.emailAddress, 'fleet@demo.example')
      assert.match(facts.subject, /^C=FR, O=Demo Depot, OU=Programs Partners, CN=MZP123456/)
      assert.match(facts.issuer, /CN=Facts CA/)
      assert.equal(facts.daysLeft, 100)
      assert.equal(facts.status, 'valid')
      assert.equal(facts.fingerprintSha256, opensslFingerprint(temp.dir, path))
      assert.match(facts.serialNumber, /^[0-9A-F]+$/)
    } finally {
      temp.cleanup()
    }
  })

  test('status: expiring from the first renewal warning (60 days, shared/cert-renewal.ts), expired, not yet valid', () => {
    assert.equal(certificateFacts(issue(new Date(now.getTime() - 300 * day), new Date(now.getTime() + 29 * day)).certPem, now).status, 'expiring')
    assert.equal(certificateFacts(issue(new Date(now.getTime() - 300 * day), new Date(now.getTime() + 60.5 * day)).certPem, now).status, 'expiring')
    assert.equal(certificateFacts(issue(new Date(now.getTime() - 300 * day), new Date(now.getTime() + 61.5 * day)).certPem, now).status, 'valid')
    const expired = certificateFacts(issue(new Date(now.getTime() - 300 * day), new Date(now.getTime() - 2 * day)).certPem, now)
    assert.equal(expired.status, 'expired')
    assert.ok(expired.daysLeft < 0)
    assert.equal(certificateFacts(issue(new Date(now.getTime() + day), new Date(now.getTime() + 300 * day)).certPem, now).status, 'not-yet-valid')
  })

  test('an expired certificate is refused before any request is sent, with its date and how to renew', () => {
    const leaf = issue(new Date('2029-01-01T00:00:00Z'), new Date('2030-06-01T00:00:00Z'))
    rejects(
      () => preflight(leaf, now),
      'config.certificate-expired',
      /expired on 2030-06-01: no request was sent\. Renew it: `vkey cert renew --out renewal\.csr`.*\(renewal goes through fleet@demo\.example\)/,
    )
  })

  test('a certificate that is not valid yet is refused', () => {
    const leaf = issue(new Date('2030-07-01T08:00:00Z'), new Date('2031-07-01T00:00:00Z'))
    rejects(() => preflight(leaf, now), 'config.certificate-not-yet-valid', /2030-07-01 08:00 UTC/)
  })

  test('a key from another certificate is refused; the issuer is not enforced', () => {
    const leaf = issue(new Date(now.getTime() - day), new Date(now.getTime() + 90 * day))
    const other = issue(new Date(now.getTime() - day), new Date(now.getTime() + 90 * day))
    rejects(() => preflight({ certPem: leaf.certPem, keyPem: other.keyPem }, now), 'config.key-mismatch')
    const selfSigned = createCa({ commonName: 'MZP-self', notBefore: new Date(now.getTime() - day), notAfter: new Date(now.getTime() + 90 * day) })
    assert.equal(preflight(selfSigned, now).commonName, 'MZP-self')
  })
})
