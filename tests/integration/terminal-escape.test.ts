/**
 * Nothing from outside reaches the terminal raw (issue 9, item 5): a PSA error uuid with
 * an ESC sequence in it, a label with `\x1b[2J` and a file name with control characters
 * are shown as visible escapes in every human line of `vkey`, while `--json` stays exact;
 * labels are refused where they are set, like imports refuse them.
 */
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { labelProblem } from '../../shared/cardata'
import { VkError } from '../../shared/errors'
import { escapeForTerminal } from '../../shared/terminal-text'
import { carDataJson, setupDepot, testHandlers, vinFor, vkey, vkeyProcess } from '../helpers/depot-env'

/** Any character a terminal would act on: C0 but the line ends the writer adds, DEL, C1, bidi controls. */
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u

const HOSTILE = '\x1b[2J\x1b[1;1Hvkey: all good\n\u009b31m\u202eevil'

test('escapeForTerminal shows control, escape and bidi characters as visible escapes and keeps the rest', () => {
  assert.equal(escapeForTerminal('\x1b[2J'), '\\x1b[2J')
  assert.equal(escapeForTerminal('a\nb\tc\rd\x00\x7f'), 'a\\nb\\tc\\rd\\x00\\x7f')
  assert.equal(escapeForTerminal('\u009b31m'), '\\x9b31m')
  assert.equal(escapeForTerminal('x\u202ey\u2066z\u200f'), 'x\\u202ey\\u2066z\\u200f')
  const plain = 'Citroën C5 Aircross — dépôt Lyon 🚗 VF3TEST0000000001 C:\\Users\\atelier'
  assert.equal(escapeForTerminal(plain), plain)
  assert.doesNotMatch(escapeForTerminal(HOSTILE), RAW_CONTROL)
})

test('a PSA error uuid with an ESC sequence is escaped on stderr and in vkey list, exact in --json', async (t) => {
  const { env, dataDir, simulator } = await setupDepot(t)
  const file = join(dataDir, '..', 'car.json')
  await writeFile(file, carDataJson(vinFor(70)))
  simulator.faults.errorUuid = HOSTILE
  simulator.faults.statuses.push(401)

  const refused = await vkeyProcess(['token', '--cardata', file, '--duration', '1h'], env)
  assert.equal(refused.code, 4, refused.stderr)
  assert.doesNotMatch(refused.stderr, RAW_CONTROL)
  assert.ok(refused.stderr.includes('uuid \\x1b[2J\\x1b[1;1Hvkey: all good\\n\\x9b31m\\u202eevil'), refused.stderr)
  assert.equal(refused.stderr.trim().split('\n').length, 1, 'no forged second line')

  const listed = await vkeyProcess(['list'], env)
  assert.equal(listed.code, 0, listed.stderr)
  assert.ok(listed.stdout.includes('\\x1b[2J'), listed.stdout)
  assert.doesNotMatch(listed.stdout, RAW_CONTROL)
  assert.equal(listed.stdout.trim().split('\n').length, 1, 'one line for one handover')

  const json = await vkeyProcess(['list', '--json'], env)
  const [record] = JSON.parse(json.stdout) as { error: { message: string } }[]
  assert.ok(record?.error.message.includes(HOSTILE), '--json keeps the exact text')
})

test('labels with control characters are refused where they are set; one already stored is escaped by vkey list', async (t) => {
  const { env, dataDir, depot } = await setupDepot(t)
  const handlers = await testHandlers(t, dataDir)
  const imported = await handlers['vehicles:import-text']({ name: 'car.json', text: carDataJson(vinFor(71)) })
  const id = imported.added[0]!.id

  for (const label of ['\x1b[2J', 'line one\nline two', 'a\u202eb', 'x'.repeat(101)]) {
    await assert.rejects(
      handlers['handovers:update']({ id, label }),
      (error: unknown) => error instanceof VkError && error.code === 'input.field' && /label/.test(error.message),
      JSON.stringify(label),
    )
    assert.ok(labelProblem(label), `the import rule refuses ${JSON.stringify(label)} too`)
  }
  const ok = await handlers['handovers:update']({ id, label: '  Van 12 — Lyon  ' })
  assert.equal(ok.label, 'Van 12 — Lyon')

  // A label written before this rule existed (or by hand) still reaches no terminal raw.
  await (
    await depot.handovers()
  ).update(id, (r) => {
    r.label = '\x1b[2J\x1b[HFAKE'
  })
  const listed = await vkey(['list'], env)
  assert.equal(listed.code, 0, listed.stderr)
  assert.ok(listed.stdout.includes('\\x1b[2J\\x1b[HFAKE'), listed.stdout)
  assert.doesNotMatch(listed.stdout, RAW_CONTROL)
  const json = JSON.parse((await vkey(['list', '--json'], env)).stdout) as { label: string }[]
  assert.equal(json[0]?.label, '\x1b[2J\x1b[HFAKE')
})

test('a file name with control characters is escaped in the error line', async (t) => {
  const { env, dataDir } = await setupDepot(t)
  const file = join(dataDir, '..', 'car\x1b[2J\nvkey: ok.json')
  await writeFile(file, '{ not json')
  const result = await vkey(['token', '--cardata', file, '--duration', '1h'], env)
  assert.equal(result.code, 2)
  assert.ok(result.stderr.includes('car\\x1b[2J\\nvkey: ok.json'), result.stderr)
  assert.doesNotMatch(result.stderr, RAW_CONTROL)
  assert.equal(result.stderr.trim().split('\n').length, 1)
})
