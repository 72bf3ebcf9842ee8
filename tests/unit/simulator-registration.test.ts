import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, test } from 'node:test'
import { VkError } from '../../shared/errors'
import { defaultSimulatorDir, registeredSimulator, registerSimulator } from '../../electron/core/simulator-registration'
import { withTempDir } from '../helpers/cert-fixtures'

/** The error `registeredSimulator` throws for this data folder. */
async function refusal(dataDir: string): Promise<VkError> {
  const error = await registeredSimulator(dataDir).then(
    () => undefined,
    (e: unknown) => e,
  )
  assert.ok(error instanceof VkError, `expected a VkError, got ${String(error)}`)
  return error
}

describe('simulator registration', () => {
  test('the simulator folder sits beside the data folder, not inside it', () => {
    assert.equal(defaultSimulatorDir('/home/ana/.vkdepot/'), '/home/ana/.vkdepot-simulator')
  })

  test('a registered simulator is read back as written', () =>
    withTempDir(async (dir) => {
      const registration = { baseUrl: 'https://127.0.0.1:7443/connectedcar/v3', dir: path.join(dir, 'sim') }
      await registerSimulator(dir, registration)
      assert.deepEqual(await registeredSimulator(dir), registration)
    }))

  test('with none registered, the message says to start one', () =>
    withTempDir(async (dir) => {
      const error = await refusal(dir)
      assert.equal(error.code, 'config.profile')
      assert.match(error.message, /No simulator is registered in this data folder\. Start one first with `vkey simulator`/)
    }))

  test('a registration file that is not JSON is named, with how to write it anew', () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 'simulator.json')
      await writeFile(file, '{"baseUrl": "https://127.0.0.1:7443/connectedcar/v3",')
      const error = await refusal(dir)
      assert.equal(error.details.file, file)
      assert.ok(error.message.startsWith(`${file} is not a simulator registration (not valid JSON)`), error.message)
      assert.match(error.message, /Start the simulator again with `vkey simulator`/)
    }))

  test('a registration without an https address or a folder names the file and the field', () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 'simulator.json')
      await writeFile(file, JSON.stringify({ baseUrl: 'http://127.0.0.1:7443/connectedcar/v3', dir: path.join(dir, 'sim') }))
      const wrongScheme = await refusal(dir)
      assert.equal(wrongScheme.details.file, file)
      assert.match(wrongScheme.message, /is not a simulator registration \("baseUrl": /)
      await writeFile(file, JSON.stringify({ baseUrl: 'https://127.0.0.1:7443/connectedcar/v3' }))
      assert.match((await refusal(dir)).message, /is not a simulator registration \("dir": /)
    }))
})
