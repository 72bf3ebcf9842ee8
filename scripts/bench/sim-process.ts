/**
 * The PSA simulator in its own process for `npm run bench`, so the client under test has a
 * core (and an event loop) to itself: a simulator in the same loop would steal its CPU.
 *
 *   node --import tsx scripts/bench/sim-process.ts <material folder>
 *
 * Prints one JSON line `{ baseUrl, dir }` once it listens, then answers one JSON line per
 * command read on stdin: `latency <ms>` sets the added latency, `stats` returns the
 * counters (and forgets the per-request log). Closes when stdin ends.
 *
 * Rate limits are set so they never bind: a day limit of 10^9, and a burst limit of 10^6 per
 * second. By default the simulator advertises a burst limit of 10 per second
 * (X-RateLimit-Remaining-2 counting down to 0) even with the burst fault off, and the batch
 * honours that by pausing a second — which would measure the advertised limit, not the tool.
 */
import { createInterface } from 'node:readline'
import { startSimulator } from '../../electron/core/simulator'

const dir = process.argv[2]
if (!dir) {
  process.stderr.write('usage: sim-process.ts <material folder>\n')
  process.exit(2)
}

const sim = await startSimulator({ dir, port: 0, dayLimit: 1_000_000_000 })
sim.faults.burstPerSecond = 1_000_000
process.stdout.write(`${JSON.stringify({ baseUrl: sim.baseUrl, dir: sim.material.dir })}\n`)

const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  const [command, arg] = line.trim().split(/\s+/)
  if (command === 'latency') {
    sim.faults.latencyMs = Number(arg ?? 0)
    process.stdout.write(`${JSON.stringify({ ok: true, latencyMs: sim.faults.latencyMs })}\n`)
  } else if (command === 'stats') {
    process.stdout.write(`${JSON.stringify({ ok: true, stats: sim.stats })}\n`)
    sim.requests.length = 0
  } else {
    process.stdout.write(`${JSON.stringify({ ok: false, error: `unknown command ${command}` })}\n`)
  }
})
lines.on('close', () => {
  void sim.close().then(() => process.exit(0))
})
