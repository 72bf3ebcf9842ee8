import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, test } from 'node:test'
import { defaultDataFolder } from '../../electron/core/paths'
import {
  ensurePrivateFolder,
  readFileIfExists,
  sweepOwnTempFilesIn,
  sweepTemporaryFiles,
  writeFileAtomic,
  writeFileAtomicSync,
} from '../../electron/core/secure-files'
import { withTempDir } from '../helpers/cert-fixtures'

const posix = process.platform !== 'win32'

const modeOf = async (target: string) => (await fs.stat(target)).mode & 0o777

describe('secure files', () => {
  test('private folders are created owner-only and tightened when they exist looser', { skip: !posix && 'POSIX modes only' }, () =>
    withTempDir(async (dir) => {
      const nested = path.join(dir, 'a', 'b')
      await ensurePrivateFolder(nested)
      assert.equal(await modeOf(nested), 0o700)
      const loose = path.join(dir, 'loose')
      await fs.mkdir(loose, { mode: 0o755 })
      await fs.chmod(loose, 0o755)
      await ensurePrivateFolder(loose)
      assert.equal(await modeOf(loose), 0o700)
    }),
  )

  test('files are written owner-only, whatever the umask, and replaced in place', { skip: !posix && 'POSIX modes only' }, () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 'secret.json')
      const previous = process.umask(0o000)
      try {
        await writeFileAtomic(file, 'one')
      } finally {
        process.umask(previous)
      }
      assert.equal(await modeOf(file), 0o600)
      await fs.chmod(file, 0o644)
      await writeFileAtomic(file, Buffer.from('two'))
      assert.equal(await modeOf(file), 0o600)
      assert.equal(await fs.readFile(file, 'utf8'), 'two')
      assert.deepEqual(await fs.readdir(dir), ['secret.json'])
    }),
  )

  test('a write killed half-way leaves the original intact, and the leftover is swept', () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 'profiles.json')
      await writeFileAtomic(file, 'original')
      const nested = path.join(dir, 'secrets')
      await fs.mkdir(nested)
      // What a killed writer leaves behind: a half-written temp file next to the target.
      // (the last one as the settings store's atomic writer names them)
      const leftovers = [
        path.join(dir, 'profiles.json.0123456789ab.tmp'),
        path.join(nested, 'x.sealed.ba9876543210.tmp'),
        path.join(dir, 'settings.json.tmp-1764300000a1b2c3'),
      ]
      for (const leftover of leftovers) await fs.writeFile(leftover, 'half')
      // Chromium's profile is its own: a file there that merely looks temporary is left alone.
      await fs.mkdir(path.join(dir, 'chromium'))
      const chromiumFile = path.join(dir, 'chromium', 'Cookies.tmp')
      await fs.writeFile(chromiumFile, 'chromium')
      await fs.utimes(chromiumFile, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000))
      const fresh = path.join(dir, 'in-flight.json.aaaaaaaaaaaa.tmp')
      await fs.writeFile(fresh, 'another process is writing')
      const old = new Date(Date.now() - 3600_000)
      for (const leftover of leftovers) await fs.utimes(leftover, old, old)

      const removed = await sweepTemporaryFiles(dir)
      assert.deepEqual(removed.sort(), [...leftovers].sort())
      assert.equal(await fs.readFile(file, 'utf8'), 'original')
      assert.ok(await readFileIfExists(chromiumFile))
      assert.ok(await readFileIfExists(fresh), 'a young temp file may belong to a live writer and stays')
      assert.deepEqual(await sweepTemporaryFiles(dir, { minAgeMs: 0 }), [fresh])
      assert.deepEqual(await sweepTemporaryFiles(path.join(dir, 'missing')), [])
    }))

  test('a writer that fails leaves neither a temp file nor a changed original', () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 'vault.json')
      await writeFileAtomic(file, 'kept')
      await assert.rejects(writeFileAtomic(path.join(dir, 'no-such-folder', 'x.json'), 'lost'), { code: 'ENOENT' })
      assert.deepEqual(await fs.readdir(dir), ['vault.json'])
    }))

  test('concurrent writers in several processes never leave a mixed file', () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 'shared.json')
      const size = 256 * 1024
      const script = `
        import { writeFileAtomic } from ${JSON.stringify(path.resolve('electron/core/secure-files.ts'))}
        const id = process.argv[1]
        for (let round = 0; round < 15; round++) await writeFileAtomic(${JSON.stringify(file)}, id.repeat(${size}))
      `
      const writers = ['a', 'b', 'c'].map(
        (id) =>
          new Promise<void>((resolve, reject) => {
            const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, id], { stdio: ['ignore', 'ignore', 'inherit'] })
            child.on('error', reject)
            child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer ${id} exited with ${code}`))))
          }),
      )
      // In-process writers too, racing with the children.
      const local = Array.from({ length: 10 }, (_, index) => writeFileAtomic(file, String(index % 10).repeat(size)))
      const reads: string[] = []
      let done = false
      const reader = (async () => {
        while (!done) {
          const content = await readFileIfExists(file)
          if (content) reads.push(content.toString('latin1'))
          await new Promise((resolve) => setTimeout(resolve, 2))
        }
      })()
      await Promise.all([...writers, ...local])
      done = true
      await reader
      const final = await fs.readFile(file, 'latin1')
      for (const content of [...reads, final]) {
        assert.equal(content.length, size)
        assert.equal(content, (content[0] ?? '').repeat(size), 'a file holds one writer’s content only')
      }
      assert.deepEqual(await fs.readdir(dir), ['shared.json'])
    }))

  test("in a user's folder (a batch's --out) only VK Depot's own old temp files go: not new ones, not the user's, not below", () =>
    withTempDir(async (dir) => {
      const names = ['VF3A.png.0123456789ab.vkd-tmp', 'VF3B.png.ba9876543210.vkd-tmp', 'report.docx.tmp', 'VF3C.png', 'notes.0123456789ab.tmp']
      for (const name of names) await fs.writeFile(path.join(dir, name), 'x')
      await fs.mkdir(path.join(dir, 'sub'))
      await fs.writeFile(path.join(dir, 'sub', 'old.png.0123456789ab.vkd-tmp'), 'x')
      const hourAgo = new Date(Date.now() - 3600_000)
      for (const name of [...names.filter((n) => n !== 'VF3B.png.ba9876543210.vkd-tmp'), 'sub/old.png.0123456789ab.vkd-tmp'])
        await fs.utimes(path.join(dir, name), hourAgo, hourAgo)
      assert.deepEqual(await sweepOwnTempFilesIn(dir), [path.join(dir, 'VF3A.png.0123456789ab.vkd-tmp')])
      assert.deepEqual((await fs.readdir(dir)).sort(), ['VF3B.png.ba9876543210.vkd-tmp', 'VF3C.png', 'notes.0123456789ab.tmp', 'report.docx.tmp', 'sub'].sort())
      assert.deepEqual(await sweepOwnTempFilesIn(path.join(dir, 'missing')), [])
    }))

  test('readFileIfExists returns undefined for a missing file', () =>
    withTempDir(async (dir) => {
      assert.equal(await readFileIfExists(path.join(dir, 'nope')), undefined)
    }))
})

describe('default data folder', () => {
  test('VKEY_HOME wins', () => {
    assert.equal(defaultDataFolder({ VKEY_HOME: '/srv/vkey' }, 'linux', '/home/ana'), '/srv/vkey')
  })
  test('the folder Electron uses for "VK Depot" on each platform', () => {
    assert.equal(defaultDataFolder({}, 'linux', '/home/ana'), '/home/ana/.config/VK Depot')
    assert.equal(defaultDataFolder({ XDG_CONFIG_HOME: '/x/conf' }, 'linux', '/home/ana'), '/x/conf/VK Depot')
    assert.equal(defaultDataFolder({ XDG_CONFIG_HOME: 'relative' }, 'linux', '/home/ana'), '/home/ana/.config/VK Depot')
    assert.equal(defaultDataFolder({}, 'darwin', '/Users/ana'), '/Users/ana/Library/Application Support/VK Depot')
    assert.equal(defaultDataFolder({ APPDATA: 'C:\\Users\\ana\\AppData\\Roaming' }, 'win32', 'C:\\Users\\ana'), 'C:\\Users\\ana\\AppData\\Roaming\\VK Depot')
    assert.equal(defaultDataFolder({}, 'win32', 'C:\\Users\\ana'), 'C:\\Users\\ana\\AppData\\Roaming\\VK Depot')
  })
})

test(
  'the blocking writer (the QR worker thread) writes the same way: owner-only whatever the umask (one that would leave it read-only too), replaced in place, no temp file left when it fails',
  { skip: !posix && 'POSIX modes only' },
  () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 'VF3TEST0000000001.png')
      const previous = process.umask(0o277)
      try {
        writeFileAtomicSync(file, Buffer.from('one'))
      } finally {
        process.umask(previous)
      }
      assert.equal(await modeOf(file), 0o600)
      await fs.chmod(file, 0o644)
      writeFileAtomicSync(file, Buffer.from('two'))
      assert.equal(await modeOf(file), 0o600)
      assert.equal(await fs.readFile(file, 'utf8'), 'two')
      const folder = path.join(dir, 'a-folder')
      await fs.mkdir(folder)
      assert.throws(() => writeFileAtomicSync(folder, Buffer.from('x')), { code: 'EISDIR' })
      assert.deepEqual((await fs.readdir(dir)).sort(), ['VF3TEST0000000001.png', 'a-folder'])
    }),
)
