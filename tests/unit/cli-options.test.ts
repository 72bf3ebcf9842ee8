/**
 * Every exit status of `vkey` is in `vkey --help`, with what it means, and in the README.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { EXIT, EXIT_MEANINGS } from '../../shared/errors'
import { ROOT, vkey } from '../helpers/depot-env'

/** Nothing here may touch a data folder: one that cannot exist. */
const env = { ...process.env, VKEY_HOME: '/nonexistent-vkey-home' }

test('vkey --help lists every exit status with its meaning, 130 (interrupted) included; the README lists the same codes', async () => {
  const help = await vkey(['--help'], env)
  assert.equal(help.code, 0)
  const block = help.stdout.slice(help.stdout.indexOf('Exit codes:'))
  for (const name of Object.keys(EXIT) as (keyof typeof EXIT)[]) {
    assert.ok(block.includes(`${String(EXIT[name]).padStart(3)}  ${EXIT_MEANINGS[name]}`), `vkey --help explains exit ${EXIT[name]}:\n${block}`)
  }
  assert.match(block, /^ {2}130 {2}interrupted: the first Ctrl-C or SIGTERM cancels/m)
  assert.equal((await vkey(['help'], env)).stdout, help.stdout)

  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const cliSection = readme.slice(readme.indexOf('## The command line'), readme.indexOf('\n## ', readme.indexOf('## The command line') + 1))
  const documented = [...cliSection.matchAll(/^\| `(\d+)` \|/gm)].map((m) => Number(m[1]))
  assert.deepEqual(documented, Object.values(EXIT), "the README's exit-code table lists every code, in order")
})
