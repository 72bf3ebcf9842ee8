/**
 * Test fixtures for the PSA simulator and client: key material made once per test run
 * (RSA key generation is the slow part; tests/helpers/sim-material.ts) and copied into each
 * test's own temp folder.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { createCa, issueCertificate, issuePartnerCertificate, type Issued } from '../../electron/core/pki'
import { demoPartnerCredentials, startSimulator, type Simulator, type SimulatorOptions } from '../../electron/core/simulator'
import type { PartnerCredentials } from '../../electron/core/psa-client'
import { seedSimulatorDir } from './sim-material'

const DAY = 24 * 60 * 60 * 1000

/** A fresh temp folder for one test, removed after it. */
export async function tempDir(t: TestContext, prefix = 'vkd-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A simulator folder inside this test's temp folder, pre-filled with the shared material. */
export async function simulatorDir(t: TestContext): Promise<string> {
  return seedSimulatorDir(join(await tempDir(t), 'sim'))
}

/** Starts a simulator on a random 127.0.0.1 port in this test's own folder; closed after the test. */
export async function testSimulator(t: TestContext, options: Omit<SimulatorOptions, 'dir'> = {}): Promise<Simulator> {
  const sim = await startSimulator({ dir: await simulatorDir(t), ...options })
  t.after(() => sim.close())
  return sim
}

/** The demo partner's credentials for a simulator, as a profile would hold them. */
export function demoCredentials(sim: Simulator, overrides: Partial<PartnerCredentials> = {}): PartnerCredentials {
  return { ...demoPartnerCredentials(sim), ...overrides }
}

interface ExtraPki {
  otherCa: Issued
}
let extra: ExtraPki | undefined

/** A CA that neither the simulator nor the client trusts. */
export function otherCa(): Issued {
  extra ??= { otherCa: createCa({ commonName: 'Some Other CA (test)' }) }
  return extra.otherCa
}

/** Partner certificate for `login` signed by a CA the simulator does not know. */
export function wrongCaPartner(login: string): Issued {
  return issuePartnerCertificate(otherCa(), { login })
}

/** Partner certificate signed by the simulator's partner CA but expired yesterday. */
export function expiredPartner(sim: Simulator): Issued {
  return issuePartnerCertificate(sim.material.partnerCa, {
    login: sim.material.credentials.login,
    notBefore: new Date(Date.now() - 30 * DAY),
    notAfter: new Date(Date.now() - DAY),
  })
}

/** Server certificates from the simulator's own server CA: expired, or for another host. */
export function serverCertificate(serverCa: Issued, kind: 'expired' | 'wrong-host'): Issued {
  if (kind === 'expired') {
    return issueCertificate(serverCa, {
      subject: { CN: 'localhost' },
      usage: 'server',
      altNames: ['localhost', '127.0.0.1', '::1'],
      notBefore: new Date(Date.now() - 30 * DAY),
      notAfter: new Date(Date.now() - DAY),
    })
  }
  return issueCertificate(serverCa, { subject: { CN: 'api.other.example' }, usage: 'server', altNames: ['api.other.example'] })
}
