/**
 * The PSA simulator's key material: a demo "Stellantis" server CA and server certificate,
 * a demo partner CA, a demo partner certificate (PEM and passphrase-protected partner.p12),
 * the demo credentials and the key that signs tokens.
 *
 * Created on first use in the given folder (folder 0700, files 0600), reused afterwards;
 * the server certificate is re-issued when it has expired.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomInt, randomUUID, sign, verify, type KeyObject } from 'node:crypto'
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { VkError } from '../../../shared/errors'
import { withOwnerLock } from '../owner-lock'
import type { PartnerCredentials } from '../psa-client'
import { certificateFacts, createCa, issueCertificate, issuePartnerCertificate, toPkcs12, type Issued } from '../pki'
import { SERVER_HOST_NAMES, parseDemoCredentials, simulatorFiles, type DemoCredentials, type SimulatorFiles } from './files'

export interface SimulatorMaterial {
  dir: string
  files: SimulatorFiles
  /** True when this call created the material. */
  created: boolean
  /** True when this call re-issued an expired server certificate. */
  serverCertRenewed: boolean
  /** The CA a profile uses to verify the simulator ("Stellantis CA certificate"). */
  serverCa: Issued
  /** The simulator's TLS certificate (valid for localhost, 127.0.0.1 and ::1). */
  server: Issued
  /** The demo partner CA that signs client certificates. */
  partnerCa: Issued
  /** The demo partner certificate and key, the same as inside partner.p12. */
  partner: Issued
  credentials: DemoCredentials
  /** Ed25519 key that signs issued tokens (PKCS#8 PEM) and its public half (SPKI PEM). */
  tokenSigningKeyPem: string
  tokenPublicKeyPem: string
}

/** Writes a file with mode 0600 through a temporary name, so a reader never sees half of it. */
async function writePrivateFile(path: string, data: string | Buffer): Promise<void> {
  const temp = `${path}.tmp-${randomBytes(6).toString('hex')}`
  try {
    await writeFile(temp, data, { mode: 0o600, flag: 'wx' })
    await chmod(temp, 0o600)
    await rename(temp, path)
  } catch (error) {
    await rm(temp, { force: true })
    throw new VkError(
      'input.file',
      `Could not write ${path}: check the simulator folder is writable, or pick another with --dir.`,
      { file: path },
      { cause: error },
    )
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

function randomDigits(count: number): string {
  let out = ''
  for (let i = 0; i < count; i++) out += String(randomInt(0, 10))
  return out
}

function issueServer(serverCa: Issued): Issued {
  return issueCertificate(serverCa, {
    subject: { CN: 'localhost', O: 'VK Depot PSA simulator' },
    usage: 'server',
    altNames: SERVER_HOST_NAMES,
  })
}

async function createMaterial(dir: string, files: SimulatorFiles): Promise<void> {
  const serverCa = createCa({ commonName: 'Demo Stellantis Server CA (VK Depot simulator)', organization: 'VK Depot simulator' })
  const server = issueServer(serverCa)
  const partnerCa = createCa({ commonName: 'Demo Stellantis Partner CA (VK Depot simulator)', organization: 'VK Depot simulator' })
  const credentials: DemoCredentials = {
    login: `MZP${randomDigits(6)}`,
    password: `${randomBytes(9).toString('base64url')}:${randomBytes(9).toString('base64url')}`,
    clientId: randomUUID(),
    p12Passphrase: randomBytes(12).toString('base64url'),
  }
  const partner = issuePartnerCertificate(partnerCa, { login: credentials.login })
  const p12 = toPkcs12({
    certPem: partner.certPem,
    keyPem: partner.keyPem,
    chainPems: [partnerCa.certPem],
    passphrase: credentials.p12Passphrase,
    algorithm: '3des',
    friendlyName: `${credentials.login} (demo partner)`,
  })
  const token = generateKeyPairSync('ed25519')
  await writePrivateFile(files.serverCa, serverCa.certPem)
  await writePrivateFile(files.serverCaKey, serverCa.keyPem)
  await writePrivateFile(files.serverCert, server.certPem)
  await writePrivateFile(files.serverKey, server.keyPem)
  await writePrivateFile(files.partnerCa, partnerCa.certPem)
  await writePrivateFile(files.partnerCaKey, partnerCa.keyPem)
  await writePrivateFile(files.partnerCert, partner.certPem)
  await writePrivateFile(files.partnerKey, partner.keyPem)
  await writePrivateFile(files.partnerP12, p12)
  await writePrivateFile(files.tokenKey, token.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())
  // Written last: its presence marks the material as complete.
  await writePrivateFile(files.credentials, `${JSON.stringify(credentials, null, 2)}\n`)
}

/**
 * Loads the simulator material from `dir`, creating it on first use and re-issuing the
 * server certificate when it has expired (by `now`).
 */
export async function loadSimulatorMaterial(dir: string, options: { now?: () => Date; lockWaitMs?: number } = {}): Promise<SimulatorMaterial> {
  const now = options.now ?? (() => new Date())
  const files = simulatorFiles(dir)
  let created = false
  if (!(await exists(dir))) {
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 })
      await chmod(dir, 0o700)
    } catch (error) {
      throw new VkError('input.file', `Could not create the simulator folder ${dir}: pick another with --dir.`, { file: dir }, { cause: error })
    }
  }
  const complete = async () => (await Promise.all(Object.values(files).map(exists))).every(Boolean)
  if (!(await complete())) {
    // Two simulators starting on a new folder at once: one creates, the other waits and reuses.
    await withOwnerLock(
      join(dir, '.material.lock'),
      async () => {
        if (await complete()) return
        await createMaterial(dir, files)
        created = true
      },
      { what: `The simulator folder ${dir}`, ...(options.lockWaitMs !== undefined ? { waitMs: options.lockWaitMs } : {}) },
    )
  }
  const read = async (file: string): Promise<string> => {
    try {
      return await readFile(file, 'utf8')
    } catch (error) {
      throw new VkError('input.file', `Could not read ${file}: delete the simulator folder to have it made again.`, { file }, { cause: error })
    }
  }
  const serverCa: Issued = { certPem: await read(files.serverCa), keyPem: await read(files.serverCaKey) }
  let server: Issued = { certPem: await read(files.serverCert), keyPem: await read(files.serverKey) }
  const partnerCa: Issued = { certPem: await read(files.partnerCa), keyPem: await read(files.partnerCaKey) }
  const partner: Issued = { certPem: await read(files.partnerCert), keyPem: await read(files.partnerKey) }
  const credentials = parseDemoCredentials(await read(files.credentials), files.credentials)
  const tokenSigningKeyPem = await read(files.tokenKey)
  const tokenPublicKeyPem = createPublicKey(createPrivateKey(tokenSigningKeyPem)).export({ type: 'spki', format: 'pem' }).toString()

  let serverCertRenewed = false
  if (certificateFacts(server.certPem).notAfter.getTime() <= now().getTime()) {
    await withOwnerLock(
      join(dir, '.material.lock'),
      async () => {
        const current: Issued = { certPem: await read(files.serverCert), keyPem: await read(files.serverKey) }
        if (certificateFacts(current.certPem).notAfter.getTime() > now().getTime()) {
          server = current // another simulator renewed it meanwhile
          return
        }
        server = issueServer(serverCa)
        await writePrivateFile(files.serverCert, server.certPem)
        await writePrivateFile(files.serverKey, server.keyPem)
        serverCertRenewed = true
      },
      { what: `The simulator folder ${dir}` },
    )
  }
  return { dir, files, created, serverCertRenewed, serverCa, server, partnerCa, partner, credentials, tokenSigningKeyPem, tokenPublicKeyPem }
}

/** The bytes the simulator signs for a token: access_token | expires. */
function signedPayload(accessToken: string, expires: string): Buffer {
  return Buffer.from(`${accessToken}|${expires}`, 'utf8')
}

/**
 * The token signing key, parsed once per material (parsing the PEM took ≈ 0.5 ms, more than
 * the signature itself, on every token). Keyed by the material object, checked against its PEM.
 */
const signingKeys = new WeakMap<object, { pem: string; key: KeyObject }>()

function signingKeyOf(material: Pick<SimulatorMaterial, 'tokenSigningKeyPem'>): KeyObject {
  const known = signingKeys.get(material)
  if (known?.pem === material.tokenSigningKeyPem) return known.key
  const key = createPrivateKey(material.tokenSigningKeyPem)
  signingKeys.set(material, { pem: material.tokenSigningKeyPem, key })
  return key
}

/** The simulator's token_signature: Ed25519 over `access_token|expires`, base64. */
export function signToken(material: Pick<SimulatorMaterial, 'tokenSigningKeyPem'>, accessToken: string, expires: string): string {
  return sign(null, signedPayload(accessToken, expires), signingKeyOf(material)).toString('base64')
}

/** Checks a token_signature the simulator issued (accepts the wire shape or the client's TokenResult). */
export function verifyTokenSignature(
  material: Pick<SimulatorMaterial, 'tokenPublicKeyPem'>,
  token: { access_token: string; expires: string } | { accessToken: string; expires: string },
  signature: string,
): boolean {
  const accessToken = 'access_token' in token ? token.access_token : token.accessToken
  try {
    return verify(null, signedPayload(accessToken, token.expires), createPublicKey(material.tokenPublicKeyPem), Buffer.from(signature, 'base64'))
  } catch {
    return false
  }
}

/** The demo partner's credentials for a running simulator, as a profile would hold them. */
export function demoPartnerCredentials(simulator: { baseUrl: string; material: SimulatorMaterial }): PartnerCredentials {
  const m = simulator.material
  return {
    baseUrl: simulator.baseUrl,
    clientId: m.credentials.clientId,
    login: m.credentials.login,
    password: m.credentials.password,
    certPem: m.partner.certPem,
    keyPem: m.partner.keyPem,
    caPem: m.serverCa.certPem,
  }
}
