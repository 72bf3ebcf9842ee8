/**
 * A request that got no answer may have left a key at PSA: the record keeps saying so
 * (earlierCutOff) whatever settles it later, with the latest window such an attempt asked.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RecordSchema, keepCutOffMark, mayHoldUnstoredKey, type HandoverRecord } from '../../electron/core/handover-record'
import { keyNotes } from '../../electron/core/key-notes'

const base = RecordSchema.parse({
  id: 'h1',
  vin: 'VF3ABCDEF12345678',
  source: 'car.json',
  status: 'draft',
  createdAt: '2026-12-02T08:00:00Z',
  updatedAt: '2026-12-02T08:00:00Z',
  sealedCarData: 'x',
})
const unanswered = { code: 'network.timeout', message: 'no answer', details: { unanswered: true } }

/** An attempt sent at `at` for a window ending at `until`, cut off (no answer) or not. */
function attempt(record: HandoverRecord, at: string, until: string, cut: boolean): HandoverRecord {
  const next: HandoverRecord = { ...structuredClone(record), requestedAt: at, plannedEnd: until, status: cut ? 'failed' : 'issued' }
  if (cut) next.error = unanswered
  else delete next.error
  keepCutOffMark(record, next)
  return next
}

test('two attempts cut off in a row, then a key: the mark keeps the later-ending window of the two', () => {
  const first = attempt(base, '2026-12-02T08:00:00Z', '2026-12-02T20:00:00Z', true)
  const second = attempt(first, '2026-12-02T09:00:00Z', '2026-12-02T13:00:00Z', true)
  const third = attempt(second, '2026-12-02T10:00:00Z', '2026-12-02T18:00:00Z', false)
  assert.equal(third.earlierCutOff?.until, '2026-12-02T20:00:00Z')
  assert.equal(mayHoldUnstoredKey(third), true)
  const [note] = keyNotes(third, { time: (iso) => iso, now: new Date('2026-12-02T19:00:00Z') }).filter((n) => n.kind === 'earlier-cut-off')
  assert.match(note?.text ?? '', /until 2026-12-02T20:00:00Z at the latest/)
  assert.equal(
    keyNotes(third, { time: (iso) => iso, now: new Date('2026-12-02T20:00:01Z') }).filter((n) => n.kind === 'earlier-cut-off').length,
    0,
    'said until that window ends',
  )
})

test('the same cut-off attempt written again leaves no mark; one that was not cut off leaves none either', () => {
  const cut = attempt(base, '2026-12-02T08:00:00Z', '2026-12-02T20:00:00Z', true)
  const rewritten = { ...structuredClone(cut), updatedAt: '2026-12-02T08:05:00Z' }
  keepCutOffMark(cut, rewritten)
  assert.equal(rewritten.earlierCutOff, undefined)
  const refused = { ...structuredClone(base), status: 'failed' as const, error: { code: 'psa.refused', message: 'refused', details: {} } }
  const then = attempt(refused, '2026-12-02T09:00:00Z', '2026-12-02T13:00:00Z', false)
  assert.equal(then.earlierCutOff, undefined)
  assert.equal(mayHoldUnstoredKey(then), false)
})

test('a vault reset (the record becomes unreadable) keeps the mark of a request cut off by Ctrl-C', () => {
  const cancelled: HandoverRecord = {
    ...structuredClone(base),
    requestedAt: '2026-12-02T08:00:00Z',
    plannedEnd: '2026-12-02T16:00:00Z',
    error: { code: 'cancelled', message: 'Ctrl-C', details: {} },
  }
  const unreadable: HandoverRecord = { ...structuredClone(cancelled), status: 'unreadable', sealedCarData: '' }
  keepCutOffMark(cancelled, unreadable)
  assert.deepEqual(unreadable.earlierCutOff, { requestedAt: '2026-12-02T08:00:00Z', until: '2026-12-02T16:00:00Z' })
  assert.equal(mayHoldUnstoredKey(unreadable), true)
})
