/**
 * A test "Stellantis partner CA" made and run with the openssl command line, as an outside
 * party would: it signs the CSRs VK Depot makes. Its key lives in the test's own temp
 * folder, never in a data folder.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface TestCa {
  dir: string
  certPath: string
  keyPath: string
  certPem: string
}

export async function makeTestCa(dir: string, commonName = 'Test Stellantis Partner CA'): Promise<TestCa> {
  const certPath = join(dir, 'test-ca.pem')
  const keyPath = join(dir, 'test-ca.key')
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '3650',
    '-subj',
    `/O=VK Depot tests/CN=${commonName}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ])
  return { dir, certPath, keyPath, certPem: await readFile(certPath, 'utf8') }
}

export interface SignOptions {
  days?: number
  /** Make a CA certificate (which VK Depot must refuse as a client certificate). */
  ca?: boolean
  /** Override the subject the CSR asked for, e.g. `/CN=MZP000000`. */
  subject?: string
  /** DER instead of PEM. */
  der?: boolean
  /** Append the CA certificate after the leaf (PEM only). */
  withChain?: boolean
}

/** `openssl x509 -req`: signs a CSR file with the test CA; returns the certificate's path. */
export async function signCsr(ca: TestCa, csrPath: string, outPath: string, options: SignOptions = {}): Promise<string> {
  const ext = join(ca.dir, `ext-${randomBytes(4).toString('hex')}.cnf`)
  await writeFile(
    ext,
    options.ca
      ? 'basicConstraints=critical,CA:TRUE\n'
      : 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n',
  )
  const args = [
    'x509',
    '-req',
    '-in',
    csrPath,
    '-CA',
    ca.certPath,
    '-CAkey',
    ca.keyPath,
    '-set_serial',
    `0x${randomBytes(8).toString('hex')}`,
    '-days',
    String(options.days ?? 365),
    '-extfile',
    ext,
    '-out',
    outPath,
  ]
  if (options.subject) args.push('-subj', options.subject)
  if (options.der) args.push('-outform', 'DER')
  await run('openssl', args)
  if (options.withChain && !options.der) await writeFile(outPath, `${await readFile(outPath, 'utf8')}${ca.certPem}`)
  return outPath
}

/** A CSR for a key VK Depot never saw (openssl makes both), with the given subject. */
export async function foreignCsr(dir: string, subject: string): Promise<string> {
  const csrPath = join(dir, `foreign-${randomBytes(4).toString('hex')}.csr`)
  await run('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'foreign.key'), '-subj', subject, '-out', csrPath])
  return csrPath
}

/** `openssl req -verify -noout -text`: throws when openssl refuses the CSR; returns its text and the subject, one field a line. */
export async function inspectCsr(csrPath: string): Promise<{ text: string; verify: string; subject: string[] }> {
  const { stdout: text, stderr: verify } = await run('openssl', ['req', '-verify', '-noout', '-text', '-in', csrPath])
  const { stdout } = await run('openssl', ['req', '-noout', '-subject', '-nameopt', 'sep_multiline,utf8,-esc_msb,sname', '-in', csrPath])
  const subject = stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && line !== 'subject=')
  return { text, verify, subject }
}
