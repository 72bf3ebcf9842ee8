/**
 * Where the simulator that `vkey simulator` or the app started last can be found: its
 * address and folder, kept in the data folder's simulator.json, and what a simulator
 * profile takes from that folder (the demo credentials).
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as z from 'zod'
import { VkError } from '../../shared/errors'
import { isNotFound, writeFileAtomic } from './secure-files'
import { parseDemoCredentials, simulatorFiles, type DemoCredentials } from './simulator/files'

const SIMULATOR_FILE = 'simulator.json'

const SimulatorRegistrationSchema = z.object({ baseUrl: z.url({ protocol: /^https$/ }), dir: z.string().min(1) })

export type SimulatorRegistration = z.infer<typeof SimulatorRegistrationSchema>

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

/** The registered simulator. None registered says to start one; a damaged file is named. */
export async function registeredSimulator(dataDir: string): Promise<SimulatorRegistration> {
  const file = join(dataDir, SIMULATOR_FILE)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if (!isNotFound(error)) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown error'
      throw new VkError('input.file', `Cannot read ${file} (${code}): check that this user may read it.`, { file }, { cause: error })
    }
    throw new VkError(
      'config.profile',
      'No simulator is registered in this data folder. Start one first with `vkey simulator` (same VKEY_HOME), then add the profile again.',
      { field: '--env' },
    )
  }
  let problem: string
  try {
    const parsed = SimulatorRegistrationSchema.safeParse(JSON.parse(text))
    if (parsed.success) return parsed.data
    const issue = parsed.error.issues[0]
    problem = `${issue?.path.length ? `"${issue.path.map(String).join('.')}": ` : ''}${issue?.message ?? 'invalid'}`
  } catch {
    problem = 'not valid JSON'
  }
  throw new VkError(
    'config.profile',
    `${file} is not a simulator registration (${problem}). Start the simulator again with \`vkey simulator\` (same VKEY_HOME): it writes the file anew.`,
    { file },
  )
}

/** The demo credentials in a simulator's folder (the password and p12 passphrase a simulator profile uses). */
export async function readDemoCredentials(dir: string): Promise<DemoCredentials> {
  const file = simulatorFiles(dir).credentials
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch {
    throw new VkError(
      'config.profile',
      `Cannot read the simulator's demo credentials in ${file}. Start the simulator once with \`vkey simulator --dir ${dir}\`.`,
      { file },
    )
  }
  return parseDemoCredentials(text, file)
}

/**
 * Where a simulator profile should now send its requests: the registered simulator's address
 * when the simulator restarted elsewhere (another port) from the same folder, i.e. with the
 * server CA the profile trusts. Undefined when nothing moved, no simulator is registered, or
 * the registered one has another CA (then the profile is left as it is, and says so on use).
 */
export async function movedSimulatorUrl(
  dataDir: string,
  profile: { environment: string; baseUrl: string; caPem?: string | undefined },
): Promise<string | undefined> {
  if (profile.environment !== 'simulator' || !profile.caPem) return undefined
  const registered = await registeredSimulator(dataDir).catch(() => undefined)
  if (!registered || registered.baseUrl === profile.baseUrl) return undefined
  const serverCa = await readFile(simulatorFiles(registered.dir).serverCa, 'utf8').catch(() => undefined)
  const same = (pem: string) => pem.replace(/\s+/g, '')
  return serverCa !== undefined && same(serverCa) === same(profile.caPem) ? registered.baseUrl : undefined
}
