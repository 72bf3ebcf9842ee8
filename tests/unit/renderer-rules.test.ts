/**
 * The renderer's pure rules, in Node: which locale dates are written in, the one date
 * formatter (local time with its zone), the "valid until" preview, which keys carry an
 * environment band, what a missing connection is, and duplicate VINs.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { test } from 'node:test'
import type { HandoverSummary, ProfileView } from '../../shared/ipc/contract'
import { missingConnection } from '../../renderer/src/connection'
import { duplicateVins, findDuplicates } from '../../renderer/src/duplicates'
import { handoverEnvironment, nonProduction } from '../../shared/environment-marker'
import { dateLocale, dateTimeParts, endOfChoice, formatDateTime, formatOutsideTime, setSystemLocales } from '../../renderer/src/format'

test('dates follow the system region: en-GB in Europe, the US only on a US machine, French as fr-<region>', () => {
  assert.equal(dateLocale('en', ['en-GB']), 'en-GB')
  assert.equal(dateLocale('en', ['en-US']), 'en-US')
  // Electron's UI locale says en-US; the regional setting (passed first) says the UK or France.
  assert.equal(dateLocale('en', ['en-GB', 'en-US']), 'en-GB')
  assert.equal(dateLocale('en', ['fr-FR', 'en-US']), 'en-GB')
  assert.equal(dateLocale('en', ['de-DE']), 'en-GB')
  assert.equal(dateLocale('en', ['en']), 'en-GB', 'no region known: not US English by default')
  assert.equal(dateLocale('en', []), 'en-GB')
  assert.equal(dateLocale('en', ['en-AU']), 'en-AU')
  assert.equal(dateLocale('fr', ['fr-CH']), 'fr-CH')
  assert.equal(dateLocale('fr', ['en-GB']), 'fr-FR')
  assert.equal(dateLocale('fr', ['en-CA']), 'fr-CA')
})

test('one formatter: 24-hour, day before month, with the zone, in the language shown', () => {
  const savedTz = process.env.TZ
  process.env.TZ = 'Europe/Paris'
  try {
    setSystemLocales(['en-GB', 'en-US', 'C', undefined])
    assert.equal(formatDateTime('2026-12-01T16:37:46Z', 'en'), '1 Dec 2026, 17:37 CET')
    assert.equal(formatDateTime('2026-07-01T16:37:46Z', 'en'), '1 Jul 2026, 18:37 CEST')
    assert.match(formatDateTime('2026-12-01T16:37:46Z', 'fr'), /^1 déc\. 2026(,| à) 17:37 UTC\+1$/)
    assert.deepEqual(dateTimeParts('2026-12-01T16:37:46Z', 'en'), { date: '1 Dec 2026', time: '17:37 CET' })
    setSystemLocales(['en-US'])
    assert.match(formatDateTime('2026-12-01T16:37:46Z', 'en'), /^Dec 1, 2026, 5:37\sPM GMT\+1$/, 'a US machine keeps US dates')
    assert.equal(formatDateTime(undefined, 'en'), '—')
    assert.equal(formatDateTime('not a date', 'en'), 'not a date')
  } finally {
    if (savedTz === undefined) delete process.env.TZ
    else process.env.TZ = savedTz
    setSystemLocales([])
  }
})

test('the "valid until" preview: now + seconds, the moment chosen, or the end of the planned window', () => {
  const now = Date.parse('2026-12-01T10:00:00Z')
  assert.equal(endOfChoice({ kind: 'seconds', seconds: 8 * 3600 }, now).toISOString(), '2026-12-01T18:00:00.000Z')
  assert.equal(endOfChoice({ kind: 'until', until: '2026-12-02T07:30:00+01:00' }, now).toISOString(), '2026-12-02T06:30:00.000Z')
  assert.equal(endOfChoice({ kind: 'plan', start: '2026-12-03T08:00:00Z', seconds: 4 * 3600 }, now).toISOString(), '2026-12-03T12:00:00.000Z')
})

function profile(name: string, environment: ProfileView['environment'], options: { isDefault?: boolean; certificate?: boolean } = {}): ProfileView {
  const certificate =
    options.certificate === false
      ? null
      : {
          subject: 'CN=x',
          issuer: 'CN=ca',
          serialNumber: '1',
          notBefore: '2026-01-01T00:00:00Z',
          notAfter: '2027-01-01T00:00:00Z',
          daysLeft: 30,
          status: 'valid' as const,
          fingerprintSha256: 'ab',
        }
  return {
    name,
    environment,
    baseUrl: 'https://x',
    clientId: 'c',
    login: 'l',
    hasPassword: true,
    hasCa: false,
    certificate,
    isDefault: options.isDefault ?? false,
  }
}

test('a key carries a band when its profile is the simulator or pre-production, not production', () => {
  const profiles = [profile('Depot Lyon', 'prod', { isDefault: true }), profile('Simulator', 'simulator'), profile('Recette', 'preprod')]
  assert.equal(handoverEnvironment({ profile: 'Simulator' }, profiles), 'simulator')
  assert.equal(handoverEnvironment({ profile: 'Recette' }, profiles), 'preprod')
  assert.equal(handoverEnvironment({}, profiles), 'prod', 'no profile on the record: the active one')
  assert.equal(handoverEnvironment({ profile: 'Gone' }, profiles), undefined)
  assert.equal(nonProduction('simulator'), 'simulator')
  assert.equal(nonProduction('preprod'), 'preprod')
  assert.equal(nonProduction('prod'), undefined)
  assert.equal(nonProduction(undefined), undefined)
})

test('no connection: no profile, or an active profile without a certificate', () => {
  assert.equal(missingConnection([]), 'profile')
  assert.equal(missingConnection(null), 'profile')
  assert.equal(missingConnection([profile('P', 'preprod', { certificate: false })]), 'certificate')
  assert.equal(missingConnection([profile('P', 'preprod', { certificate: false }), profile('S', 'simulator', { isDefault: true })]), undefined)
})

function vehicle(id: string, vin: string | undefined, source: string): HandoverSummary {
  return { id, ...(vin ? { vin } : {}), source, status: 'draft', createdAt: '2026-12-01T10:00:00Z', updatedAt: '2026-12-01T10:00:00Z' }
}

test('the same VIN twice is found on import (against the list and within the import) and in the list', () => {
  const before = [vehicle('1', 'VF3MCYHZRKS123456', 'phone-export.json'), vehicle('2', undefined, 'fleet.json')]
  const added = [
    vehicle('3', 'VF3MCYHZRKS123456', 'again.json'),
    vehicle('4', 'VR3FLEET000000001', 'a.json'),
    vehicle('5', 'VR3FLEET000000001', 'b.json'),
    vehicle('6', undefined, 'c.json'),
  ]
  assert.deepEqual(findDuplicates(before, added), [
    { vin: 'VF3MCYHZRKS123456', source: 'again.json', other: 'phone-export.json' },
    { vin: 'VR3FLEET000000001', source: 'b.json', other: 'a.json' },
  ])
  assert.deepEqual(
    [...duplicateVins([...before, ...added])],
    [
      ['VF3MCYHZRKS123456', ['phone-export.json', 'again.json']],
      ['VR3FLEET000000001', ['a.json', 'b.json']],
    ],
  )
})

test('every PSA status has one diagnosis in each language, naming its status once', async () => {
  const dir = new URL('../../renderer/src/i18n/', import.meta.url)
  const statuses: Record<string, number> = {
    'psa.bad-request': 400,
    'psa.unauthorized': 401,
    'psa.forbidden': 403,
    'psa.not-found': 404,
    'psa.timeout': 408,
    'psa.rate-limited': 429,
    'server.error': 500,
    'server.bad-gateway': 502,
    'server.unavailable': 503,
    'server.gateway-timeout': 504,
  }
  for (const language of ['en', 'fr']) {
    const errors = (JSON.parse(await readFile(new URL(`${language}.json`, dir), 'utf8')) as { errors: Record<string, Record<string, Record<string, string>>> })
      .errors
    for (const [code, status] of Object.entries(statuses)) {
      const [family, name] = code.split('.') as [string, string]
      const entry = errors[family]?.[name]
      assert.ok(entry?.title && entry.text, `${language}: errors.${code} has a title and a text`)
      assert.equal(entry.text.split(`(${status})`).length - 1, 1, `${language}: errors.${code}.text names (${status}) once: ${entry.text}`)
    }
  }
})

test('the screens write moments only through format.ts: no other date formatter in the renderer', async () => {
  const { readdir } = await import('node:fs/promises')
  const { join } = await import('node:path')
  const root = new URL('../../renderer/src/', import.meta.url).pathname
  const entries = await readdir(root, { recursive: true })
  const offenders: string[] = []
  for (const entry of entries.filter((e) => /\.tsx?$/.test(e) && e !== 'format.ts')) {
    const text = await readFile(join(root, entry), 'utf8')
    if (/Intl\.DateTimeFormat|toLocale(Date|Time)?String|dateStyle|timeStyle/.test(text)) offenders.push(entry)
  }
  assert.deepEqual(offenders, [], 'dates written outside renderer/src/format.ts (formatDateTime, dateTimeParts)')
})

test("PSA's time is read as a time only when it is ISO 8601 with its zone; anything else is shown as sent", () => {
  const savedTz = process.env.TZ
  process.env.TZ = 'Europe/Paris'
  try {
    setSystemLocales(['en-GB'])
    assert.equal(formatOutsideTime('2026-12-01T16:37:46.017Z', 'en'), '1 Dec 2026, 17:37 CET')
    assert.equal(formatOutsideTime('2026-12-01T17:37:46+01:00', 'en'), '1 Dec 2026, 17:37 CET')
    for (const loose of ['12', '2026-12-01T16:37:46', '2026-12-01', 'yesterday', '2026-13-45T99:99:99Z']) {
      assert.equal(formatOutsideTime(loose, 'en'), undefined, loose)
    }
  } finally {
    if (savedTz === undefined) delete process.env.TZ
    else process.env.TZ = savedTz
    setSystemLocales([])
  }
})
