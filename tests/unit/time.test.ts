/**
 * One clock: formatLocal (shared/time.ts) and --until as a time of day
 * (shared/duration.ts), in Paris and in other zones, across daylight-saving changes;
 * examples in messages computed from "now", never a date in the past.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { resolveUntil, secondsUntil, untilExample } from '../../shared/duration'
import { isVkError } from '../../shared/errors'
import { formatLocal, isoWithOffset } from '../../shared/time'

const WINTER = new Date('2026-12-01T16:37:46Z')

describe('formatLocal', () => {
  it('shows the local time with its zone name and offset: Paris, New York, UTC, India', () => {
    assert.equal(formatLocal(WINTER, 'Europe/Paris'), 'Tue 2026-12-01 17:37:46 CET (UTC+01:00)')
    assert.equal(formatLocal('2026-07-01T10:00:00Z', 'Europe/Paris'), 'Wed 2026-07-01 12:00:00 CEST (UTC+02:00)')
    assert.equal(formatLocal(WINTER, 'America/New_York'), 'Tue 2026-12-01 11:37:46 EST (UTC-05:00)')
    assert.equal(formatLocal(WINTER, 'UTC'), 'Tue 2026-12-01 16:37:46 UTC')
    // Intl has no short name for India here: the offset alone, never a bare ambiguous time.
    assert.match(formatLocal(WINTER, 'Asia/Kolkata'), /^Tue 2026-12-01 22:07:46 (IST \(UTC\+05:30\)|UTC\+05:30)$/)
  })

  it('follows the TZ of the process when no zone is given', () => {
    const expected = formatLocal(WINTER, Intl.DateTimeFormat().resolvedOptions().timeZone)
    assert.equal(formatLocal(WINTER.toISOString()), expected)
  })

  it('returns an unreadable value as given instead of "Invalid Date"', () => {
    assert.equal(formatLocal('not a time', 'Europe/Paris'), 'not a time')
  })
})

describe('--until a time of day', () => {
  it('is the next such time here: later today, or tomorrow once it has passed', () => {
    const morning = new Date('2026-12-01T08:00:00Z') // 09:00 in Paris
    assert.equal(resolveUntil('18:00', morning, 'Europe/Paris'), '2026-12-01T18:00:00+01:00')
    assert.equal(resolveUntil('7:30', morning, 'Europe/Paris'), '2026-12-02T07:30:00+01:00')
    assert.equal(resolveUntil('18:00', morning, 'America/New_York'), '2026-12-01T18:00:00-05:00')
    assert.equal(secondsUntil('18:00', morning, 'Europe/Paris'), 9 * 3600)
  })

  it('crosses a daylight-saving change on the local clock, not 24 hours of UTC', () => {
    // 2026-03-29: Paris moves from +01:00 to +02:00 at 02:00.
    const evening = new Date('2026-03-28T20:00:00Z') // 21:00 CET
    assert.equal(resolveUntil('18:00', evening, 'Europe/Paris'), '2026-03-29T18:00:00+02:00')
    assert.equal(secondsUntil('18:00', evening, 'Europe/Paris'), 20 * 3600)
  })

  it('leaves ISO times alone and refuses an hour that does not exist, with an example', () => {
    assert.equal(resolveUntil('2026-12-01T18:00Z', WINTER), '2026-12-01T18:00Z')
    assert.throws(
      () => resolveUntil('24:00', WINTER, 'Europe/Paris'),
      (e: unknown) => isVkError(e) && e.details.field === '--until' && /e\.g\. 18:00/.test(e.message),
    )
  })
})

describe('examples in messages are computed from today', () => {
  for (const zone of ['Europe/Paris', 'America/New_York', 'Pacific/Auckland']) {
    it(`tomorrow 18:00 in ${zone} is in the future and accepted as written`, () => {
      const now = new Date()
      const example = untilExample(now, zone)
      assert.ok(Date.parse(example.iso) > now.getTime(), `${example.iso} is after now`)
      assert.ok(Date.parse(example.iso) - now.getTime() < 48 * 3600_000, `${example.iso} is tomorrow`)
      assert.ok(secondsUntil(example.iso, now, zone) > 0)
      assert.ok(secondsUntil(example.utc, now, zone) > 0)
      assert.equal(isoWithOffset(new Date(example.iso), zone).slice(11, 16), '18:00')
    })
  }

  it('the error for a malformed --until offers a time of day and a date that is not in the past', () => {
    const now = new Date()
    try {
      secondsUntil('tomorrow', now, 'Europe/Paris')
      assert.fail('refused')
    } catch (error) {
      assert.ok(isVkError(error))
      const dates = [...error.message.matchAll(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})/g)].map((m) => m[0])
      assert.ok(dates.length >= 2, error.message)
      for (const date of dates) assert.ok(Date.parse(date) > now.getTime(), `${date} in "${error.message}" is in the future`)
      assert.match(error.message, /18:00/)
    }
  })

  it('a past --until says when now is, in local time with its zone', () => {
    assert.throws(() => secondsUntil('2026-12-01T10:00Z', WINTER, 'Europe/Paris'), /now is Tue 2026-12-01 17:37:46 CET \(UTC\+01:00\)/)
  })
})
