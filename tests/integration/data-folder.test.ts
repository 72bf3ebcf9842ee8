/**
 * The data folder is VK Depot's own only with its marker: a VKEY_HOME pointed at a folder
 * of someone else's files is refused (exit 3) and left exactly as it was; an empty or
 * missing folder, and one an earlier VK Depot wrote, are adopted.
 */
import assert from 'node:assert/strict'
import { chmod, mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { adoptDataFolder, MARKER_FILE } from '../../electron/core/data-folder'
import { carDataJson, escapeRe, setupDepot, tempFolder, vinFor, vkey, vkeyProcess } from '../helpers/depot-env'

const run = promisify(execFile)

const hourAgo = () => new Date(Date.now() - 3600_000)
const modeOf = async (path: string) => (await stat(path)).mode & 0o777

test('a folder of foreign files is refused with exit 3 and left untouched, old temp files included', async (t) => {
  const root = await tempFolder(t)
  const documents = join(root, 'Documents')
  await mkdir(join(documents, 'build'), { recursive: true })
  await chmod(documents, 0o755)
  const foreign = [
    join(documents, 'report.docx.tmp'),
    join(documents, 'build', 'output.tmp'),
    join(documents, 'settings.json.tmp-1764300000a1b2c3'),
    join(documents, 'notes.txt'),
  ]
  for (const file of foreign) {
    await writeFile(file, 'not VK Depot’s')
    await utimes(file, hourAgo(), hourAgo())
  }
  const before = (await readdir(documents, { recursive: true })).sort()

  const result = await vkeyProcess(['profile', 'list'], { ...process.env, VKEY_HOME: documents })
  assert.equal(result.code, 3, result.stderr)
  assert.match(result.stderr, new RegExp(`${escapeRe(documents)} is not a VK Depot data folder`))
  assert.match(result.stderr, /VKEY_HOME to an empty or new folder/)
  assert.equal(result.stdout, '')

  assert.deepEqual((await readdir(documents, { recursive: true })).sort(), before, 'nothing created, nothing removed')
  for (const file of foreign) assert.equal(await readFile(file, 'utf8'), 'not VK Depot’s')
  assert.equal(await modeOf(documents), 0o755, 'a folder that is not ours is never chmod-ed')
})

test('an empty folder and a missing one are adopted: marker, owner-only; a new one is said once, a chain of missing ones refused', async (t) => {
  const root = await tempFolder(t)
  const empty = join(root, 'empty')
  await mkdir(empty, { mode: 0o755 })
  await chmod(empty, 0o755)
  const missing = join(root, 'new')
  for (const dir of [empty, missing]) {
    const result = await vkey(['profile', 'list'], { ...process.env, VKEY_HOME: dir })
    assert.equal(result.code, 0, result.stderr)
    const marker = JSON.parse(await readFile(join(dir, MARKER_FILE), 'utf8')) as { format: string; version: number }
    assert.deepEqual([marker.format, marker.version], ['vk-depot-data', 1])
    assert.equal(await modeOf(dir), 0o700)
    const said = `vkey: VKEY_HOME ${dir} did not exist: it is a new, empty data folder. If you meant an existing one, check VKEY_HOME.\n`
    assert.equal(result.stderr, dir === missing ? said : '', 'a folder made now is said: a mistyped VKEY_HOME looks like a depot without keys')
  }
  assert.equal((await vkey(['list'], { ...process.env, VKEY_HOME: missing })).stderr, '', 'said once, when it is made')

  const typo = join(root, 'nosuch', 'data')
  const refused = await vkey(['list'], { ...process.env, VKEY_HOME: typo })
  assert.equal(refused.code, 3)
  assert.match(
    refused.stderr,
    new RegExp(`VKEY_HOME is ${escapeRe(typo)}, whose parent folder ${escapeRe(join(root, 'nosuch'))} does not exist: is it mistyped\\?`),
  )
  assert.equal(await stat(join(root, 'nosuch')).catch(() => undefined), undefined, 'nothing made')
})

test('a data folder written before the marker is recognised by its own files and adopted with its history', async (t) => {
  const { env, dataDir } = await setupDepot(t)
  const file = join(dataDir, '..', 'car.json')
  await writeFile(file, carDataJson(vinFor(41)))
  assert.equal((await vkey(['token', '--cardata', file, '--duration', '1h'], env)).code, 0)
  // As today's main leaves it: no marker; a temp file of its own killed writer, and a stranger's.
  await rm(join(dataDir, MARKER_FILE))
  const ownLeftover = join(dataDir, 'handovers.json.0123456789ab.tmp')
  const newLeftover = join(dataDir, 'secrets', `x.sealed.0123456789ab.vkd-tmp`)
  const stranger = join(dataDir, 'draft.docx.tmp')
  for (const leftover of [ownLeftover, newLeftover, stranger]) {
    await writeFile(leftover, 'half')
    await utimes(leftover, hourAgo(), hourAgo())
  }

  const listed = await vkey(['list', '--json'], env)
  assert.equal(listed.code, 0, listed.stderr)
  assert.deepEqual(
    (JSON.parse(listed.stdout) as { vin: string; status: string }[]).map((r) => [r.vin, r.status]),
    [[vinFor(41), 'issued']],
  )
  assert.ok(await readFile(join(dataDir, MARKER_FILE), 'utf8'))
  const left = await readdir(dataDir, { recursive: true })
  assert.ok(
    !left.includes('handovers.json.0123456789ab.tmp') && !left.includes(join('secrets', 'x.sealed.0123456789ab.vkd-tmp')),
    'our own leftovers are swept',
  )
  assert.ok(left.includes('draft.docx.tmp'), 'a temp name VK Depot never gives is left alone, even in its own folder')
})

test('a folder whose settings.json belongs to another program is not taken for a legacy data folder', async (t) => {
  const root = await tempFolder(t)
  const editor = join(root, 'Code', 'User')
  await mkdir(editor, { recursive: true })
  await writeFile(join(editor, 'settings.json'), JSON.stringify({ 'editor.fontSize': 14 }))
  assert.throws(() => adoptDataFolder(editor), { code: 'config.data-folder' })
  assert.deepEqual(await readdir(editor), ['settings.json'])
  // A file where the folder should be is refused too, with the same clear error.
  await writeFile(join(root, 'plain-file'), 'x')
  assert.throws(() => adoptDataFolder(join(root, 'plain-file')), /is not a VK Depot data folder \(it is a file, not a folder\)/)
})

test('a VKEY_HOME that cannot be made because its disk is read-only says so (exit 3), not just that it does not exist', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to mount a read-only tmpfs (CI runs as root)')
    return
  }
  const root = await tempFolder(t)
  const readOnly = join(root, 'ro')
  await mkdir(readOnly)
  await run('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', readOnly])
  try {
    const home = join(readOnly, 'data')
    const result = await vkey(['list'], { ...process.env, VKEY_HOME: home })
    assert.equal(result.code, 3, result.stderr)
    assert.match(
      result.stderr,
      new RegExp(
        `Cannot use the data folder ${escapeRe(home)} \\(${escapeRe(home)} does not exist and cannot be made: ${escapeRe(readOnly)} is on a read-only disk\\)`,
      ),
    )
  } finally {
    await run('umount', [readOnly])
  }
})
