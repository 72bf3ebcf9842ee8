/**
 * renderer/src/duration-choice.ts: what the app's duration picker sends, or the sentence it
 * shows instead. The same limits as `vkey` (shared/duration.ts): a key lasts at least a minute
 * and ends within 30 days.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { initialDuration, resolveDuration, type DurationState } from '../../renderer/src/duration-choice'
import { toLocalInput } from '../../renderer/src/format'

const t = (key: string) => key // the sentence's i18n key stands for the sentence
const now = new Date(2026, 11, 2, 12, 0, 30).getTime() // local time, half a minute past noon
const at = (minutes: number) => toLocalInput(new Date(now + minutes * 60_000))
const choice = (patch: Partial<DurationState>): DurationState => ({ ...initialDuration('24h', now), ...patch })

test('"valid until" a moment under a minute away is refused before sending; a minute and more is sent', () => {
  assert.equal(resolveDuration(choice({ mode: 'until', until: at(0.5) }), t, now), 'request.tooShort', '12:01 at 12:00:30')
  assert.equal(resolveDuration(choice({ mode: 'until', until: at(-1) }), t, now), 'request.untilPast')
  const sent = resolveDuration(choice({ mode: 'until', until: at(1.5) }), t, now)
  assert.equal(typeof sent, 'object', String(sent))
  assert.equal(sent && typeof sent === 'object' && sent.kind, 'until')
  assert.equal(resolveDuration(choice({ mode: 'until', until: '2026-02-30T10:00' }), t, now), 'request.untilInvalid')
})

test('a planned handover whose window ends under a minute from now, or beyond 30 days, is refused', () => {
  // Handover at 11:50 for 0.1833 h (11 min): the window ends at 12:01, 30 s from now.
  assert.equal(resolveDuration(choice({ mode: 'plan', planStart: at(-10.5), planHours: '0.1833' }), t, now), 'request.tooShort')
  assert.equal(resolveDuration(choice({ mode: 'plan', planStart: at(-120), planHours: '1' }), t, now), 'request.planPast')
  assert.equal(resolveDuration(choice({ mode: 'plan', planStart: at(29 * 24 * 60), planHours: '48' }), t, now), 'request.planTooLong')
  assert.deepEqual(resolveDuration(choice({ mode: 'plan', planStart: at(60), planHours: '8' }), t, now), {
    kind: 'plan',
    start: resolveStart(at(60)),
    seconds: 8 * 3600,
  })
})

test('a custom length: whole hours and 0–59 minutes, at least a minute in all; a preset is its hours', () => {
  assert.deepEqual(resolveDuration(choice({ mode: 'custom', hours: '0', minutes: '1' }), t, now), { kind: 'seconds', seconds: 60 })
  for (const [hours, minutes] of [
    ['0', '0'],
    ['1', '60'],
    ['1.5', '0'],
    ['-1', '30'],
  ])
    assert.equal(resolveDuration(choice({ mode: 'custom', hours: hours!, minutes: minutes! }), t, now), 'request.customInvalid', `${hours} h ${minutes} min`)
  assert.deepEqual(resolveDuration(choice({ mode: '8h' }), t, now), { kind: 'seconds', seconds: 8 * 3600 })
})

/** The ISO time the picker sends for a local input (its own offset), as the plan's start. */
function resolveStart(local: string): string {
  const plan = resolveDuration(choice({ mode: 'until', until: local }), t, now)
  assert.ok(typeof plan === 'object' && plan.kind === 'until')
  return plan.until
}
