import assert from 'node:assert/strict'
import { test } from 'node:test'
import { certificatesOnlyIn, parseSubjectFields, requestDraft } from '../../electron/core/cert-request'
import { makeCertificateRequest } from '../../electron/core/csr'
import { createCa, issuePartnerCertificate, toPkcs12 } from '../../electron/core/pki'
import { RENEWAL_WARNING_DAYS, renewalState } from '../../shared/cert-renewal'
import { CsrSubjectFields } from '../../shared/cert-request'
import { VkError } from '../../shared/errors'

const fields = { email: 'fleet@depot.example', country: 'FR', state: 'Bretagne', locality: 'Rennes', organization: 'Depot Ouest' }

test('renewal thresholds: 60 and 30 days amber, 10 red, expired red, more than 60 nothing', () => {
  assert.deepEqual(RENEWAL_WARNING_DAYS, [60, 30, 10])
  const at = (days: number) => renewalState(days)
  assert.deepEqual(at(61), { level: 'none', tone: 'none' })
  assert.deepEqual(at(60), { level: 'notice', tone: 'amber', threshold: 60 })
  assert.deepEqual(at(31), { level: 'notice', tone: 'amber', threshold: 60 })
  assert.deepEqual(at(30), { level: 'warning', tone: 'amber', threshold: 30 })
  assert.deepEqual(at(11), { level: 'warning', tone: 'amber', threshold: 30 })
  assert.deepEqual(at(10), { level: 'urgent', tone: 'red', threshold: 10 })
  assert.deepEqual(at(0), { level: 'urgent', tone: 'red', threshold: 10 })
  assert.deepEqual(at(-1), { level: 'expired', tone: 'red' })
  assert.deepEqual(renewalState(0, true), { level: 'expired', tone: 'red' })
})

test('subject fields: two-letter country (upper-cased), an e-mail address, no control characters', () => {
  assert.equal(CsrSubjectFields.parse({ ...fields, country: ' fr ' }).country, 'FR')
  for (const [field, value] of [
    ['country', 'F'],
    ['country', 'F1'],
    ['email', 'fleet@'],
    ['organization', 'Depot\tOuest'],
    ['locality', 'Rennes\u0085'],
    ['state', 'Bre\u007ftagne'],
    ['organization', 'x'.repeat(65)],
  ] as const) {
    assert.equal(CsrSubjectFields.safeParse({ ...fields, [field]: value }).success, false, `${field}=${JSON.stringify(value)}`)
  }
  assert.throws(
    () => parseSubjectFields({ ...fields, organization: 'A\nB' }),
    (error: unknown) => error instanceof VkError && error.code === 'usage' && /--org must not contain control characters/.test(error.message),
  )
})

test('the request holds the key for the vault, the CSR only the public half; the draft for a renewal is the current subject', () => {
  const { csrPem, pending } = makeCertificateRequest('MZP654321', fields, new Date('2026-12-01T10:00:00Z'))
  assert.match(csrPem, /^-----BEGIN CERTIFICATE REQUEST-----\n/)
  assert.doesNotMatch(csrPem, /PRIVATE KEY/)
  assert.match(pending.keyPem, /^-----BEGIN PRIVATE KEY-----/)
  assert.equal(pending.commonName, 'MZP654321')
  assert.equal(pending.createdAt, '2026-12-01T10:00:00.000Z')
  assert.match(pending.keyFingerprintSha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)

  const ca = createCa({ commonName: 'Unit CA' })
  const cert = issuePartnerCertificate(ca, { login: 'MZP654321', organization: 'Depot Ouest', emailAddress: 'renew@depot.example' })
  assert.deepEqual(requestDraft({ certPem: cert.certPem }), {
    country: 'FR',
    state: 'Ile-de-France',
    locality: 'Paris',
    organization: 'Depot Ouest',
    email: 'renew@depot.example',
  })
  assert.deepEqual(requestDraft({ certPem: cert.certPem, pendingRequests: [pending] }), fields, 'a waiting request wins: the user typed it last')
})

test('only a file with certificates and nothing else counts as an answer (a .p12 or a key file goes to the usual import)', () => {
  const ca = createCa({ commonName: 'Unit CA' })
  const cert = issuePartnerCertificate(ca, { login: 'MZP654321' })
  const file = (text: string | Buffer) => ({ name: 'f', bytes: Buffer.isBuffer(text) ? text : Buffer.from(text) })
  assert.equal(certificatesOnlyIn(file(cert.certPem + ca.certPem))?.length, 2)
  assert.equal(certificatesOnlyIn(file(cert.certPem + cert.keyPem)), undefined)
  assert.equal(certificatesOnlyIn(file(toPkcs12({ certPem: cert.certPem, keyPem: cert.keyPem, passphrase: 'pw' }))), undefined)
  const der = Buffer.from(cert.certPem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64')
  assert.equal(certificatesOnlyIn(file(der))?.length, 1)
})
