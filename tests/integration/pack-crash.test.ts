/**
 * `vkey pack` killed (SIGKILL) while it writes: the half-written temp file beside the
 * output is removed by the next VK Depot command, and nothing else is touched.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { watch } from 'node:fs'
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { PENDING_FOLDER, TEMP_SUFFIX } from '../../electron/core/secure-files'
import { carDataJson, ROOT, setupDepot, vinFor, vkey } from '../helpers/depot-env'

test('a pack killed mid-write leaves only a temp file that the next command sweeps', async (t) => {
  const { env, dataDir } = await setupDepot(t)
  const root = join(dataDir, '..')
  const files: string[] = []
  for (let n = 0; n < 30; n++) {
    const file = join(root, `car-${n}.json`)
    await writeFile(file, carDataJson(vinFor(500 + n)))
    files.push(file)
  }
  const batch = await vkey(['batch', ...files, '--duration', '2h', '--concurrency', '8'], env)
  assert.equal(batch.code, 0, batch.stderr)

  const out = join(root, 'Desktop')
  await mkdir(out)
  await writeFile(join(out, 'holiday.tmp'), 'the user’s own file')
  const child = spawn(process.execPath, [join(ROOT, 'scripts/vkey.mjs'), 'pack', '--all-valid', '--out', join(out, 'pack.pdf')], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const exited = once(child, 'exit')
  // The condition: the pack's temp file appears beside the output; kill the writer then.
  let seen: string | undefined
  const watcher = watch(out, (_event, name) => {
    if (!seen && name?.endsWith(TEMP_SUFFIX)) {
      seen = name
      child.kill('SIGKILL')
    }
  })
  t.after(() => watcher.close())
  const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null]
  watcher.close()
  assert.equal(signal, 'SIGKILL', `the pack had to be killed while writing (exit ${code}): it finished before its temp file was seen`)
  assert.ok(seen)
  const left = await readdir(out)
  assert.ok(!left.includes('pack.pdf'), 'no pack was written')
  assert.ok(left.includes(seen), 'the killed writer left its temp file')

  const next = await vkey(['list'], env)
  assert.equal(next.code, 0, next.stderr)
  assert.deepEqual((await readdir(out)).sort(), ['holiday.tmp'], 'the next command removed the temp file, and only it')
  assert.deepEqual(await readdir(join(dataDir, PENDING_FOLDER)), [], 'and its record')
})
