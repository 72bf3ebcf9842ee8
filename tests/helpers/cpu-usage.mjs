/**
 * Preloaded into the test processes by scripts/test.sh (`--import`): as a test file's process
 * exits, it writes the processor time (user + system) the file used to
 * $VKEY_TEST_CPU_DIR/<pid>.json, for the timing reporter's table: its own, and its
 * descendants'. Chromium's helpers (renderers, GPU, network) are often not waited for by the
 * process that started them, so they never reach this process's "children" time: every 500 ms
 * the processes below this one are read from /proc, and the figure is the larger of the two
 * sums (a lower bound: what a helper did after its last reading is missed). Daemons a test
 * starts (PostgreSQL, the keyring) leave the tree and are not counted.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'

const dir = process.env.VKEY_TEST_CPU_DIR
const file = process.argv[1]
const TICK_MS = 10 // /proc counts in ticks of 1/100 s on Linux

/** A process's /proc stat fields after "(comm) " (field 3 first), or undefined when it is gone. */
function statOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

/** Ticks each descendant of this process used itself (utime + stime), by pid, at the last reading. */
const seen = new Map()

function readDescendants() {
  const children = new Map()
  let pids
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name))
  } catch {
    return
  }
  const ticks = new Map()
  for (const pid of pids) {
    const fields = statOf(pid)
    if (!fields) continue
    const parent = fields[1]
    if (!children.has(parent)) children.set(parent, [])
    children.get(parent).push(pid)
    ticks.set(pid, Number(fields[11]) + Number(fields[12]))
  }
  const todo = [String(process.pid)]
  while (todo.length) {
    for (const child of children.get(todo.pop()) ?? []) {
      seen.set(child, Math.max(seen.get(child) ?? 0, ticks.get(child) ?? 0))
      todo.push(child)
    }
  }
}

// node --test sets NODE_TEST_CONTEXT in the processes it starts for each file, not in itself.
if (dir && file && process.env.NODE_TEST_CONTEXT) {
  setInterval(readDescendants, 500).unref()
  process.once('exit', () => {
    const own = process.cpuUsage()
    const fields = statOf('self')
    // Fields 16 and 17: the children this process waited for (cutime, cstime).
    const waitedMs = fields ? (Number(fields[13]) + Number(fields[14])) * TICK_MS : 0
    readDescendants()
    const seenMs = [...seen.values()].reduce((sum, ticks) => sum + ticks, 0) * TICK_MS
    const cpuMs = Math.round((own.user + own.system) / 1000) + Math.max(waitedMs, seenMs)
    writeFileSync(`${dir}/${process.pid}.json`, JSON.stringify({ file, cpuMs }))
  })
}
