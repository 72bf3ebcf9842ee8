/**
 * Figure 4 — import: N CarData files read, parsed and validated by importCarDataFiles (what
 * `vkey batch` and the app's import do), files in the page cache. A bare readFile +
 * JSON.parse of the same files is printed beside it for scale.
 *
 * Figure 5 — QR: the median time to render one handover QR (a real token from the
 * simulator, payload built by buildHandoverPayload) as PNG and as SVG, beside qrcode's own
 * PNG and SVG writers on the same payload; the PNG is decoded with zbarimg.
 */
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import QRCode from 'qrcode'
import { importCarDataFiles } from '../../electron/core/cardata-files'
import type { TokenResult } from '../../electron/core/psa-client'
import { renderHandoverQr } from '../../electron/core/qr'
import { buildHandoverPayload } from '../../shared/qr-payload'
import { collect, log, median, now, removeQuietly, round, tempDir, vinFor, writeCarDataFiles } from './util'

export interface ImportFigure {
  files: number
  repetitions: number
  runsMs: number[]
  medianMs: number
  /** readFile + JSON.parse of the same files, for scale. */
  bareMedianMs: number
}

export async function importFigure(options: { files: number; repetitions: number }): Promise<ImportFigure> {
  const root = await tempDir('vkey-bench-import-')
  try {
    const paths = await writeCarDataFiles(root, options.files)
    const ours = async (): Promise<number> => {
      collect()
      const started = now()
      const result = await importCarDataFiles(paths)
      const ms = now() - started
      if (result.vehicles.length !== options.files || result.issues.length)
        throw new Error(`import: ${result.vehicles.length} vehicles, ${result.issues.length} issues`)
      return ms
    }
    const bare = async (): Promise<number> => {
      collect()
      const started = now()
      let n = 0
      for (const path of paths) n += (JSON.parse(await readFile(path, 'utf8')) as { vin?: string }).vin ? 1 : 0
      const ms = now() - started
      if (n !== options.files) throw new Error('bare import miscounted')
      return ms
    }
    await ours()
    await bare()
    const runsMs: number[] = []
    const bareMs: number[] = []
    for (let r = 0; r < options.repetitions; r++) {
      runsMs.push(await ours())
      bareMs.push(await bare())
    }
    const figure = {
      files: options.files,
      repetitions: options.repetitions,
      runsMs: runsMs.map((v) => round(v, 1)),
      medianMs: round(median(runsMs), 1),
      bareMedianMs: round(median(bareMs), 1),
    }
    log(`4. import ${options.files} files: ${figure.medianMs} ms (bare readFile+JSON.parse ${figure.bareMedianMs} ms)`)
    return figure
  } finally {
    await removeQuietly(root)
  }
}

export interface QrFigure {
  payloadBytes: number
  repetitions: number
  pngMedianMs: number
  svgMedianMs: number
  pngBytes: number
  svgBytes: number
  /** The same payload through qrcode's own PNG and SVG writers (what renderHandoverQr used before issue #10). */
  libraryPngMedianMs: number
  librarySvgMedianMs: number
  /** Our PNG decoded by zbarimg to the exact payload. */
  decoded: boolean
  pixelsPerModule: number
}

export async function qrFigure(sample: TokenResult, options: { repetitions: number }): Promise<QrFigure> {
  const payload = buildHandoverPayload({
    vin: vinFor(1),
    accessToken: sample.accessToken,
    tokenType: sample.tokenType,
    expires: sample.expires,
    tokenSignature: sample.tokenSignature,
  })
  const segments = [{ mode: 'byte' as const, data: Buffer.from(payload, 'utf8') }]
  let pngBytes = 0
  let svgBytes = 0
  let lastPng: Buffer = Buffer.alloc(0)
  const timed = async (work: () => Promise<unknown>): Promise<number> => {
    const started = now()
    await work()
    return now() - started
  }
  const png = () =>
    timed(async () => {
      lastPng = await renderHandoverQr(payload, 'png')
      pngBytes = lastPng.length
    })
  const svg = () =>
    timed(async () => {
      svgBytes = Buffer.byteLength(await renderHandoverQr(payload, 'svg'))
    })
  const libPng = () => timed(() => QRCode.toBuffer(segments, { type: 'png', errorCorrectionLevel: 'M', margin: 4, scale: 8 }))
  const libSvg = () => timed(() => QRCode.toString(segments, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 }))
  for (let i = 0; i < 5; i++) {
    await png()
    await svg()
    await libPng()
    await libSvg()
  }
  collect()
  const pngMs: number[] = []
  const svgMs: number[] = []
  const libPngMs: number[] = []
  const libSvgMs: number[] = []
  for (let r = 0; r < options.repetitions; r++) {
    pngMs.push(await png())
    svgMs.push(await svg())
    if (r % 5 === 0) libPngMs.push(await libPng()) // slow: fewer runs
    libSvgMs.push(await libSvg())
  }
  // The real scanner on our PNG, and its pixels per module.
  const dir = await tempDir('vkey-bench-qr-')
  let decoded = false
  try {
    const file = join(dir, 'qr.png')
    await writeFile(file, lastPng)
    const { stdout } = await promisify(execFile)('zbarimg', ['--raw', '-q', file], { encoding: 'utf8' })
    decoded = stdout.replace(/\n$/, '') === payload
  } catch {
    // zbarimg found no code: decoded stays false
  } finally {
    await removeQuietly(dir)
  }
  const modules = QRCode.create(segments, { errorCorrectionLevel: 'M' }).modules.size
  const figure: QrFigure = {
    payloadBytes: Buffer.byteLength(payload),
    repetitions: options.repetitions,
    pngMedianMs: round(median(pngMs), 2),
    svgMedianMs: round(median(svgMs), 2),
    pngBytes,
    svgBytes,
    libraryPngMedianMs: round(median(libPngMs), 2),
    librarySvgMedianMs: round(median(libSvgMs), 2),
    decoded,
    pixelsPerModule: lastPng.readUInt32BE(16) / (modules + 8),
  }
  log(
    `5. QR (${figure.payloadBytes}-byte payload): PNG ${figure.pngMedianMs} ms (qrcode ${figure.libraryPngMedianMs} ms), SVG ${figure.svgMedianMs} ms (qrcode ${figure.librarySvgMedianMs} ms), decoded ${decoded}, ${figure.pixelsPerModule} px/module`,
  )
  return figure
}
