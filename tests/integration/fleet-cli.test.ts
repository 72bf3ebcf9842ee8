/**
 * `vkey fleet join|status|sync|leave|migrate`, `vkey list --fleet` and `vkey audit --fleet`
 * against a real PostgreSQL with TLS (tests/helpers/postgres.ts) and, for the shared keys,
 * the real simulator over mutual TLS.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'node:test'
import { carDataJson, findSecretsInClear, setupDepot, tempFolder, vinFor, vkey, vkeyProcess } from '../helpers/depot-env'
import { LAPTOPS, OWNER, startFleetServer } from '../helpers/fleet-env'
import { makeTestCa } from '../helpers/openssl-ca'
import { postgresMissing } from '../helpers/postgres'

const missing = postgresMissing()
if (missing) console.log(`# fleet CLI tests skipped: ${missing}`)

const A = LAPTOPS['DEPOT-1']

function nothingJoined(dataDir: string): void {
  assert.equal(existsSync(join(dataDir, 'fleet.db')), false, 'no fleet.db')
  assert.equal(existsSync(join(dataDir, 'secrets', 'fleet.sealed')), false, 'no sealed fleet password')
}

test(
  'vkey fleet join: wrong password, untrusted certificate, no server → exit 3, clear message, nothing joined; then join, status, leave',
  { skip: Boolean(missing) },
  async (t) => {
    const server = await startFleetServer(t)
    const dataDir = join(await tempFolder(t), 'data')
    const env = { ...process.env, VKEY_HOME: dataDir }
    const ca = server.pg.caFile
    const joinArgs = [server.url, '--laptop', 'DEPOT-1', '--user', A.user, '--password-stdin']

    const wrong = await vkey(['fleet', 'join', ...joinArgs, '--ca', ca], env, 'not-the-password\n')
    assert.equal(wrong.code, 3, wrong.stderr)
    assert.match(wrong.stderr, /refused the login of role "vkey_depot_1" \(wrong password, or no such role\)/)
    nothingJoined(dataDir)

    const untrusted = await vkey(['fleet', 'join', ...joinArgs], env, `${A.password}\n`)
    assert.equal(untrusted.code, 3, untrusted.stderr)
    assert.match(untrusted.stderr, /presented a certificate this laptop does not trust .*--ca CA\.pem/)
    nothingJoined(dataDir)
    const otherCa = await makeTestCa(await tempFolder(t), 'Some other CA')
    const wrongCa = await vkey(['fleet', 'join', ...joinArgs, '--ca', otherCa.certPath], env, `${A.password}\n`)
    assert.equal(wrongCa.code, 3, wrongCa.stderr)
    assert.match(wrongCa.stderr, /a certificate that the CA given with --ca did not sign/, 'not told to give the --ca it gave')
    nothingJoined(dataDir)
    const asOwner = await vkey(
      ['fleet', 'join', server.url, '--laptop', 'DEPOT-1', '--user', OWNER.user, '--password-stdin', '--ca', ca],
      env,
      `${OWNER.password}\n`,
    )
    assert.equal(asOwner.code, 3, asOwner.stderr)
    assert.match(asOwner.stderr, /owns the fleet's schema or is a superuser: it bypasses row-level security, so no laptop may join with it/)
    nothingJoined(dataDir)
    const query = await vkey(['fleet', 'join', `${server.url}?sslmode=require`, ...joinArgs.slice(1), '--ca', ca], env, `${A.password}\n`)
    assert.equal(query.code, 2, query.stderr)
    assert.match(query.stderr, /Leave "\?sslmode=require" out of the fleet address/)

    await server.pg.stop()
    const down = await vkey(['fleet', 'join', ...joinArgs, '--ca', ca], env, `${A.password}\n`)
    assert.equal(down.code, 3, down.stderr)
    assert.match(down.stderr, /Cannot reach the fleet server postgres:\/\/127\.0\.0\.1:\d+\/vkey_fleet \(ECONNREFUSED\)/)
    nothingJoined(dataDir)
    await server.pg.start()

    const notJoined = await vkey(['fleet', 'status', '--json'], env)
    assert.deepEqual(JSON.parse(notJoined.stdout), { joined: false })

    // The real `vkey` process (the bundle when it is current): pg and better-sqlite3 load there too.
    const joined = await vkeyProcess(['fleet', 'join', ...joinArgs, '--ca', ca], env, `${A.password}\n`)
    assert.equal(joined.code, 0, joined.stderr)
    assert.match(joined.stdout, /Joined the fleet postgres:\/\/127\.0\.0\.1:\d+\/vkey_fleet as laptop DEPOT-1 \(role vkey_depot_1; TLS, certificate verified/)
    assert.deepEqual(await findSecretsInClear(dataDir, [A.password]), [], 'the fleet password is sealed, never in clear')

    const elsewhere = await vkey(
      ['fleet', 'join', server.url, '--laptop', 'DEPOT-2', '--user', LAPTOPS['DEPOT-2'].user, '--password-stdin', '--ca', ca],
      env,
      `${LAPTOPS['DEPOT-2'].password}\n`,
    )
    assert.equal(elsewhere.code, 3)
    assert.match(elsewhere.stderr, /already belongs to the fleet .* as DEPOT-1 \(role vkey_depot_1\)\. Run `vkey fleet leave` first/)

    // The administrator changes the laptop's password: the message prints the join command that stores the new one, and it works as printed.
    const admin = await server.pg.admin('vkey_fleet')
    await admin.query(`ALTER ROLE ${A.user} PASSWORD 'changed-pw-1'`)
    await admin.end()
    const refused = await vkey(['fleet', 'sync'], env)
    assert.equal(refused.code, 3, refused.stderr)
    const printed = /`(vkey fleet join [^`]+)`/.exec(refused.stderr)?.[1]
    assert.equal(printed, `vkey fleet join ${server.url} --laptop DEPOT-1 --user ${A.user} --password-stdin`)
    const rejoined = await vkey(printed!.split(' ').slice(1), env, 'changed-pw-1\n')
    assert.equal(rejoined.code, 0, `as printed, the stored CA kept: ${rejoined.stderr}`)
    assert.match(rejoined.stdout, /TLS, certificate verified against the CA given when this laptop joined\)/, 'it says which CA it used')
    assert.equal((await vkey(['fleet', 'sync'], env)).code, 0, 'the new password is used')

    // The server stops offering TLS (or someone in the middle says so): joining again is refused, never done in clear.
    const su = await server.pg.admin()
    await su.query('ALTER SYSTEM SET ssl = off')
    await su.query('SELECT pg_reload_conf()')
    await su.end()
    const downgraded = await vkey(printed!.split(' ').slice(1), env, 'changed-pw-1\n')
    assert.equal(downgraded.code, 3, downgraded.stderr)
    assert.match(downgraded.stderr, /no longer offers TLS, though it did when this laptop joined: refusing to send the password in clear/)
    assert.equal(JSON.parse((await vkey(['fleet', 'status', '--json'], env)).stdout).tls, 'verify', 'still joined with TLS verified')
    const su2 = await server.pg.admin()
    await su2.query('ALTER SYSTEM SET ssl = on')
    await su2.query('SELECT pg_reload_conf()')
    await su2.end()

    const status = JSON.parse((await vkey(['fleet', 'status', '--json'], env)).stdout) as Record<string, unknown>
    assert.equal(status.joined, true)
    assert.equal(status.laptop, 'DEPOT-1')
    assert.equal(status.tls, 'verify')
    assert.equal(status.waiting, 0)
    assert.match(String(status.last_sync), /^\d{4}-\d\d-\d\dT[\d:.]+Z$/, 'synced with the new password (ISO UTC)')

    const left = await vkey(['fleet', 'leave'], env)
    assert.equal(left.code, 0, left.stderr)
    nothingJoined(dataDir)
    assert.deepEqual(JSON.parse((await vkey(['fleet', 'status', '--json'], env)).stdout), { joined: false })
  },
)

test('vkey fleet: a laptop cannot create the schema; the administrator migrates, then the laptop joins', { skip: Boolean(missing) }, async (t) => {
  const server = await startFleetServer(t, { migrate: false })
  const dataDir = join(await tempFolder(t), 'data')
  const env = { ...process.env, VKEY_HOME: dataDir }
  const early = await vkey(
    ['fleet', 'join', server.url, '--laptop', 'DEPOT-1', '--user', A.user, '--password-stdin', '--ca', server.pg.caFile],
    env,
    A.password,
  )
  assert.equal(early.code, 3, early.stderr)
  assert.match(early.stderr, /may not create the fleet schema.*vkey fleet migrate postgres:\/\/HOST:PORT\/DB --user OWNER --password-stdin/)
  nothingJoined(dataDir)

  // Only the schema's owner migrates, in the fleet's database: a laptop's role and another database are refused, nothing made.
  const byLaptop = await vkey(['fleet', 'migrate', server.url, '--user', A.user, '--password-stdin', '--ca', server.pg.caFile], env, A.password)
  assert.equal(byLaptop.code, 3, byLaptop.stderr)
  assert.match(
    byLaptop.stderr,
    /Role "vkey_depot_1" does not own the vkey_fleet schema \(vkey_fleet_owner does\): .* `vkey fleet migrate postgres:\/\/HOST:PORT\/vkey_fleet --user vkey_fleet_owner --password-stdin`/,
  )
  const otherDb = server.url.replace(/\/vkey_fleet$/, '/postgres')
  const elsewhere = await vkey(['fleet', 'migrate', otherDb, '--user', OWNER.user, '--password-stdin', '--ca', server.pg.caFile], env, OWNER.password)
  assert.equal(elsewhere.code, 3, elsewhere.stderr)
  assert.match(elsewhere.stderr, /The database "postgres" has no vkey_fleet schema: is it the fleet's database\?/)
  const admin = await server.pg.admin()
  t.after(() => admin.end())
  assert.deepEqual((await admin.query("SELECT nspname FROM pg_namespace WHERE nspname = 'vkey_fleet'")).rows, [], 'no schema made in the postgres database')

  const migrated = await vkey(['fleet', 'migrate', server.url, '--user', OWNER.user, '--password-stdin', '--ca', server.pg.caFile], env, OWNER.password)
  assert.equal(migrated.code, 0, migrated.stderr)
  assert.match(migrated.stdout, /Fleet schema migrated to version 3 \(applied 1, 2, 3\)/)
  const twice = await vkey(['fleet', 'migrate', server.url, '--user', OWNER.user, '--password-stdin', '--ca', server.pg.caFile], env, OWNER.password)
  assert.match(twice.stdout, /already at version 3/)
  const laptopOnCurrent = await vkey(['fleet', 'migrate', server.url, '--user', A.user, '--password-stdin', '--ca', server.pg.caFile], env, A.password)
  assert.equal(laptopOnCurrent.code, 3, 'a laptop role is refused on a current schema too (it used to be told "already at version 3", exit 0)')
  assert.match(laptopOnCurrent.stderr, /does not own the vkey_fleet schema/)

  const unregistered = await vkey(
    ['fleet', 'join', server.url, '--laptop', 'DEPOT-1', '--user', A.user, '--password-stdin', '--ca', server.pg.caFile],
    env,
    A.password,
  )
  assert.equal(unregistered.code, 3)
  assert.match(unregistered.stderr, /Role "vkey_depot_1" is not registered as a laptop/)
  await server.migrateAndRegister()
  const wrongName = await vkey(
    ['fleet', 'join', server.url, '--laptop', 'DEPOT-9', '--user', A.user, '--password-stdin', '--ca', server.pg.caFile],
    env,
    A.password,
  )
  assert.equal(wrongName.code, 3)
  assert.match(wrongName.stderr, /registered for laptop "DEPOT-1", not "DEPOT-9": join with --laptop DEPOT-1/)
  const ok = await vkey(['fleet', 'join', server.url, '--laptop', 'DEPOT-1', '--user', A.user, '--password-stdin', '--ca', server.pg.caFile], env, A.password)
  assert.equal(ok.code, 0, ok.stderr)
})

test(
  'vkey list --fleet and audit --fleet: a key A issued while the fleet server was down is pushed at the next sync and seen on B, with who and until when',
  { skip: Boolean(missing) },
  async (t) => {
    const server = await startFleetServer(t)
    const a = await setupDepot(t)
    const bDir = join(await tempFolder(t), 'data')
    const bEnv = { ...process.env, VKEY_HOME: bDir }
    for (const [env, name] of [
      [a.env, 'DEPOT-1'],
      [bEnv, 'DEPOT-2'],
    ] as const) {
      const joined = await vkey(
        ['fleet', 'join', server.url, '--laptop', name, '--user', LAPTOPS[name].user, '--password-stdin', '--ca', server.pg.caFile],
        env,
        LAPTOPS[name].password,
      )
      assert.equal(joined.code, 0, joined.stderr)
    }
    const cardata = join(await tempFolder(t), 'car.json')
    await writeFile(cardata, carDataJson(vinFor(1511)))
    // Offline first: with the fleet server down, A still gets its key; the entry waits to be pushed.
    await server.pg.stop()
    const token = await vkey(['token', '--cardata', cardata, '--duration', '8h'], a.env)
    assert.equal(token.code, 0, token.stderr)
    assert.match(token.stderr, /The fleet server could not be reached: this key was checked against this laptop's ledger only\. It is shared at the next sync/)
    assert.equal(a.simulator.stats.tokensIssued, 1)
    assert.match(JSON.parse((await vkey(['fleet', 'status', '--json'], a.env)).stdout).waiting.toString(), /^1$/, 'the new key waits to be pushed')
    // Leaving now would keep that key from the other laptops: it takes a --yes.
    const leaving = await vkey(['fleet', 'leave'], a.env)
    assert.equal(leaving.code, 2, leaving.stderr)
    assert.match(
      leaving.stderr,
      /1 change of this laptop's ledger \(keys issued, handed over or expired\) has not been pushed, so the other laptops do not know it\. Run `vkey fleet sync` first \(once the fleet server answers\), or leave anyway with `vkey fleet leave --yes`/,
    )
    assert.equal(JSON.parse((await vkey(['fleet', 'status', '--json'], a.env)).stdout).joined, true, 'still joined')
    await server.pg.start()
    const synced = await vkey(['fleet', 'sync'], a.env)
    assert.match(synced.stdout, /Fleet synced: 1 entry pushed, 0 pulled/)

    const list = await vkey(['list', '--fleet', '--json'], bEnv)
    assert.equal(list.code, 0, list.stderr)
    const view = JSON.parse(list.stdout) as {
      stale: boolean
      vehicles: Array<{ vin: string; conflict: boolean; keys: Array<{ laptop: string; expires: string }> }>
    }
    assert.equal(view.stale, false)
    assert.equal(view.vehicles.length, 1)
    assert.equal(view.vehicles[0]!.vin, vinFor(1511))
    assert.equal(view.vehicles[0]!.keys[0]!.laptop, 'DEPOT-1')
    assert.ok(!list.stdout.includes('token'), 'no token in the fleet list')
    const human = await vkey(['list', '--fleet'], bEnv)
    assert.match(human.stdout, new RegExp(`${vinFor(1511)}  live key\\n    until .* on DEPOT-1`))

    const csv = join(await tempFolder(t), 'fleet.csv')
    const audit = await vkey(['audit', '--fleet', '--csv', csv], bEnv)
    assert.equal(audit.code, 0, audit.stderr)
    const lines = (await readFile(csv, 'utf8')).trim().split('\r\n')
    assert.equal(
      lines[0],
      'conflict,vehicle,vin,laptop,technician,profile,issued_at,expires,duration_seconds,status,live,superseded_by,supersedes,entry_id,batch,valid_at_psa,issued_at_local,expires_local',
    )
    assert.equal(lines.length, 2)
    assert.match(lines[1]!, new RegExp(`^,${vinFor(1511)},${vinFor(1511)},DEPOT-1,.*,28800,issued,yes,`))

    // A second data folder joined under A's name is warned: it would take A's claims for its own.
    const twinEnv = { ...process.env, VKEY_HOME: join(await tempFolder(t), 'data') }
    const twinArgs = ['fleet', 'join', server.url, '--laptop', 'DEPOT-1', '--user', A.user, '--password-stdin', '--ca', server.pg.caFile]
    const twin = await vkey(twinArgs, twinEnv, A.password)
    assert.equal(twin.code, 0, twin.stderr)
    assert.match(
      twin.stderr,
      /warning: the fleet holds 1 entry of laptop DEPOT-1 that this data folder does not: another data folder or machine may be joined as DEPOT-1/,
    )
    const rejoin = await vkey(twinArgs, a.env, A.password)
    assert.equal(rejoin.code, 0, rejoin.stderr)
    assert.doesNotMatch(rejoin.stderr, /warning/, "A's own folder holds its entries: no warning")

    await server.pg.stop()
    const offline = await vkey(['list', '--fleet'], bEnv)
    assert.equal(offline.code, 0, 'offline: the last known fleet is shown')
    assert.match(offline.stderr, /Cannot reach the fleet server .* Showing the fleet as of/)
    assert.match(offline.stdout, new RegExp(vinFor(1511)))
    assert.equal((await vkey(['fleet', 'sync'], bEnv)).code, 3)
    const status = await vkeyProcess(['fleet', 'status'], { ...bEnv, TZ: 'Europe/Paris' })
    assert.match(
      status.stdout,
      /\n {2}last error: \w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T \(UTC\+0[12]:00\): Cannot reach the fleet server/,
      'local time with its zone',
    )
    // The command the refusal printed leaves anyway, and says what stays behind.
    await writeFile(cardata, carDataJson(vinFor(1512)))
    assert.equal((await vkey(['token', '--cardata', cardata, '--duration', '8h'], a.env)).code, 0)
    const forced = await vkey(['fleet', 'leave', '--yes'], a.env)
    assert.equal(forced.code, 0, forced.stderr)
    assert.match(forced.stdout, /Left the fleet: .*\(1 entry was never pushed; it stays in the local ledger\)/)
  },
)
