/**
 * docs/architecture.md is the module map a newcomer starts from: every module under
 * electron/ and shared/ is named there (its file name, or `name` in a row for its folder; an
 * index.ts by its folder), and every path the map names exists. A module added without a
 * line, or a line left behind by a move, fails here.
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { test } from 'node:test'
import { ROOT } from '../helpers/depot-env'

const map = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8')

function modules(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.tsx?$/.test(entry.name))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
}

function named(file: string): boolean {
  const parts = file.split('/')
  const name = parts.at(-1)!
  if (name === 'index.ts') return map.includes(`${parts.at(-2)}/`)
  return map.includes(name) || map.includes(`\`${name.replace(/\.tsx?$/, '')}\``)
}

test('docs/architecture.md names every module under electron/ and shared/', () => {
  const missing = [...modules('electron'), ...modules('shared')].filter((file) => !named(file))
  assert.deepEqual(missing, [], 'add a row (or the name to its folder row) in docs/architecture.md')
})

test('every electron/, shared/ or renderer/ path docs/architecture.md names exists', () => {
  const paths = [...map.matchAll(/`((?:electron|shared|renderer)\/[\w./-]+)`/g)].map((m) => m[1]!)
  assert.ok(paths.length > 40, `the map names ${paths.length} paths`)
  const gone = paths.filter((path) => !existsSync(join(ROOT, path)))
  assert.deepEqual(gone, [], 'docs/architecture.md names paths that do not exist')
})
