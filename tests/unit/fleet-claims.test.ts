/** The claim rule (who may ask PSA for a car another laptop holds), as a pure function. */
import assert from 'node:assert/strict'
import test from 'node:test'
import { decide, STALE_REQUEST_MS } from '../../electron/core/fleet/claims'
import { toFleetEntry } from '../../electron/core/fleet/types'
import { connectionError, parseFleetUrl } from '../../electron/core/fleet/connection'

const now = new Date('2026-12-01T10:00:00Z')
const at = (minutes: number) => new Date(now.getTime() + minutes * 60_000)
const request = (windowEndMinutes: number, force = false) => ({ vehicleKey: 'VF3X', windowEnd: at(windowEndMinutes).toISOString(), technician: 'B', force })
const open = (laptop: string, expires: Date | null, claimedAt = at(-5)) => ({
  claim_id: '1',
  laptop,
  technician: 'A. Martin',
  entry_id: `${laptop}/e1`,
  expires,
  claimed_at: claimedAt,
})

test('claims: a free car is taken; our own claim is renewed', () => {
  assert.deepEqual(decide(undefined, [], 'DEPOT-2', request(60), now), { kind: 'take' })
  assert.deepEqual(decide(open('DEPOT-2', at(600)), [], 'DEPOT-2', request(60), now), { kind: 'take', endReason: 'renewed' })
})

test("claims: another laptop's key that covers the window (within a minute) refuses, naming who and until when", () => {
  for (const end of [60, 600, 601]) {
    const d = decide(open('DEPOT-1', at(600)), [], 'DEPOT-2', request(end), now)
    assert.deepEqual(
      d,
      { kind: 'refuse', holder: { technician: 'A. Martin', laptop: 'DEPOT-1', expires: at(600).toISOString(), entryId: 'DEPOT-1/e1' } },
      `window ending at +${end} min`,
    )
  }
})

test('claims: a key ending too early, or --new, is superseded; an expired key or an abandoned request is taken over', () => {
  const held = { technician: 'A. Martin', laptop: 'DEPOT-1', expires: at(600).toISOString(), entryId: 'DEPOT-1/e1' }
  const superseding = { kind: 'take', endReason: 'superseded', supersedes: 'DEPOT-1/e1', superseded: held }
  assert.deepEqual(decide(open('DEPOT-1', at(600)), [], 'DEPOT-2', request(700), now), superseding)
  assert.deepEqual(decide(open('DEPOT-1', at(600)), [], 'DEPOT-2', request(60, true), now), superseding)
  assert.deepEqual(decide(open('DEPOT-1', at(-1)), [], 'DEPOT-2', request(60), now), { kind: 'take', endReason: 'expired' })
  assert.equal(decide(open('DEPOT-1', null, at(-1)), [], 'DEPOT-2', request(60), now).kind, 'refuse', 'a request in flight holds the car')
  assert.deepEqual(decide(open('DEPOT-1', null, new Date(now.getTime() - STALE_REQUEST_MS - 1)), [], 'DEPOT-2', request(60), now), {
    kind: 'take',
    endReason: 'expired',
  })
})

test('claims: a key another laptop issued offline (an entry with no claim) holds the car as its claim would', () => {
  const entry = (laptop: string, minutes: number) => ({ entry_id: `${laptop}/e9`, laptop, technician: 'C. Petit', expires: at(minutes) })
  const holder = { technician: 'C. Petit', laptop: 'DEPOT-3', expires: at(600).toISOString(), entryId: 'DEPOT-3/e9' }
  assert.deepEqual(decide(undefined, [entry('DEPOT-3', 600)], 'DEPOT-2', request(60), now), { kind: 'refuse', holder }, 'no claim anywhere')
  assert.deepEqual(decide(open('DEPOT-2', at(30)), [entry('DEPOT-3', 600)], 'DEPOT-2', request(60), now), { kind: 'refuse', holder }, 'beside our own claim')
  assert.deepEqual(
    decide(open('DEPOT-1', at(120)), [entry('DEPOT-3', 600)], 'DEPOT-2', request(60), now),
    { kind: 'refuse', holder },
    'the key that ends last is named',
  )
  assert.deepEqual(decide(undefined, [entry('DEPOT-3', 600)], 'DEPOT-2', request(700), now), {
    kind: 'take',
    supersedes: 'DEPOT-3/e9',
    superseded: holder,
  })
  assert.deepEqual(decide(undefined, [entry('DEPOT-3', 600)], 'DEPOT-2', request(60, true), now), {
    kind: 'take',
    supersedes: 'DEPOT-3/e9',
    superseded: holder,
  })
  assert.deepEqual(decide(undefined, [entry('DEPOT-3', -1)], 'DEPOT-2', request(60), now), { kind: 'take' }, 'an expired entry holds nothing')
  // A conflict already (A's claimed key and C's offline one): a longer window is refused too, --new asks anyway.
  const conflict = decide(open('DEPOT-1', at(120)), [entry('DEPOT-3', 600)], 'DEPOT-2', request(700), now)
  assert.deepEqual(conflict, { kind: 'refuse', holder }, 'a new key could supersede only one of two live keys')
  assert.equal(decide(open('DEPOT-1', at(120)), [entry('DEPOT-3', 600)], 'DEPOT-2', request(700, true), now).kind, 'take')
})

test('fleet address: postgres://HOST:PORT/DB, never with a user or password in it', () => {
  assert.deepEqual(parseFleetUrl('postgres://fleet.example.com:6432/vkey_fleet'), { host: 'fleet.example.com', port: 6432, database: 'vkey_fleet' })
  assert.deepEqual(parseFleetUrl('postgresql://[::1]/f'), { host: '::1', port: 5432, database: 'f' })
  assert.throws(() => parseFleetUrl('postgres://bob:secret@h/db'), /Leave the user and password out/)
  assert.throws(() => parseFleetUrl('https://h/db'), /must start with postgres:\/\//)
  assert.throws(() => parseFleetUrl('postgres://h'), /needs a host and a database/)
})

test('fleet connection errors name the cause the server gave: pg_hba or a retired role, a CA that signed nothing, the names a certificate holds', () => {
  const where = 'postgres://127.0.0.1:5432/vkey_fleet'
  const hba = Object.assign(new Error('no pg_hba.conf entry for host "127.0.0.1", user "vkey_depot_1", database "vkey_flet", SSL encryption'), {
    code: '28000',
  })
  const said = connectionError(hba, { where, user: 'vkey_depot_1', laptop: 'DEPOT-1' }).message
  assert.match(said, /refused role "vkey_depot_1": no pg_hba\.conf entry for host .*Ask the administrator \(pg_hba\.conf, or the role's LOGIN\)/)
  assert.doesNotMatch(said, /wrong password/)
  const login = connectionError(Object.assign(new Error('password authentication failed'), { code: '28P01' }), {
    where,
    user: 'vkey_depot_1',
    laptop: 'DEPOT-1',
  })
  assert.match(
    login.message,
    /wrong password.*`vkey fleet join postgres:\/\/127\.0\.0\.1:5432\/vkey_fleet --laptop DEPOT-1 --user vkey_depot_1 --password-stdin`/,
  )
  const untrusted = Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' })
  assert.match(connectionError(untrusted, { where, user: 'u' }).message, /give its certificate with --ca CA\.pem/)
  assert.match(connectionError(untrusted, { where, user: 'u', caGiven: true }).message, /the CA given with --ca did not sign/)
  const altname = (subjectaltname?: string) =>
    Object.assign(new Error("Hostname/IP does not match certificate's altnames"), { code: 'ERR_TLS_CERT_ALTNAME_INVALID', cert: { subjectaltname } })
  assert.match(
    connectionError(altname('DNS:fleet.example.com, IP Address:192.0.2.10'), { where, user: 'u' }).message,
    /it names fleet\.example\.com, 192\.0\.2\.10\./,
  )
  assert.match(connectionError(altname(), { where, user: 'u' }).message, /it names no host name or address \(no subjectAltName\)/)
})

test("fleet entries carry one form of each moment, whichever form PSA's answer had, so laptops' files agree and times compare as text", () => {
  const entry = { id: 'h1', vehicleKey: 'VF3X', profile: 'sim', technician: 't', status: 'issued' as const }
  const fromPsa = toFleetEntry('DEPOT-1', { ...entry, issuedAt: '2026-12-02T09:00:00Z', expires: '2026-12-02T17:00:00Z' })
  assert.deepEqual([fromPsa.issuedAt, fromPsa.expires], ['2026-12-02T09:00:00.000Z', '2026-12-02T17:00:00.000Z'])
  assert.equal(toFleetEntry('DEPOT-1', { ...entry, issuedAt: '2026-12-02T10:00:00+01:00' }).issuedAt, '2026-12-02T09:00:00.000Z')
  assert.equal(toFleetEntry('DEPOT-1', { ...entry, issuedAt: 'not a time' }).issuedAt, 'not a time', 'kept as given, not "Invalid Date"')
})
