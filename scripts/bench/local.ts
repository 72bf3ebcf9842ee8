/**
 * Figure 4 — import: N CarData files read, parsed and validated by importCarDataFiles (what
 * `vkey batch` and the app's import do), files in the page cache. A bare readFile +
 * JSON.parse of the same files is printed beside it for scale.
 *
 * Figure 5 — QR: the median time to render one handover QR (a real token from the
 * simulator, payload built by buildHandoverPayload) as PNG and as SVG.
 */
import { readFile } from 'node:fs/promises'
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
      if (result.vehicles.length !== options.files || result.issues.length) throw new Error(`import: ${result.vehicles.length} vehicles, ${result.issues.length} issues`)
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
    const figure = { files: options.files, repetitions: options.repetitions, runsMs: runsMs.map((v) => round(v, 1)), medianMs: round(median(runsMs), 1), bareMedianMs: round(median(bareMs), 1) }
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
}

export async function qrFigure(sample: TokenResult, options: { repetitions: number }): Promise<QrFigure> {
  const payload = buildHandoverPayload({ vin: vinFor(1), accessToken: sample.accessToken, tokenType: sample.tokenType, expires: sample.expires, tokenSignature: sample.tokenSignature })
  let pngBytes = 0
  let svgBytes = 0
  const png = async (): Promise<number> => {
    const started = now()
    pngBytes = (await renderHandoverQr(payload, 'png')).length
    return now() - started
  }
  const svg = async (): Promise<number> => {
    const started = now()
    svgBytes = Buffer.byteLength(await renderHandoverQr(payload, 'svg'))
    return now() - started
  }
  for (let i = 0; i < 5; i++) {
    await png()
    await svg()
  }
  collect()
  const pngMs: number[] = []
  const svgMs: number[] = []
  for (let r = 0; r < options.repetitions; r++) {
    pngMs.push(await png())
    svgMs.push(await svg())
  }
  const figure = { payloadBytes: Buffer.byteLength(payload), repetitions: options.repetitions, pngMedianMs: round(median(pngMs), 2), svgMedianMs: round(median(svgMs), 2), pngBytes, svgBytes }
  log(`5. QR (${figure.payloadBytes}-byte payload): PNG ${figure.pngMedianMs} ms, SVG ${figure.svgMedianMs} ms`)
  return figure
}
