/**
 * Certificate lifecycle through `vkey` (issue 13): the key and CSR made by VK Depot, a test
 * CA run with the openssl CLI signing it as Stellantis would, the import of the answer
 * without --key, and tokens from the real simulator over mutual TLS (it trusts that CA),
 * the 60/30/10-day warnings under a moved clock, and no private key in clear at any step.
 */
import assert from 'node:assert/strict'
import { createHash, createPublicKey } from 'node:crypto'
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { test, type TestContext } from 'node:test'
import { startSimulator } from '../../electron/core/simulator'
import { formatLocal } from '../../shared/time'
import { carDataJson, findSecretsInClear, setupDepot, tempFolder, vinFor, vkey, type TestDepot } from '../helpers/depot-env'
import { foreignCsr, inspectCsr, makeTestCa, signCsr, type TestCa } from '../helpers/openssl-ca'

const run = promisify(execFile)
const DAY = 24 * 60 * 60 * 1000

const SUBJECT = [
  '--email',
  'fleet@garage-dupont.example',
  '--country',
  'fr',
  '--state',
  'Île-de-France',
  '--locality',
  'Boulogne-Billancourt',
  '--org',
  'Garage Dupont SARL',
]

interface Setup extends TestDepot {
  ca: TestCa
  work: string
  login: string
  secrets: string[]
}

async function setup(t: TestContext): Promise<Setup> {
  const work = await tempFolder(t, 'vkey-ca-')
  const ca = await makeTestCa(work)
  // Restartable: one test starts a stricter simulator on the same port.
  const depot = await setupDepot(t, { extraClientCas: [ca.certPem], restartable: true })
  const { login, password, p12Passphrase } = depot.simulator.material.credentials
  return { ...depot, ca, work, login, secrets: [password, p12Passphrase] }
}

/**
 * Scans the data folder for any private key in clear: PEM blocks, the passwords, and each key
 * VK Depot holds (current and pending, read back through the vault) as PEM lines, base64 and hex.
 */
async function noKeyInClear(s: Setup, step: string): Promise<void> {
  const secrets = await (await s.depot.vault()).loadProfileSecrets('sim')
  const keys = [secrets?.keyPem, ...(secrets?.pendingRequests ?? []).map((p) => p.keyPem)].filter((k): k is string => Boolean(k))
  assert.ok(keys.length > 0, 'there is a key to look for')
  const keyLines = keys.flatMap((pem) =>
    pem
      .split('\n')
      .filter((line) => line.length === 64)
      .slice(1, 4),
  )
  assert.deepEqual(await findSecretsInClear(s.dataDir, [...s.secrets, ...keyLines]), [], `secrets in clear in the data folder after ${step}`)
}

async function showJson(
  s: Setup,
  now?: () => Date,
): Promise<{
  issuer: string
  subject: string
  daysLeft: number
  notAfter: string
  renewal: { level: string; tone: string } | null
  pendingRequests: { subject: string; createdAt: string; keyFingerprintSha256: string }[]
}> {
  const shown = await vkey(['cert', 'show', '--json'], s.env, '', now)
  assert.equal(shown.code, 0, shown.stderr)
  return JSON.parse(shown.stdout)
}

async function token(s: Setup, n: number): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = join(s.work, `car-${n}.json`)
  await writeFile(file, carDataJson(vinFor(n)))
  return vkey(['token', '--cardata', file, '--duration', '1h', '--json'], s.env)
}

/** SHA-256 of the CSR's public key (SPKI DER), as `vkey cert show` prints it. */
async function csrKeyFingerprint(csrPath: string): Promise<string> {
  const { stdout } = await run('openssl', ['req', '-in', csrPath, '-noout', '-pubkey'])
  const der = createPublicKey(stdout).export({ type: 'spki', format: 'der' })
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':')
}

test('cert request writes a CSR openssl verifies, with exactly the given subject, OU = Programs Partners, CN = the login, RSA 2048', async (t) => {
  const s = await setup(t)
  const csr = join(s.work, 'request.csr')
  const made = await vkey(['cert', 'request', ...SUBJECT, '--out', csr], s.env)
  assert.equal(made.code, 0, made.stderr)
  assert.match(made.stdout, /Next: send this file to your Stellantis contact/)
  assert.doesNotMatch(made.stdout + made.stderr, /PRIVATE KEY/)

  const { text, verify, subject } = await inspectCsr(csr)
  assert.match(verify, /verify OK/)
  assert.match(text, /Public Key Algorithm: rsaEncryption/)
  assert.match(text, /Public-Key: \(2048 bit\)/)
  assert.deepEqual(subject, [
    'C=FR',
    'ST=Île-de-France',
    'L=Boulogne-Billancourt',
    'O=Garage Dupont SARL',
    'OU=Programs Partners',
    `CN=${s.login}`,
    'emailAddress=fleet@garage-dupont.example',
  ])
  assert.doesNotMatch(await readFile(csr, 'utf8'), /PRIVATE KEY/)

  const shown = await showJson(s)
  assert.equal(shown.pendingRequests.length, 1)
  assert.equal(shown.pendingRequests[0]!.keyFingerprintSha256, await csrKeyFingerprint(csr))
  assert.match(shown.pendingRequests[0]!.subject, new RegExp(`OU=Programs Partners, CN=${s.login}, emailAddress=fleet@garage-dupont.example`))
  const text2 = await vkey(['cert', 'show'], s.env)
  assert.match(text2.stdout, /pending request \(waiting for Stellantis\)/)
  // People read local time with its zone; --json keeps ISO UTC (createdAt above).
  assert.ok(text2.stdout.includes(`made on:    ${formatLocal(shown.pendingRequests[0]!.createdAt)}`), text2.stdout)
  await noKeyInClear(s, 'the request')

  // Without --out the CSR goes to stdout (a public document), the messages to stderr.
  const piped = await vkey(['cert', 'request', ...SUBJECT], s.env)
  assert.equal(piped.code, 0, piped.stderr)
  assert.match(piped.stdout, /^-----BEGIN CERTIFICATE REQUEST-----\n[\s\S]+-----END CERTIFICATE REQUEST-----\n$/)
  assert.doesNotMatch(piped.stdout, /PRIVATE KEY/)
})

test('bad subject fields are refused with the option and the rule, and nothing is sealed', async (t) => {
  const s = await setup(t)
  const cases: Array<[string[], RegExp]> = [
    [['--country', 'FRA'], /--country must be the two-letter country code/],
    [['--email', 'not-an-address'], /--email must be an e-mail address/],
    [['--org', 'Garage\nDupont'], /--org must not contain control characters/],
    [['--state', ''], /--state is required/],
  ]
  for (const [override, message] of cases) {
    const args = [...SUBJECT]
    args[args.indexOf(override[0]!) + 1] = override[1]!
    const refused = await vkey(['cert', 'request', ...args, '--out', join(s.work, 'x.csr')], s.env)
    assert.equal(refused.code, 2, `${override.join(' ')}: ${refused.stderr}`)
    assert.match(refused.stderr, message)
  }
  assert.deepEqual((await showJson(s)).pendingRequests, [])
})

test('the signed answer installs without --key, the old certificate works until then, another key is refused, and the simulator issues tokens with the new one', async (t) => {
  const s = await setup(t)
  const csr = join(s.work, 'request.csr')
  assert.equal((await vkey(['cert', 'request', ...SUBJECT, '--out', csr], s.env)).code, 0)
  const oldIssuer = (await showJson(s)).issuer

  // Until the answer is imported, the old certificate keeps working.
  const before = await token(s, 1)
  assert.equal(before.code, 0, before.stderr)

  // A certificate for a key VK Depot did not make (same CN) is refused, and changes nothing.
  const foreign = await signCsr(s.ca, await foreignCsr(s.work, `/OU=Programs Partners/CN=${s.login}`), join(s.work, 'foreign.pem'))
  const refused = await vkey(['cert', 'import', foreign], s.env)
  assert.equal(refused.code, 3, refused.stderr)
  assert.match(refused.stderr, /foreign\.pem matches no certificate request of profile "sim": it was issued for another key/)
  assert.match(refused.stderr, /vkey cert show/)
  // CN other than the login, and a CA certificate, are refused too (for the right key).
  const wrongCn = await signCsr(s.ca, csr, join(s.work, 'wrong-cn.pem'), { subject: '/OU=Programs Partners/CN=MZP000000' })
  const cnRefused = await vkey(['cert', 'import', wrongCn], s.env)
  assert.equal(cnRefused.code, 3)
  assert.match(cnRefused.stderr, new RegExp(`is for CN=MZP000000, but profile "sim" logs in as ${s.login}`))
  const asCa = await signCsr(s.ca, csr, join(s.work, 'as-ca.pem'), { ca: true })
  const caRefused = await vkey(['cert', 'import', asCa], s.env)
  assert.equal(caRefused.code, 3)
  assert.match(caRefused.stderr, /is a CA certificate/)
  const still = await showJson(s)
  assert.equal(still.issuer, oldIssuer)
  assert.equal(still.pendingRequests.length, 1)
  assert.equal((await token(s, 2)).code, 0)

  // Stellantis' answer: the certificate and its chain, no key.
  const signed = await signCsr(s.ca, csr, join(s.work, 'signed.pem'), { withChain: true })
  const imported = await vkey(['cert', 'import', signed], s.env)
  assert.equal(imported.code, 0, imported.stderr)
  const after = await showJson(s)
  assert.match(after.issuer, /CN=Test Stellantis Partner CA/)
  assert.deepEqual(after.pendingRequests, [], 'the pending key is consumed')
  await noKeyInClear(s, 'the import')

  const issued = await token(s, 3)
  assert.equal(issued.code, 0, issued.stderr)
  assert.ok((JSON.parse(issued.stdout) as { access_token: string }).access_token)
  assert.equal(s.simulator.requests.at(-1)?.status, 200)

  // Proof the new certificate is the one presented: a simulator on the same port that does
  // not trust the test CA refuses the handshake.
  const port = s.simulator.port
  await s.simulator.close()
  const strict = await startSimulator({ dir: s.simulator.material.dir, port })
  t.after(() => strict.close())
  const untrusted = await token(s, 4)
  assert.equal(untrusted.code, 5, untrusted.stderr)
  assert.equal(strict.stats.tokensIssued, 0)
})

test('cert renew requests with the current subject; a DER .cer answer installs; importing it again changes nothing; a stray certificate is refused', async (t) => {
  const s = await setup(t)
  const csr = join(s.work, 'renew.csr')
  const renewed = await vkey(['cert', 'renew', '--out', csr], s.env)
  assert.equal(renewed.code, 0, renewed.stderr)
  assert.match(renewed.stdout, /Renewal request made for profile "sim"/)
  const { subject, verify, text } = await inspectCsr(csr)
  assert.match(verify, /verify OK/)
  assert.match(text, /Public-Key: \(2048 bit\)/)
  // The demo certificate's own subject (electron/core/pki.ts issuePartnerCertificate).
  assert.deepEqual(subject, [
    'C=FR',
    'ST=Ile-de-France',
    'L=Paris',
    'O=Demo Depot SARL',
    'OU=Programs Partners',
    `CN=${s.login}`,
    'emailAddress=fleet@demo-depot.example',
  ])

  const cer = await signCsr(s.ca, csr, join(s.work, 'signed.cer'), { der: true })
  const imported = await vkey(['cert', 'import', cer], s.env)
  assert.equal(imported.code, 0, imported.stderr)
  assert.match((await showJson(s)).issuer, /Test Stellantis Partner CA/)
  assert.equal((await token(s, 5)).code, 0)
  await noKeyInClear(s, 'the renewal')

  const fingerprint = (await vkey(['cert', 'show', '--json'], s.env)).stdout
  const again = await vkey(['cert', 'import', cer], s.env)
  assert.equal(again.code, 0, again.stderr)
  assert.equal((await vkey(['cert', 'show', '--json'], s.env)).stdout, fingerprint)

  // No request waiting: a certificate without its key is refused, saying what to do.
  const stray = await signCsr(s.ca, await foreignCsr(s.work, `/OU=Programs Partners/CN=${s.login}`), join(s.work, 'stray.pem'))
  const refused = await vkey(['cert', 'import', stray], s.env)
  assert.equal(refused.code, 3)
  assert.match(refused.stderr, /stray\.pem holds a certificate without its private key, and profile "sim" has no certificate request waiting for an answer/)
  assert.match(refused.stderr, /`vkey cert import .*stray\.pem --key KEY\.pem`/)
  assert.match(refused.stderr, /`vkey cert request --profile "sim" …`/)
})

test('60/30/10-day warnings under a moved clock: one stderr line for token, batch and queue flush, days left in cert show; refused after expiry with the renew command', async (t) => {
  const s = await setup(t)
  const notAfter = Date.parse((await showJson(s)).notAfter)
  const at = (daysLeft: number) => () => new Date(notAfter - daysLeft * DAY - 60 * 60 * 1000)
  const car = join(s.work, 'car.json')
  await writeFile(car, carDataJson(vinFor(9)))
  const commands = [
    ['token', '--cardata', car, '--duration', '1h'],
    ['batch', car, '--duration', '1h'],
    ['queue', 'flush'],
  ]
  const expected: Array<[number, string | null, RegExp | null]> = [
    [61, 'none', null],
    [60, 'notice', /^vkey: the certificate of profile "sim" \(MZP\d{6}\) expires in 60 days \(.+\); renew now: `vkey cert renew --out renewal\.csr`/],
    [30, 'warning', /^vkey: the certificate of profile "sim" .* expires in 30 days/],
    [10, 'urgent', /^vkey: URGENT: the certificate of profile "sim" .* expires in 10 days/],
  ]
  for (const [daysLeft, level, line] of expected) {
    const shown = await showJson(s, at(daysLeft))
    assert.equal(shown.daysLeft, daysLeft)
    assert.equal(shown.renewal?.level, level)
    const text = await vkey(['cert', 'show'], s.env, '', at(daysLeft))
    assert.match(text.stdout, new RegExp(`\\(${daysLeft} days left, (valid|expiring)\\)`))
    for (const args of commands) {
      const result = await vkey(args, s.env, '', at(daysLeft))
      const warnings = result.stderr.split('\n').filter((l) => /the certificate of profile/.test(l))
      if (line) {
        assert.equal(warnings.length, 1, `${args[0]} at ${daysLeft} days: ${result.stderr}`)
        assert.match(warnings[0]!, line)
      } else {
        assert.deepEqual(warnings, [], `${args[0]} at ${daysLeft} days`)
      }
    }
  }
  const tone = (days: number) => showJson(s, at(days)).then((j) => j.renewal?.tone)
  assert.equal(await tone(60), 'amber')
  assert.equal(await tone(30), 'amber')
  assert.equal(await tone(10), 'red')

  // A pending renewal changes the advice to "import the answer".
  assert.equal((await vkey(['cert', 'renew', '--out', join(s.work, 'r.csr')], s.env, '', at(25))).code, 0)
  const waiting = await vkey(['queue', 'flush'], s.env, '', at(25))
  assert.match(waiting.stderr, /a request made \d{4}-\d\d-\d\d is waiting: import Stellantis' answer with `vkey cert import FILE`/)

  // After expiry: refused before anything is sent, with the renew command in the message.
  const sent = s.simulator.requests.length
  const expired = await vkey(['token', '--cardata', car, '--duration', '1h'], s.env, '', at(-2))
  assert.equal(expired.code, 3, expired.stderr)
  assert.match(expired.stderr, /expired on .*: no request was sent\. Renew it: `vkey cert renew --out renewal\.csr --profile "sim"`/)
  assert.equal(s.simulator.requests.length, sent)
})
