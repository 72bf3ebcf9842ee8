/**
 * Where the simulator that `vkey simulator` or the app started last can be found: its
 * address and folder, kept in the data folder's simulator.json, and what a simulator
 * profile takes from that folder (the demo credentials).
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { VkError } from '../../shared/errors'
import { writeFileAtomic } from './secure-files'
import { simulatorFiles } from './simulator/material'

const SIMULATOR_FILE = 'simulator.json'

export interface SimulatorRegistration {
  baseUrl: string
  dir: string
}

/**
 * The simulator keeps demo keys in clear, so its folder sits beside the data folder,
 * never inside it: a scan of the data folder must find no private key.
 */
export function defaultSimulatorDir(dataDir: string): string {
  return `${dataDir.replace(/[\\/]+$/, '')}-simulator`
}

export async function registerSimulator(dataDir: string, registration: SimulatorRegistration): Promise<void> {
  await writeFileAtomic(join(dataDir, SIMULATOR_FILE), JSON.stringify(registration, null, 1))
}

export async function registeredSimulator(dataDir: string): Promise<SimulatorRegistration> {
  try {
    const value = JSON.parse(await readFile(join(dataDir, SIMULATOR_FILE), 'utf8')) as SimulatorRegistration
    if (typeof value.baseUrl === 'string' && typeof value.dir === 'string') return value
  } catch {
    // fall through to the error below
  }
  throw new VkError(
    'config.profile',
    'No simulator is registered in this data folder. Start one first with `vkey simulator` (same VKEY_HOME), then add the profile again.',
    { field: '--env' },
  )
}

/** The demo credentials in a simulator's folder (the password and p12 passphrase a simulator profile uses). */
export async function readDemoCredentials(dir: string): Promise<{ login: string; password: string; clientId: string; p12Passphrase: string }> {
  const file = simulatorFiles(dir).credentials
  try {
    return JSON.parse(await readFile(file, 'utf8')) as { login: string; password: string; clientId: string; p12Passphrase: string }
  } catch {
    throw new VkError(
      'config.profile',
      `Cannot read the simulator's demo credentials in ${file}. Start the simulator once with \`vkey simulator --dir ${dir}\`.`,
      { file },
    )
  }
}
