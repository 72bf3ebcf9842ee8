import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { VkError } from '../../shared/errors'
import fc from 'fast-check'
import {
  MAX_DURATION_SECONDS,
  MIN_DURATION_SECONDS,
  coversWindowEnd,
  durationArgument,
  formatDuration,
  formatTimeLeft,
  parseDuration,
  planWindow,
  secondsUntil,
} from '../../shared/duration'

function refused(fn: () => unknown, field: '--duration' | '--until', fragment: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof VkError)
    assert.equal(error.code, 'input.duration')
    assert.equal(error.details.field, field)
    assert.ok(error.message.startsWith(field), error.message)
    assert.match(error.message, fragment)
    return true
  })
}

describe('parseDuration', () => {
  it('accepts seconds and unit forms', () => {
    for (const [text, seconds] of [
      ['3600', 3600],
      ['60', 60],
      ['1m', 60],
      ['60s', 60],
      ['90s', 90],
      ['90m', 5400],
      ['8h', 28800],
      ['2d', 172800],
      ['1h30m', 5400],
      ['1d12h', 129600],
      ['1h 30m 15s', 5415],
      [' 8H ', 28800],
      ['0h5m', 300],
      ['30d', MAX_DURATION_SECONDS],
      [String(MAX_DURATION_SECONDS), MAX_DURATION_SECONDS],
      ['007m', 420],
    ] as const) {
      assert.equal(parseDuration(text), seconds, text)
    }
  })

  it('names --duration and gives examples when refusing', () => {
    for (const [text, why] of [
      ['0', /is zero/],
      ['8', /has no unit, so it would be 8 seconds: write 8h for hours or 8m for minutes\. /],
      ['1s', /is under a minute: a key must last at least a minute, or it expires before a phone can take it/],
      ['59s', /is under a minute/],
      ['0m59s', /is under a minute/],
      ['59', /has no unit/],
      ['0h0m', /is zero/],
      ['-5', /negative/],
      ['-1h', /negative/],
      ['1.5h', /fraction/],
      ['0,5d', /fraction/],
      ['', /empty/],
      ['   ', /empty/],
      ['abc', /not a duration/],
      ['1h30', /not a duration/],
      ['30m1h', /not a duration/],
      ['1w', /not a duration/],
      ['1h1h', /not a duration/],
      ['31d', /longer than 30 days/],
      ['30d1s', /longer than 30 days/],
      [String(MAX_DURATION_SECONDS + 1), /longer than 30 days/],
      ['99999999999999999999999', /longer than 30 days/],
      ['1e3', /not a duration/],
      ['0x10', /not a duration/],
    ] as const) {
      refused(() => parseDuration(text), '--duration', why)
      refused(() => parseDuration(text), '--duration', /e\.g\. 3600 \(seconds\), 90s, 90m, 8h, 2d or 1h30m; at least a minute \(1m\), at most 30 days \(30d\)/)
    }
  })

  it('exports the 30-day maximum', () => {
    assert.equal(MAX_DURATION_SECONDS, 2_592_000)
  })
})

describe('secondsUntil', () => {
  const now = new Date('2025-03-01T12:00:00.000Z')

  it('accepts Z and offsets, with or without seconds and fractions', () => {
    for (const [text, seconds] of [
      ['2025-03-01T13:00:00Z', 3600],
      ['2025-03-01T13:00Z', 3600],
      ['2025-03-01t13:00:00z', 3600],
      ['2025-03-01T14:00:00+01:00', 3600],
      ['2025-03-01T14:00+0100', 3600],
      ['2025-03-01T08:00:00-05', 3600 * 1],
      ['2025-03-01 13:00:00Z', 3600],
      ['2025-03-01T12:01:00.001Z', 61],
      ['2025-03-01T12:01:00.000000001Z', 61],
      ['2025-03-01T12:01:01.5Z', 62],
      ['2025-03-02T12:00:00+00:00', 86400],
      ['2025-03-31T12:00:00Z', MAX_DURATION_SECONDS],
    ] as const) {
      assert.equal(secondsUntil(text, now), seconds, text)
    }
  })

  it('rounds up to whole seconds', () => {
    const t = new Date('2025-03-01T11:59:59.250Z')
    assert.equal(secondsUntil('2025-03-01T12:01:00Z', t), 61)
    assert.equal(secondsUntil('2025-03-01T12:01:10Z', t), 71)
  })

  it('refuses a time without zone, asking for an offset or Z', () => {
    refused(
      () => secondsUntil('2025-03-01T13:00', now, 'Europe/Paris'),
      '--until',
      /no time zone; add the offset or Z.*2025-03-01T13:00\+01:00 or 2025-03-01T13:00Z/,
    )
    refused(() => secondsUntil('2025-03-01T13:00:00', now), '--until', /no time zone/)
  })

  it('refuses the past, now, the far future and non-dates', () => {
    refused(() => secondsUntil('2025-03-01T12:00:00Z', now), '--until', /not in the future/)
    refused(
      () => secondsUntil('2025-03-01T12:00:59Z', now, 'UTC'),
      '--until',
      /is less than a minute away \(now is Sat 2025-03-01 12:00:00 UTC\): a key must last at least a minute, or it expires before a phone can take it; give a later time/,
    )
    refused(() => secondsUntil('2025-03-01T11:00:00Z', now, 'UTC'), '--until', /not in the future \(now is Sat 2025-03-01 12:00:00 UTC\)/)
    refused(() => secondsUntil('2025-03-01T13:00:00+02:00', now), '--until', /not in the future/)
    refused(() => secondsUntil('2025-03-31T12:00:01Z', now), '--until', /more than 30 days away/)
    refused(() => secondsUntil('2025-03-01', now), '--until', /no time/)
    refused(() => secondsUntil('tomorrow', now), '--until', /not a time; write a time of day here like 18:00, or an ISO-8601 date and time/)
    const real = /; write a real one, like 2025-03-0[12]T\d\d:00[+-]\d\d:\d\d\.$/
    refused(() => secondsUntil('2025-02-30T12:00Z', now), '--until', /day 30, which month 02 of 2025 does not have/)
    refused(() => secondsUntil('2025-13-01T12:00Z', now), '--until', /month 13/)
    refused(() => secondsUntil('2025-03-01T24:00Z', now), '--until', /time of day/)
    for (const impossible of ['2025-02-30T12:00Z', '2025-13-01T12:00Z', '2025-03-01T24:00Z']) refused(() => secondsUntil(impossible, now), '--until', real)
    // Without a zone, the impossible date is said first: the zone's advice would repeat the bad date as its example.
    refused(() => secondsUntil('2025-02-30T12:00', now), '--until', /day 30/)
    refused(() => secondsUntil('2025-03-01 25:00', now), '--until', real)
    refused(() => secondsUntil('2025-03-01T13:00+25:00', now), '--until', /offset/)
    refused(() => secondsUntil('2025-03-01T13:00Z', new Date(Number.NaN)), '--until', /current time/)
  })

  it('knows leap years', () => {
    const feb = new Date('2024-02-28T00:00:00Z')
    assert.equal(secondsUntil('2024-02-29T00:00Z', feb), 86400)
    refused(() => secondsUntil('2025-02-29T00:00Z', now), '--until', /day 29/)
  })
})

describe('formatDuration', () => {
  it('formats in plain English units', () => {
    for (const [seconds, text] of [
      [9000, '2 h 30 min'],
      [3600, '1 h'],
      [45, '45 s'],
      [90, '1 min 30 s'],
      [86400, '1 d'],
      [93784, '1 d 2 h 3 min 4 s'],
      [MAX_DURATION_SECONDS, '30 d'],
      [0, '0 s'],
      [-5, '0 s'],
      [Number.NaN, '0 s'],
      [59.6, '1 min'],
    ] as const) {
      assert.equal(formatDuration(seconds), text, String(seconds))
    }
  })

  it('round-trips with parseDuration for unit forms', () => {
    for (const text of ['90s', '90m', '8h', '2d', '1h30m', '1d12h']) {
      const seconds = parseDuration(text)
      const compact = formatDuration(seconds)
        .replace(/ min/g, 'm')
        .replace(/ (d|h|s)/g, '$1')
        .replace(/ /g, '')
      assert.equal(parseDuration(compact), seconds)
    }
  })
})

describe('formatTimeLeft', () => {
  it('reads a key issued a moment ago as its whole duration, to the minute from 10 min up and to the second below', () => {
    for (const [seconds, text] of [
      [7199, '2 h'],
      [7170, '2 h'],
      [7140, '1 h 59 min'],
      [86_399, '1 d'],
      [600, '10 min'],
      [599, '9 min 59 s'],
      [42, '42 s'],
      [0, '0 s'],
    ] as const) {
      assert.equal(formatTimeLeft(seconds), text, String(seconds))
    }
  })
})

describe('durationArgument', () => {
  it('gives a --duration value that parses back to the same seconds, whatever the duration (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 60, max: MAX_DURATION_SECONDS }), (seconds) => parseDuration(durationArgument(seconds)) === seconds))
    assert.equal(durationArgument(5400), '1h30m')
  })
})

describe('a live key covers a window it ends a little short of (coversWindowEnd)', () => {
  const end = '2026-12-02T18:00:00.000Z'
  const shortBy = (seconds: number) => new Date(Date.parse(end) - seconds * 1000).toISOString()
  it('an 8 h window: up to 10 min short, not more', () => {
    assert.equal(coversWindowEnd(shortBy(600), end, 8 * 3600), true)
    assert.equal(coversWindowEnd(shortBy(601), end, 8 * 3600), false)
  })
  it('a 20 min window: up to a minute short (5 % is less)', () => {
    assert.equal(coversWindowEnd(shortBy(60), end, 1200), true)
    assert.equal(coversWindowEnd(shortBy(61), end, 1200), false)
  })
  it('a 1 min window: a tenth of it, so a key with seconds left is not handed over for it', () => {
    assert.equal(coversWindowEnd(shortBy(6), end, 60), true)
    assert.equal(coversWindowEnd(shortBy(51), end, 60), false)
  })
})

describe('planWindow: every request (the app, vkey, the queue) asks for at least a minute', () => {
  const now = new Date('2025-03-01T12:00:00.000Z')
  it('refuses a key that would last under a minute, whatever the plan', () => {
    for (const plan of [
      { kind: 'seconds', seconds: 1 },
      { kind: 'seconds', seconds: 59 },
      { kind: 'until', until: '2025-03-01T12:00:30Z' },
      { kind: 'plan', start: '2025-03-01T11:00:00Z', seconds: 3630 },
    ] as const) {
      assert.throws(
        () => planWindow(plan, now),
        (error: unknown) =>
          error instanceof VkError && error.code === 'input.duration' && /a key must last at least a minute, or it expires before a phone/.test(error.message),
        plan.kind,
      )
    }
    assert.equal(planWindow({ kind: 'seconds', seconds: MIN_DURATION_SECONDS }, now).seconds, 60)
    assert.equal(planWindow({ kind: 'plan', start: '2025-03-01T11:00:00Z', seconds: 3660 }, now).seconds, 60)
  })
})
