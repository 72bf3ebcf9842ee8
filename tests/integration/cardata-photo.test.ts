/**
 * CarData from a photo or screenshot of the phone (issue 14): pictures made from the
 * reference encoder's frames with ImageMagick (rotated 8°, blurred, a glare, JPEG quality 60,
 * a grey phone-like border), imported by `vkey token` / `vkey batch` (told by content, not
 * by name) and sent to the simulator over mutual TLS with the exact CarData.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { access, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { importCarDataFile } from '../../electron/core/cardata-files'
import { encodeExportFrames, qrPng } from '../../scripts/cardata-qr'
import { demoExport } from '../helpers/cardata-qr-fixtures'
import { setupDepot, tempFolder, vkey } from '../helpers/depot-env'

const run = promisify(execFile)
const CONVERT = '/usr/bin/convert'
const haveConvert = await access(CONVERT).then(
  () => true,
  () => false,
)
const skip = haveConvert ? false : 'ImageMagick is not installed (apt-get install -y imagemagick): /usr/bin/convert is missing'

/** A phone photo of a code: grey border, rotated 8°, blurred, a soft glare, JPEG quality 60. */
async function photoOf(png: Buffer, dir: string, name: string): Promise<string> {
  const input = join(dir, `${name}-frame.png`)
  const output = join(dir, name)
  await writeFile(input, png)
  await run(CONVERT, [
    input,
    '-bordercolor',
    '#5a5a5a',
    '-border',
    '40',
    '-bordercolor',
    '#202020',
    '-border',
    '12',
    '(',
    '+clone',
    '-fill',
    'black',
    '-colorize',
    '100',
    '-fill',
    'white',
    '-draw',
    'ellipse 300,180 150,90 0,360',
    '-blur',
    '0x40',
    ')',
    '-compose',
    'screen',
    '-define',
    'compose:args=25',
    '-composite',
    '-background',
    '#7f7f7f',
    '-rotate',
    '8',
    '-blur',
    '0x1.2',
    '-quality',
    '60',
    `jpeg:${output}`,
  ])
  return output
}

function capturedCarData(captures: Buffer[]): Array<{ CarData: string; CarData_signature: string }> {
  return captures.map((body) => (JSON.parse(body.toString('utf8')) as { carToken: { CarData: string; CarData_signature: string } }).carToken)
}

test('vkey token --cardata PHOTO (a JPEG named .dat) sends the exact CarData; the UIN and age are shown', { skip }, async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t)
  const dir = join(dataDir, '..')
  const car = demoExport(1, { signatureBytes: 200, timestamp: new Date(Date.now() - 3 * 86_400_000) })
  const { pngs } = await encodeExportFrames(car.text)
  assert.equal(pngs.length, 1, 'this export fits one code')
  const photo = await photoOf(pngs[0] ?? Buffer.alloc(0), dir, 'phone-photo.dat')
  assert.deepEqual([...(await readFile(photo)).subarray(0, 3)], [0xff, 0xd8, 0xff], 'a real JPEG')
  const captures: Buffer[] = []
  simulator.tap = (request) => captures.push(request.body)

  const token = await vkey(['token', '--cardata', photo, '--duration', '1h', '--json'], env)
  assert.equal(token.code, 0, token.stderr)
  assert.deepEqual(capturedCarData(captures), [{ CarData: car.carData, CarData_signature: car.carDataSignature }])
  assert.match(token.stderr, new RegExp(`CarData for ${car.vin}: UIN ${car.uin}, made .*, 3 days ago\\.`))
  assert.equal(simulator.requests.at(-1)?.carDataInner?.uin, car.uin, 'the simulator reads the same UIN with the same function')
})

test('vkey batch with a PNG screenshot and a photo: both vehicles, exact CarData; stale and mismatched CarData warn without refusing', { skip }, async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t)
  const dir = join(dataDir, '..')
  const first = demoExport(2, { signatureBytes: 150 })
  const old = demoExport(3, { signatureBytes: 150, timestamp: new Date(Date.now() - 45 * 86_400_000), innerUin: 'OTHERUIN0003' })
  const screenshot = join(dir, 'screenshot')
  await writeFile(screenshot, (await encodeExportFrames(first.text)).pngs[0] ?? Buffer.alloc(0))
  const photo = await photoOf((await encodeExportFrames(old.text)).pngs[0] ?? Buffer.alloc(0), dir, 'old.jpg')
  const captures: Buffer[] = []
  simulator.tap = (request) => captures.push(request.body)

  const batch = await vkey(['batch', screenshot, photo, '--duration', '2h', '--json'], env)
  assert.equal(batch.code, 0, batch.stderr)
  const sent = capturedCarData(captures)
    .map((c) => c.CarData)
    .sort()
  assert.deepEqual(sent, [first.carData, old.carData].sort())
  assert.match(batch.stderr, /The file says UIN 0A1B2C3D4E5F0003 but its CarData holds UIN OTHERUIN0003/)
  assert.match(batch.stderr, /The CarData is 45 days old \(older than 30\)/)

  const relaxed = await vkey(['batch', photo, '--duration', '2h'], { ...env, VKEY_CARDATA_MAX_AGE_DAYS: '60' })
  assert.doesNotMatch(relaxed.stderr, /days old/)
  const bad = await vkey(['batch', photo, '--duration', '2h'], { ...env, VKEY_CARDATA_MAX_AGE_DAYS: 'soon' })
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /VKEY_CARDATA_MAX_AGE_DAYS must be a whole number/)
})

test('a photo of an unrelated QR code, of no code, or of one part of a loop: a clear error naming the file', { skip }, async (t) => {
  const dir = await tempFolder(t)
  const unrelated = await photoOf(await qrPng('https://example.com/menu'), dir, 'menu.jpg')
  const blank = join(dir, 'wall.png')
  await run(CONVERT, ['-size', '400x300', 'plasma:grey40-grey60', `png:${blank}`])
  const loop = await encodeExportFrames(demoExport(4).text)
  assert.equal(loop.pngs.length, 5)
  const part = join(dir, 'part.png')
  await writeFile(part, loop.pngs[1] ?? Buffer.alloc(0))

  const cases: Array<[string, RegExp]> = [
    [unrelated, /menu\.jpg shows a QR code that is not a VK Depot CarData code/],
    [blank, /wall\.png is a PNG image with no readable QR code/],
    [part, /part\.png shows 1 of the 5 parts of a CarData code/],
  ]
  for (const [file, message] of cases) {
    const result = await importCarDataFile(file)
    assert.equal(result.vehicles.length, 0)
    assert.equal(result.issues.length, 1)
    assert.match(result.issues[0]?.message ?? '', message)
    assert.equal(result.issues[0]?.source, file)
  }
  const { env } = await setupDepot(t)
  const cli = await vkey(['token', '--cardata', unrelated, '--duration', '1h'], env)
  assert.equal(cli.code, 2)
  assert.match(cli.stderr, /menu\.jpg shows a QR code that is not a VK Depot CarData code/)
})
