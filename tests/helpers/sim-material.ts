/**
 * The simulator's demo key material (two CAs, a server and a partner certificate, the
 * partner.p12, the token-signing key) takes about a second to make. A test run makes it
 * once: scripts/test.sh runs this file before the tests and names the folder in
 * VKEY_TEST_SIM_MATERIAL. Each test then copies it into its own simulator folder, so every
 * simulator still has a folder of its own (0700, files 0600) that the test may change.
 *
 * A test file run on its own (without scripts/test.sh) makes the material once per process,
 * in a temp folder removed when the process exits.
 *
 * The tests of the material itself (first start creates it, a lock guards two starts at once,
 * an expired server certificate is re-issued) start on an empty folder, not from here.
 */
import { rmSync } from 'node:fs'
import { cp, mkdtemp, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { loadSimulatorMaterial, simulatorFiles } from '../../electron/core/simulator'

export const SIM_MATERIAL_ENV = 'VKEY_TEST_SIM_MATERIAL'

let template: Promise<string> | undefined

/** Makes complete simulator material in `dir` (created 0700) and returns the folder. */
export async function makeMaterial(dir: string): Promise<string> {
  const material = await loadSimulatorMaterial(dir)
  if (!material.created) throw new Error(`${dir} already held simulator material: give an empty folder`)
  return dir
}

async function complete(dir: string): Promise<boolean> {
  const present = await Promise.all(
    Object.values(simulatorFiles(dir)).map((file) =>
      stat(file).then(
        () => true,
        () => false,
      ),
    ),
  )
  return present.every(Boolean)
}

/** The folder holding this run's material: VKEY_TEST_SIM_MATERIAL, or made once in this process. */
export function materialTemplate(): Promise<string> {
  template ??= (async () => {
    const shared = process.env[SIM_MATERIAL_ENV]
    if (shared) {
      if (!(await complete(shared)))
        throw new Error(`${SIM_MATERIAL_ENV}=${shared} does not hold complete simulator material: run the tests with scripts/test.sh, or unset it`)
      return shared
    }
    const dir = await mkdtemp(join(tmpdir(), 'vkd-sim-template-'))
    // 'exit' handlers run synchronously: an async rm there never finishes.
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
    return makeMaterial(join(dir, 'sim'))
  })()
  return template
}

/**
 * Fills a simulator folder that does not exist yet with this run's material (a copy: the
 * test's simulator may renew its certificate or be deleted without touching the others).
 */
export async function seedSimulatorDir(dir: string): Promise<string> {
  await cp(await materialTemplate(), dir, { recursive: true, preserveTimestamps: true, errorOnExist: true, force: false })
  return dir
}

// `node --import tsx tests/helpers/sim-material.ts DIR`: make the run's material in DIR (scripts/test.sh).
if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const dir = process.argv[2]
  if (!dir) {
    console.error('usage: node --import tsx tests/helpers/sim-material.ts DIR')
    process.exit(2)
  }
  await makeMaterial(resolve(dir))
}
