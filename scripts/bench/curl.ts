/**
 * Figure 2 — against the documented curl call. The same N requests as N sequential curl
 * processes (a shell loop: --cert, --key, --cacert, the Basic header, the JSON body, as on
 * the PSA page), against one `vkey batch --out DIR` process (its default concurrency, cold
 * start included, handover records sealed and written, a QR PNG written per vehicle). Then one cold `vkey token` process
 * against one curl process.
 *
 * The simulator runs in its own process with no added latency, so this is the tool's cost.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DEFAULT_CONCURRENCY } from '../../electron/core/batch'
import { buildTokenRequest } from '../../electron/core/psa-request'
import { collect, freshDataFolder, log, median, removeQuietly, round, run, tempDir, VKEY_BIN, writeCarDataFiles, type SimulatorChild } from './util'

export interface CurlFigure {
  requests: number
  repetitions: number
  vkeyConcurrency: number
  curlTotalMs: number[]
  vkeyBatchMs: number[]
  curlMedianMs: number
  vkeyMedianMs: number
  /** median(curl) / median(vkey batch): how many times faster vkey is. */
  speedup: number
  curlPerRequestMs: number
  single: {
    repetitions: number
    vkeyTokenMs: number[]
    curlMs: number[]
    vkeyTokenMedianMs: number
    curlMedianMs: number
    /** `node -e 0` in the same environment: what any Node program pays before its first line (NODE_EXTRA_CA_CERTS, when set, is read here). */
    nodeMs: number[]
    nodeMedianMs: number
    /** median(vkey token) / median(one curl) */
    ratio: number
  }
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`

/** The documented call for one CarData file, as a curl command line. */
function curlArgs(sim: SimulatorChild, carData: { carData: string; carDataSignature: string }, out: string): string[] {
  const m = sim.material
  const req = buildTokenRequest(
    { baseUrl: sim.baseUrl, clientId: m.credentials.clientId, login: m.credentials.login, password: m.credentials.password },
    { carData: carData.carData, carDataSignature: carData.carDataSignature, durationSeconds: 3600 },
  )
  return [
    '-sS',
    '-o',
    out,
    '-w',
    '%{http_code}\\n',
    '--cert',
    m.files.partnerCert,
    '--key',
    m.files.partnerKey,
    '--cacert',
    m.files.serverCa,
    '-H',
    `accept: ${req.headers.accept}`,
    '-H',
    `content-type: ${req.headers['content-type']}`,
    '-H',
    `authorization: ${req.headers.authorization}`,
    '--data-binary',
    req.body,
    req.url,
  ]
}

export async function curlFigure(sim: SimulatorChild, options: { requests: number; repetitions: number; singleRepetitions: number }): Promise<CurlFigure> {
  await sim.setLatency(0)
  const root = await tempDir('vkey-bench-curl-')
  try {
    const files = await writeCarDataFiles(root, options.requests)
    const cars = await Promise.all(files.map(async (f) => JSON.parse(await readFile(f, 'utf8')) as { carData: string; carDataSignature: string }))
    const outDir = join(root, 'answers')
    await run('mkdir', ['-p', outDir])
    const script = join(root, 'curl-all.sh')
    await writeFile(
      script,
      `#!/bin/bash\nset -u\n${cars
        .map(
          (c, i) =>
            `/usr/bin/curl ${curlArgs(sim, c, join(outDir, `${i}.json`))
              .map(quote)
              .join(' ')}`,
        )
        .join('\n')}\n`,
    )

    const curlAll = async (): Promise<number> => {
      collect()
      const result = await run('bash', [script])
      const ok = result.stdout.split('\n').filter((l) => l === '200').length
      if (ok !== options.requests) throw new Error(`curl: ${ok}/${options.requests} answered 200 (${result.stderr.slice(0, 300)})`)
      return result.wallMs
    }
    const vkeyBatch = async (): Promise<number> => {
      const { dataDir, env } = await freshDataFolder(root, sim)
      collect()
      // With --out, as a technician preparing tomorrow's keys runs it: a QR file per vehicle.
      const qrDir = `${dataDir}-qr`
      const result = await run(process.execPath, [VKEY_BIN, 'batch', ...files, '--duration', '1h', '--out', qrDir, '--json'], { env })
      if (result.code !== 0) throw new Error(`vkey batch exited ${result.code}: ${result.stderr.slice(0, 500)}`)
      const issued = (JSON.parse(result.stdout) as { issued: { qr?: string }[] }).issued
      if (issued.length !== options.requests || issued.some((i) => !i.qr))
        throw new Error(`vkey batch issued ${issued.length}/${options.requests} (with QR files: ${issued.filter((i) => i.qr).length})`)
      await removeQuietly(dataDir)
      await removeQuietly(qrDir)
      return result.wallMs
    }

    // Warm-up both (page cache, the node binary, curl's libraries).
    await run('bash', ['-c', `head -n 6 ${quote(script)} | bash >/dev/null`])
    await vkeyBatch()

    const curlTotalMs: number[] = []
    const vkeyBatchMs: number[] = []
    for (let r = 0; r < options.repetitions; r++) {
      if (r % 2 === 0) {
        curlTotalMs.push(await curlAll())
        vkeyBatchMs.push(await vkeyBatch())
      } else {
        vkeyBatchMs.push(await vkeyBatch())
        curlTotalMs.push(await curlAll())
      }
      log(`2. curl ×${options.requests}: ${round(curlTotalMs.at(-1)!, 0)} ms, vkey batch: ${round(vkeyBatchMs.at(-1)!, 0)} ms`)
    }

    // One cold `vkey token` process against one curl process.
    const { env } = await freshDataFolder(root, sim)
    const vkeyTokenMs: number[] = []
    const curlMs: number[] = []
    const tokenOnce = async (i: number): Promise<void> => {
      const result = await run(process.execPath, [VKEY_BIN, 'token', '--cardata', files[i % files.length]!, '--duration', '1h'], { env })
      if (result.code !== 0) throw new Error(`vkey token exited ${result.code}: ${result.stderr.slice(0, 300)}`)
      vkeyTokenMs.push(result.wallMs)
    }
    const nodeMs: number[] = []
    const nodeOnce = async (): Promise<void> => {
      const result = await run(process.execPath, ['-e', '0'], { env })
      if (result.code !== 0) throw new Error(`node -e 0 exited ${result.code}`)
      nodeMs.push(result.wallMs)
    }
    const curlOnce = async (): Promise<void> => {
      // curl exec'd directly (no shell), like the shell would for one command.
      const args = curlArgs(sim, cars[0]!, join(outDir, 'one.json'))
      const result = await run('/usr/bin/curl', args)
      if (result.stdout.trim() !== '200') throw new Error(`curl: ${result.stdout} ${result.stderr.slice(0, 300)}`)
      curlMs.push(result.wallMs)
    }
    await tokenOnce(0)
    await curlOnce()
    vkeyTokenMs.length = 0
    curlMs.length = 0
    for (let r = 0; r < options.singleRepetitions; r++) {
      collect()
      if (r % 2 === 0) {
        await tokenOnce(r + 1)
        await curlOnce()
      } else {
        await curlOnce()
        await tokenOnce(r + 1)
      }
      await nodeOnce()
    }

    const curlMedianMs = median(curlTotalMs)
    const vkeyMedianMs = median(vkeyBatchMs)
    const figure: CurlFigure = {
      requests: options.requests,
      repetitions: options.repetitions,
      vkeyConcurrency: DEFAULT_CONCURRENCY,
      curlTotalMs: curlTotalMs.map((v) => round(v, 0)),
      vkeyBatchMs: vkeyBatchMs.map((v) => round(v, 0)),
      curlMedianMs: round(curlMedianMs, 0),
      vkeyMedianMs: round(vkeyMedianMs, 0),
      speedup: round(curlMedianMs / vkeyMedianMs, 2),
      curlPerRequestMs: round(curlMedianMs / options.requests, 2),
      single: {
        repetitions: options.singleRepetitions,
        vkeyTokenMs: vkeyTokenMs.map((v) => round(v, 0)),
        curlMs: curlMs.map((v) => round(v, 1)),
        vkeyTokenMedianMs: round(median(vkeyTokenMs), 0),
        curlMedianMs: round(median(curlMs), 1),
        ratio: round(median(vkeyTokenMs) / median(curlMs), 1),
        nodeMs: nodeMs.map((v) => round(v, 0)),
        nodeMedianMs: round(median(nodeMs), 0),
      },
    }
    log(
      `2. speed-up ${figure.speedup}×; vkey token ${figure.single.vkeyTokenMedianMs} ms vs curl ${figure.single.curlMedianMs} ms (node alone ${figure.single.nodeMedianMs} ms)`,
    )
    return figure
  } finally {
    await removeQuietly(root)
  }
}
