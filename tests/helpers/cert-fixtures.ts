/**
 * Test certificates made at test time: real partner files through the `openssl` CLI (the way
 * partners make them), and dated certificates through electron/core/pki.ts.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** A fresh temporary folder, removed by the returned cleanup. */
export function makeTempDir(prefix = 'vkey-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Runs `run` in a fresh temp folder, removed afterwards whatever happens. */
export async function withTempDir(run: (dir: string) => Promise<void>): Promise<void> {
  const temp = makeTempDir()
  try {
    await run(temp.dir)
  } finally {
    temp.cleanup()
  }
}

/** Runs openssl in `cwd`; throws with its stderr on failure. */
export function openssl(cwd: string, args: string[]): string {
  return execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

export const partnerSubject = '/C=FR/ST=Ile-de-France/L=Paris/O=Demo Depot SARL/OU=Programs Partners/CN=MZP123456/emailAddress=fleet@demo-depot.example'

export interface PartnerFiles {
  dir: string
  /** Passphrase of every encrypted key file below. */
  keyPassphrase: string
  /** Passphrase of the .p12 files. */
  p12Passphrase: string
  caCert: string
  /** Leaf signed by caCert. */
  cert: string
  /** cert followed by caCert in one file. */
  certWithChain: string
  /** `openssl req -keyout`: passphrase-encrypted PKCS#8 ("ENCRYPTED PRIVATE KEY"). */
  keyPkcs8Encrypted: string
  keyPkcs8: string
  keyPkcs1: string
  /** "Proc-Type: 4,ENCRYPTED" PKCS#1 with AES-256. */
  keyPkcs1Encrypted: string
  /** certificate, chain and unencrypted key in one PEM file. */
  combinedPem: string
  /** RC2-40 certificates, 3DES key: what older Windows and Java tools export. */
  legacyP12: string
  /** OpenSSL 3's default: PBES2 AES-256-CBC, HMAC-SHA256. */
  modernP12: string
  /** Another key, for mismatches. */
  otherKey: string
}

/** Makes a partner's files the way `openssl req` / `openssl pkcs12` make them. */
export function makePartnerFiles(dir: string, { bits = 2048 }: { bits?: number } = {}): PartnerFiles {
  const keyPassphrase = 'key pass 1!'
  const p12Passphrase = 'p12-pass'
  const run = (...args: string[]) => openssl(dir, args)
  const write = (name: string, ...parts: string[]) => {
    writeFileSync(path.join(dir, name), parts.map((part) => readFileSync(path.join(dir, part), 'utf8')).join(''))
    return path.join(dir, name)
  }
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '3650', '-subj', '/O=Test Partner CA/CN=Test Partner CA')
  run('req', '-new', '-newkey', `rsa:${bits}`, '-keyout', 'key.pem', '-passout', `pass:${keyPassphrase}`, '-out', 'req.csr', '-subj', partnerSubject)
  run('x509', '-req', '-in', 'req.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '365', '-out', 'cert.pem')
  run('pkcs8', '-topk8', '-nocrypt', '-in', 'key.pem', '-passin', `pass:${keyPassphrase}`, '-out', 'key-pkcs8.pem')
  run('rsa', '-traditional', '-in', 'key-pkcs8.pem', '-out', 'key-pkcs1.pem')
  run('rsa', '-traditional', '-aes256', '-in', 'key-pkcs8.pem', '-passout', `pass:${keyPassphrase}`, '-out', 'key-pkcs1-enc.pem')
  run(
    'pkcs12',
    '-export',
    '-legacy',
    '-certpbe',
    'PBE-SHA1-RC2-40',
    '-keypbe',
    'PBE-SHA1-3DES',
    '-in',
    'cert.pem',
    '-certfile',
    'ca.pem',
    '-inkey',
    'key-pkcs8.pem',
    '-passout',
    `pass:${p12Passphrase}`,
    '-out',
    'legacy.p12',
  )
  run('pkcs12', '-export', '-in', 'cert.pem', '-certfile', 'ca.pem', '-inkey', 'key-pkcs8.pem', '-passout', `pass:${p12Passphrase}`, '-out', 'modern.p12')
  run('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'other.pem')
  return {
    dir,
    keyPassphrase,
    p12Passphrase,
    caCert: path.join(dir, 'ca.pem'),
    cert: path.join(dir, 'cert.pem'),
    certWithChain: write('cert-chain.pem', 'cert.pem', 'ca.pem'),
    keyPkcs8Encrypted: path.join(dir, 'key.pem'),
    keyPkcs8: path.join(dir, 'key-pkcs8.pem'),
    keyPkcs1: path.join(dir, 'key-pkcs1.pem'),
    keyPkcs1Encrypted: path.join(dir, 'key-pkcs1-enc.pem'),
    combinedPem: write('combined.pem', 'key-pkcs8.pem', 'cert.pem', 'ca.pem'),
    legacyP12: path.join(dir, 'legacy.p12'),
    modernP12: path.join(dir, 'modern.p12'),
    otherKey: path.join(dir, 'other.pem'),
  }
}

export interface EcFiles {
  cert: string
  key: string
  keyEncryptedPkcs8: string
  keyEncryptedSec1: string
  p12: string
  passphrase: string
}

/** An EC P-256 partner certificate and its key in several layouts. */
export function makeEcFiles(dir: string): EcFiles {
  const passphrase = 'ec-pass'
  const run = (...args: string[]) => openssl(dir, args)
  run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ec.key')
  run('req', '-new', '-x509', '-key', 'ec.key', '-out', 'ec.pem', '-days', '90', '-subj', partnerSubject)
  run('pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-in', 'ec.key', '-passout', `pass:${passphrase}`, '-out', 'ec-pkcs8-enc.key')
  run('ec', '-in', 'ec.key', '-aes256', '-passout', `pass:${passphrase}`, '-out', 'ec-sec1-enc.key')
  run('pkcs12', '-export', '-in', 'ec.pem', '-inkey', 'ec.key', '-passout', `pass:${passphrase}`, '-out', 'ec.p12')
  return {
    cert: path.join(dir, 'ec.pem'),
    key: path.join(dir, 'ec.key'),
    keyEncryptedPkcs8: path.join(dir, 'ec-pkcs8-enc.key'),
    keyEncryptedSec1: path.join(dir, 'ec-sec1-enc.key'),
    p12: path.join(dir, 'ec.p12'),
    passphrase,
  }
}

/** A file as importPartnerCredentials wants it. */
export function credentialFile(filePath: string): { name: string; bytes: Buffer } {
  return { name: path.basename(filePath), bytes: readFileSync(filePath) }
}

/** `openssl x509 -fingerprint -sha256` of a PEM certificate: the value a technician would compare. */
export function opensslFingerprint(dir: string, certPath: string): string {
  const out = openssl(dir, ['x509', '-in', certPath, '-noout', '-fingerprint', '-sha256'])
  return out.trim().replace(/^.*Fingerprint=/i, '')
}
