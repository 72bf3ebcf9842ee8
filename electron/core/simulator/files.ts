/**
 * Where the simulator keeps its material and what its demo credentials file holds: the
 * names and the check a profile needs to use a running simulator, apart from material.ts,
 * which makes the certificates with node-forge and is loaded only by the simulator itself
 * (a cold `vkey token` does not load node-forge: docs/performance.md).
 */
import { join } from 'node:path'
import * as z from 'zod'
import { VkError } from '../../../shared/errors'

const DemoCredentials = z.object({
  /** 'MZP' + 6 digits: the partner certificate's CN. */
  login: z.string().min(1),
  /** Random, always contains ':' (the real API allows it). */
  password: z.string().min(1),
  clientId: z.string().min(1),
  /** Protects partner.p12. */
  p12Passphrase: z.string().min(1),
})
export type DemoCredentials = z.infer<typeof DemoCredentials>

export interface SimulatorFiles {
  serverCa: string
  serverCaKey: string
  serverCert: string
  serverKey: string
  partnerCa: string
  partnerCaKey: string
  partnerCert: string
  partnerKey: string
  partnerP12: string
  credentials: string
  tokenKey: string
}

export const SERVER_HOST_NAMES = ['localhost', '127.0.0.1', '::1']

export function simulatorFiles(dir: string): SimulatorFiles {
  return {
    serverCa: join(dir, 'server-ca.pem'),
    serverCaKey: join(dir, 'server-ca-key.pem'),
    serverCert: join(dir, 'server-cert.pem'),
    serverKey: join(dir, 'server-key.pem'),
    partnerCa: join(dir, 'partner-ca.pem'),
    partnerCaKey: join(dir, 'partner-ca-key.pem'),
    partnerCert: join(dir, 'partner-cert.pem'),
    partnerKey: join(dir, 'partner-key.pem'),
    partnerP12: join(dir, 'partner.p12'),
    credentials: join(dir, 'demo-credentials.json'),
    tokenKey: join(dir, 'token-signing-key.pem'),
  }
}

/** The demo credentials file's content, checked: each field a non-empty string. */
export function parseDemoCredentials(text: string, file: string): DemoCredentials {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    // Not the parser's message as a cause: it quotes the text, and the text holds the demo password.
    throw new VkError('input.json', `${file} is not valid JSON: delete the simulator folder to have it made again.`, { file })
  }
  const parsed = DemoCredentials.safeParse(value)
  if (parsed.success) return parsed.data
  const key = parsed.error.issues[0]?.path.join('.') ?? ''
  throw new VkError(
    'input.field',
    `${file} ${key ? `has no valid "${key}"` : 'does not hold the demo credentials'}: delete the simulator folder to have it made again.`,
    key ? { file, field: key } : { file },
  )
}
