/**
 * Ports for servers a test stops and starts again on the same port (a simulator coming back,
 * a PostgreSQL restarted), or that must be told their port before they listen (PostgreSQL).
 *
 * Everything else listens on port 0 and takes what the OS gives. A port the OS gave and
 * a server then released can be handed out again at once, to a parallel test's listen(0)
 * or outgoing connection; so these ports come from below the OS's ephemeral range
 * (/proc/sys/net/ipv4/ip_local_port_range), which the OS never hands out by itself, and
 * each is reserved for the whole run: a lock file in the run's folder (VKEY_TEST_RUN_DIR,
 * set by scripts/test.sh) keeps every other test process of the run off it.
 */
import { readFileSync } from 'node:fs'
import { mkdir, open } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { randomInt } from 'node:crypto'

const taken = new Set<number>()

/** The lowest port of the OS's ephemeral range (32768 on Linux unless changed). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    if (Number.isInteger(low) && low > 2048) return low
  } catch {
    // not Linux: IANA's dynamic range starts at 49152
  }
  return process.platform === 'linux' ? 32768 : 49152
}

function listensFreely(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)))
  })
}

/** Reserves the port for this run (a lock file), or says another test process has it. */
async function reserve(port: number): Promise<boolean> {
  if (taken.has(port)) return false
  const runDir = process.env.VKEY_TEST_RUN_DIR
  if (runDir) {
    const dir = join(runDir, 'ports')
    await mkdir(dir, { recursive: true })
    try {
      await (await open(join(dir, String(port)), 'wx')).close()
    } catch {
      return false
    }
  }
  taken.add(port)
  return true
}

/**
 * A free port on `host` that no other test of this run will use, outside the range the OS
 * hands out: a server may stop and start on it again without a parallel test taking it.
 */
export async function reservedPort(host = '127.0.0.1'): Promise<number> {
  const high = ephemeralLow() - 1
  const low = Math.max(1025, high - 12_000)
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = randomInt(low, high + 1)
    if (!(await reserve(port))) continue
    if (await listensFreely(port, host)) return port
  }
  throw new Error(`no free port between ${low} and ${high} after 200 tries`)
}
