/**
 * A node:test reporter that prints, after the run, where the time went: each test file's
 * time (the sum of its top-level tests) and, when scripts/test.sh preloads cpu-usage.mjs, the
 * processor time its process and children used (user + system), the slowest files first.
 * scripts/test.sh uses it beside the spec reporter, writing to a file it prints at the end.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const files = new Map()

function fileOf(event) {
  return event.data?.file ?? '(unknown file)'
}

/** Processor time by test file (absolute path), from the files cpu-usage.mjs wrote. */
function cpuByFile() {
  const dir = process.env.VKEY_TEST_CPU_DIR
  const cpu = new Map()
  if (!dir) return cpu
  let names
  try {
    names = readdirSync(dir)
  } catch {
    return cpu
  }
  for (const name of names) {
    try {
      const { file, cpuMs } = JSON.parse(readFileSync(join(dir, name), 'utf8'))
      const key = resolve(file)
      cpu.set(key, (cpu.get(key) ?? 0) + cpuMs)
    } catch {
      // a process that died before it finished writing: no figure for it
    }
  }
  return cpu
}

export default async function* timingReporter(source) {
  const started = Date.now()
  for await (const event of source) {
    if (event.type !== 'test:start' && event.type !== 'test:pass' && event.type !== 'test:fail') continue
    const file = fileOf(event)
    const now = Date.now()
    const entry = files.get(file) ?? { first: now, last: now, topLevel: 0, tests: 0 }
    entry.last = now
    if (event.type !== 'test:start' && event.data.nesting === 0) {
      entry.topLevel += event.data.details?.duration_ms ?? 0
      entry.tests += 1
    }
    files.set(file, entry)
  }
  const cpu = cpuByFile()
  const root = process.cwd()
  const rows = [...files.entries()]
    .map(([file, entry]) => ({ file: file.startsWith(root) ? file.slice(root.length + 1) : file, cpuMs: cpu.get(resolve(file)), ...entry }))
    .sort((a, b) => b.topLevel - a.topLevel)
  const totalCpu = rows.reduce((sum, row) => sum + (row.cpuMs ?? 0), 0)
  const cpuNote = cpu.size
    ? `, processor at least ${(totalCpu / 1000).toFixed(1)} s (user + system, the files' processes and what they started: tests/helpers/cpu-usage.mjs)`
    : ''
  yield `test files by time (sum of their top-level tests), wall ${((Date.now() - started) / 1000).toFixed(1)} s${cpuNote}:\n`
  for (const row of rows) {
    const cpuColumn = cpu.size ? `${row.cpuMs === undefined ? '    ?' : (row.cpuMs / 1000).toFixed(1).padStart(6)} s cpu  ` : ''
    yield `${(row.topLevel / 1000).toFixed(1).padStart(7)} s  ${cpuColumn}${String(row.tests).padStart(3)} tests  ${row.file}\n`
  }
}
