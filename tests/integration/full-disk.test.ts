/**
 * A nearly full disk (a real 24 MB tmpfs): a key PSA issues while the disk fills is still
 * recorded, in the room the data folder keeps for keys (ledger.reserve); the next request is
 * refused with nothing sent; once space is freed, requests go again. PSA's count and the
 * ledger's stay equal throughout.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'node:test'
import { RESERVE_BYTES, RESERVE_FILE } from '../../electron/core/ledger-reserve'
import { startSimulator } from '../../electron/core/simulator'
import { carDataJson, escapeRe, setupDepot, startVkey, tempFolder, testHandlers, vinFor, vkey, writeVehicleFiles } from '../helpers/depot-env'
import { waitUntil } from '../helpers/wait'

/** A small tmpfs (24 MB unless `options` say otherwise), or why there is none (mounting needs root and a kernel that lets this process). */
function smallDisk(options = 'size=24m'): { dir: string; unmount: () => void } | string {
  const dir = mkdtempSync(join(tmpdir(), 'vkey-small-disk-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `${options},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' })
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    return `cannot mount a small tmpfs here (${String((error as { stderr?: Buffer }).stderr ?? error).trim()})`
  }
  return {
    dir,
    unmount: () => {
      execFileSync('umount', ['-l', dir])
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Fills the disk holding `dir` but `leave` bytes; returns the file that holds the space. */
function fill(dir: string, name: string, leave = 0): string {
  const file = join(dir, name)
  const fd = openSync(file, 'w')
  const chunk = Buffer.alloc(64 * 1024, 1)
  try {
    for (;;) writeSync(fd, chunk)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
  }
  try {
    for (;;) writeSync(fd, chunk, 0, 512)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
  } finally {
    closeSync(fd)
  }
  if (leave) truncateSync(file, statSync(file).size - leave)
  return file
}

const disk = smallDisk()
if (typeof disk === 'string') console.log(`# full-disk test skipped: ${disk}`)
else disk.unmount()

test(
  'a key PSA issues while the disk fills is recorded in the room kept for keys; the next request is refused with nothing sent, until space is freed',
  { skip: typeof disk === 'string', timeout: 90_000 },
  async (t) => {
    const small = smallDisk()
    assert.ok(typeof small !== 'string', String(small))
    const { env, dataDir, simulator } = await setupDepot(t, { root: small.dir })
    t.after(small.unmount) // after the depot and the simulator close (hooks run in the order they were added)
    const cars = await tempFolder(t)
    const car = async (n: number) => {
      const file = join(cars, `${n}.json`)
      await writeFile(file, carDataJson(vinFor(n)))
      return file
    }
    assert.equal((await vkey(['token', '--cardata', await car(1), '--duration', '1h'], env)).code, 0)
    assert.equal(statSync(join(dataDir, RESERVE_FILE)).size, RESERVE_BYTES, 'the room for keys is kept')

    // A request on its way to PSA when the disk fills up to the last byte.
    let answer!: () => void
    simulator.faults.hold = new Promise((resolve) => (answer = resolve))
    const run = startVkey(t, ['token', '--cardata', await car(2), '--duration', '1h'], env)
    await waitUntil(() => simulator.requests.length === 2, 'the second request at PSA')
    const ballast = fill(small.dir, 'ballast')
    answer()
    const { code, stdout, stderr } = await run.exited
    assert.equal(code, 0, stderr)
    assert.match(stdout, /Token issued/)

    // The room it used is gone with the rest of the disk (1 MB left): nothing more is sent until space is freed.
    assert.equal(statSync(join(dataDir, RESERVE_FILE), { throwIfNoEntry: false }), undefined, 'the room for keys was given to the ledger')
    const more = fill(small.dir, 'more', 1024 * 1024) // room to open the ledger and claim, not to keep 4 MB
    simulator.faults.hold = null
    const refused = await vkey(['token', '--cardata', await car(3), '--duration', '1h'], env)
    assert.equal(refused.code, 3, refused.stderr)
    assert.match(
      refused.stderr,
      /The disk holding .* is nearly full: VK Depot keeps 4 MB there \(ledger\.reserve\) .* Nothing was sent\. Free space, then run the command again\./,
    )
    assert.equal(simulator.requests.length, 2, 'nothing sent')

    rmSync(more)
    rmSync(ballast)
    const again = await vkey(['token', '--cardata', await car(3), '--duration', '1h'], env)
    assert.equal(again.code, 0, again.stderr)
    assert.equal(statSync(join(dataDir, RESERVE_FILE)).size, RESERVE_BYTES, 'the room is made again')
    const listed = JSON.parse((await vkey(['list', '--json'], env)).stdout) as { vin: string; status: string }[]
    assert.deepEqual(
      listed
        .filter((r) => r.status === 'issued')
        .map((r) => r.vin)
        .sort(),
      [1, 2, 3].map(vinFor),
    )
    assert.equal(simulator.stats.tokensIssued, 3, 'PSA issued 3 keys; the ledger holds 3')
  },
)

test(
  "a batch's QR folder on a full disk: refused before anything is sent; a disk that fills mid-batch stops the sending, every key is recorded and each one without its file is named; the same command again writes them, sending nothing for them",
  { skip: typeof disk === 'string', timeout: 90_000 },
  async (t) => {
    const small = smallDisk()
    assert.ok(typeof small !== 'string', String(small))
    t.after(small.unmount)
    const { env, simulator } = await setupDepot(t)
    const CARS = 8
    const cars = await writeVehicleFiles(await tempFolder(t), CARS, 300)
    const out = join(small.dir, 'qr')
    const batch = ['batch', ...cars, '--duration', '1h', '--concurrency', '2', '--out', out]

    const ballast = fill(small.dir, 'ballast')
    const refused = await vkey(batch, env)
    assert.equal(refused.code, 3, refused.stderr)
    assert.match(refused.stderr, new RegExp(`^vkey: ${escapeRe(out)} has 0 kB free; ${CARS} QR files need about \\d+ kB\\. Nothing was sent\\.`))
    assert.equal(simulator.requests.length, 0, 'nothing sent')
    rmSync(ballast)

    // Two requests held at PSA while the disk fills: their keys come back and their QR files do not fit;
    // the room checked before each request stops the sending there.
    let answer!: () => void
    simulator.faults.hold = new Promise((resolve) => (answer = resolve))
    const running = startVkey(t, batch, env)
    await waitUntil(() => simulator.requests.length === 2, 'two requests at PSA')
    const full = fill(small.dir, 'full')
    answer()
    const { code, stdout, stderr } = await running.exited
    assert.equal(code, 3, stderr)
    assert.match(stderr, /could not be written to .*: the disk is full\. Free space there \(or choose another --out\), then run the same command again/)
    const listed = (JSON.parse((await vkey(['list', '--json'], env)).stdout) as { id: string; vin: string; status: string }[]).filter(
      (r) => r.status === 'issued',
    )
    assert.equal(listed.length, simulator.stats.tokensIssued, 'every key PSA issued is recorded')
    assert.equal(listed.length, 2, 'only the two requests already at PSA: none went out once the disk was full')
    const written = readdirSync(out).filter((n) => n.endsWith('.png'))
    const named = /QR files not written: (\d+) \(([^)]*(?:\)[^)]*)*)\); their keys are stored\./.exec(stdout)
    assert.ok(named, stdout)
    for (const key of listed) {
      const inFolder = written.includes(`${key.vin}.png`)
      assert.equal(stdout.includes(`${key.vin} (${key.id})`), !inFolder, `${key.vin}: ${inFolder ? 'written, not named' : 'named as not written'}`)
    }
    assert.equal(Number(named[1]) + written.length, listed.length, 'each key has its file or is named')
    assert.match(stdout, new RegExp(`not sent: ${CARS - listed.length} \\(the sending stopped: their QR files could not have been written\\)`))

    rmSync(full)
    simulator.faults.hold = null
    const again = await vkey(batch, env)
    assert.equal(again.code, 0, again.stderr)
    assert.deepEqual(readdirSync(out).sort(), cars.map((_, i) => `${vinFor(300 + i)}.png`).sort())
    assert.equal(simulator.stats.tokensIssued, CARS, 'the keys already issued were not asked for again')

    // The files of the batch's last keys fail (nothing left to stop): the same command, a quarter of an hour
    // later (its window ends later than those keys), still resumes that batch and asks PSA for nothing.
    const last = await writeVehicleFiles(await tempFolder(t), 2, 320)
    const lastBatch = ['batch', ...last, '--duration', '1h', '--concurrency', '2', '--out', out]
    simulator.faults.hold = new Promise((resolve) => (answer = resolve))
    const ending = startVkey(t, lastBatch, env)
    await waitUntil(() => simulator.requests.length === CARS + 2, 'the last two requests at PSA')
    const fullAgain = fill(small.dir, 'full-again')
    answer()
    const ended = await ending.exited
    assert.equal(ended.code, 3, ended.stderr)
    assert.match(ended.stdout, /QR files not written: 2 /)
    rmSync(fullAgain)
    simulator.faults.hold = null
    const later = () => new Date(Date.now() + 15 * 60_000)
    const resumed = await vkey(lastBatch, env, '', later)
    assert.equal(resumed.code, 0, resumed.stderr)
    assert.equal(simulator.stats.tokensIssued, CARS + 2, 'no key asked again, none renewed')
    assert.ok(readdirSync(out).includes(`${vinFor(320)}.png`) && readdirSync(out).includes(`${vinFor(321)}.png`))
  },
)

test(
  'QR folders checked before anything is sent: a disk out of inodes refuses a batch and a token --qr; a queued request whose --qr folder is full stays queued, in every flush, and the way out it names works',
  { skip: typeof disk === 'string', timeout: 90_000 },
  async (t) => {
    // 16 inodes, all but one taken: room in bytes, none for files.
    const small = smallDisk('size=1m,nr_inodes=16')
    assert.ok(typeof small !== 'string', String(small))
    t.after(small.unmount)
    const few = small.dir
    for (let i = 0; ; i += 1) {
      try {
        closeSync(openSync(join(few, `taken-${i}`), 'w'))
      } catch {
        break
      }
    }
    const { env, simulator, dataDir } = await setupDepot(t, { restartable: true })
    const cars = await writeVehicleFiles(await tempFolder(t), 3, 400)
    const refused = await vkey(['batch', ...cars, '--duration', '1h', '--out', join(few, 'qr')], env)
    assert.equal(refused.code, 3, refused.stderr)
    assert.match(refused.stderr, /has 0 free inodes \(files\) left; 3 QR files need 7\. Nothing was sent\./)
    assert.equal(simulator.requests.length, 0, 'nothing sent')

    // vkey token --qr into that folder is refused the same way, nothing sent.
    const qr = join(few, 'car.png')
    const token = await vkey(['token', '--cardata', cars[0]!, '--duration', '1h', '--qr', qr], env)
    assert.equal(token.code, 3, token.stderr)
    assert.match(
      token.stderr,
      new RegExp(`^vkey: --qr ${escapeRe(qr)}: its folder has 0 free inodes \\(files\\) left; 1 QR file needs 2\\. Nothing was sent\\.`),
    )
    assert.equal(simulator.requests.length, 0, 'nothing sent')

    // A request queued while PSA is down and the folder had room; the folder fills before the flush.
    const port = simulator.port
    await simulator.close()
    rmSync(join(few, 'taken-0'))
    rmSync(join(few, 'taken-1'))
    assert.equal((await vkey(['token', '--cardata', cars[0]!, '--duration', '1h', '--qr', qr], env)).code, 6)
    closeSync(openSync(join(few, 'taken-0'), 'w'))
    closeSync(openSync(join(few, 'taken-1'), 'w'))
    const back = await startSimulator({ dir: simulator.material.dir, port })
    t.after(() => back.close())
    // Every flush checks it as it goes: `vkey queue flush`, and the one a `vkey token` for another car runs first.
    const flush = await vkey(['queue', 'flush'], env)
    assert.equal(flush.code, 6, flush.stderr)
    const notSent = new RegExp(
      `vkey: the queued request for ${vinFor(400)} \\((\\S+)\\) was not sent: the folder of its QR file ${escapeRe(qr)} has 0 free inodes \\(files\\) left; 1 QR file needs 2\\. Free space there, then \`vkey queue flush\`; or \`(vkey queue cancel \\S+)\` and ask again with another --qr\\.`,
    )
    assert.match(flush.stderr, notSent)
    const other = await vkey(['token', '--cardata', cars[1]!, '--duration', '1h'], env)
    assert.equal(other.code, 0, other.stderr)
    assert.match(other.stderr, notSent)
    assert.equal(back.requests.length, 1, 'only the other car was sent')
    assert.equal((JSON.parse((await vkey(['queue', '--json'], env)).stdout) as unknown[]).length, 1, 'still queued')
    // The app says why it waits: held for room, not for the network, and a flush does not make it "offline".
    const app = await testHandlers(t, dataDir)
    const [held] = (await app['handovers:list']({ status: 'queued' })).handovers
    assert.equal(held?.heldForRoom?.file, qr)
    assert.match(held?.heldForRoom?.shortfall ?? '', /^has 0 free inodes \(files\) left; 1 QR file needs 2$/)
    assert.deepEqual(await app['queue:flush'](undefined), { sent: 0, stillQueued: 1, heldForRoom: 1 })
    assert.equal((await app['app:info'](undefined)).online, true, 'PSA was not tried: not offline')
    assert.equal(back.requests.length, 1, 'the app sent nothing for it either')
    // The way out it prints works as printed.
    const cancel = notSent.exec(flush.stderr)![2]!
    assert.equal((await vkey(cancel.split(' ').slice(1), env)).code, 0)
    assert.equal((JSON.parse((await vkey(['queue', '--json'], env)).stdout) as unknown[]).length, 0)
    const json = await vkey(['queue', 'flush', '--json'], env)
    assert.equal(json.code, 2)
    assert.match(json.stderr, /vkey queue flush: --json goes with `vkey queue list --json`/)
  },
)
