/**
 * A node:test reporter that prints, after the run, where the time went: each test file's
 * wall time (its first test started to its last ended) and the slowest files first.
 * scripts/test.sh uses it beside the spec reporter, writing to a file it prints at the end.
 */
const files = new Map()

function fileOf(event) {
  return event.data?.file ?? '(unknown file)'
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
  const root = process.cwd()
  const rows = [...files.entries()]
    .map(([file, entry]) => ({ file: file.startsWith(root) ? file.slice(root.length + 1) : file, ...entry }))
    .sort((a, b) => b.topLevel - a.topLevel)
  yield `test files by time (sum of their top-level tests), wall ${((Date.now() - started) / 1000).toFixed(1)} s:\n`
  for (const row of rows) yield `${(row.topLevel / 1000).toFixed(1).padStart(7)} s  ${String(row.tests).padStart(3)} tests  ${row.file}\n`
}
