/**
 * Fleet mode in the app, against a real PostgreSQL (tests/helpers/postgres.ts) set up as
 * docs/fleet.md says: Settings → Fleet joins with the address, laptop name, role, password and
 * the administrator's CA (through the file dialog); the password never comes back to the page.
 * Another laptop (a second data folder driven by the real `vkey`) holds a key for the car:
 * History → Fleet shows it with that laptop and technician; Request says who holds it and
 * until when, sends nothing, and after the confirm asks for a new key, which supersedes the
 * other laptop's across the fleet.
 */
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { technician } from '../../electron/core/technician'
import { carDataJson, findSecretsInClear, vkey } from '../helpers/depot-env'
import { cliLaptop, LAPTOPS, startFleetServer } from '../helpers/fleet-env'
import { postgresMissing } from '../helpers/postgres'
import { simulatorWithVehicle, VIN } from './flows'
import { assertAccessible, assertNoProblems, browserForFile, workDir } from './harness'

const missing = postgresMissing()
if (missing) console.log(`# fleet e2e test skipped: ${missing}`)

const browser = browserForFile()

test(
  "Settings → Fleet joins (password write-only); History → Fleet shows another laptop's key; Request is refused with who and until when, then a confirmed new key supersedes it",
  { skip: Boolean(missing) },
  async (t) => {
    const server = await startFleetServer(t)
    // Laptop DEPOT-1 gets a key for the car with the real `vkey`.
    const other = await cliLaptop(t, server, 'DEPOT-1')
    const car = join(await workDir(t), 'car.json')
    await writeFile(car, carDataJson(VIN))
    const issued = await vkey(['token', '--cardata', car, '--duration', '8h'], other.env)
    assert.equal(issued.code, 0, issued.stderr)

    const app = await browser.openApp(t)
    const { page } = app
    await simulatorWithVehicle(app)
    await page.getByRole('navigation').getByRole('button', { name: 'Settings' }).click()
    const fleet = page.getByTestId('fleet-settings')
    await fleet.getByRole('heading', { name: 'Fleet' }).waitFor()
    const { user, password } = LAPTOPS['DEPOT-2']
    await fleet.getByLabel('Fleet server').fill(server.url)
    await fleet.getByLabel('Laptop name').fill('DEPOT-2')
    await fleet.getByLabel('Database role').fill(user)
    await fleet.getByLabel('Password').fill(password)
    app.nextFiles([server.pg.caFile])
    await fleet.getByRole('button', { name: 'Choose CA file…' }).click()
    await fleet.getByText('ca.crt').waitFor()
    await app.screenshot('settings-fleet-join')
    await fleet.getByRole('button', { name: 'Join the fleet' }).click()
    await fleet.getByTestId('fleet-status').waitFor({ timeout: 20_000 })
    assert.match(
      (await fleet.getByTestId('fleet-status').textContent()) ?? '',
      new RegExp(`Joined postgres://127\\.0\\.0\\.1:\\d+/vkey_fleet as DEPOT-2 \\(role ${user}\\).*TLS, server certificate verified.*Never.*0 entries`),
    )
    assert.equal(await fleet.getByText('Joined the fleet as DEPOT-2.').count(), 1)
    assert.ok(!(await page.content()).includes(password), 'the password is gone from the page once joined')
    const status = await app.call('fleet:status')
    assert.ok(!JSON.stringify(status).includes(password), 'no channel sends the password back')
    assert.deepEqual(await findSecretsInClear(app.dataDir, [password]), [], 'sealed in the vault, never in clear')
    await app.screenshot('settings-fleet')
    await assertAccessible(app, 'settings-fleet')

    // History → Fleet: the other laptop's live key, with its laptop and technician.
    await page.getByRole('navigation').getByRole('button', { name: 'History' }).click()
    await page.getByLabel('Fleet', { exact: true }).check()
    const row = page.getByTestId('fleet-view').locator(`tr[data-vehicle="${VIN}"]`)
    await row.waitFor({ timeout: 20_000 })
    assert.match((await row.textContent()) ?? '', new RegExp(`${VIN}Live keyDEPOT-1${technician()}`))
    await app.screenshot('history-fleet')
    await assertAccessible(app, 'history-fleet')

    // Request: refused by the fleet, with who and until when; nothing reaches PSA.
    await page.getByRole('navigation').getByRole('button', { name: 'Vehicles' }).click()
    await page.getByRole('button', { name: `Request token for ${VIN}` }).click()
    await page.getByRole('heading', { level: 1, name: 'Request a token' }).waitFor()
    await page.getByLabel('1 h', { exact: true }).check()
    await page.getByRole('button', { name: 'Request token' }).click()
    const held = page.getByTestId('request-fleet-held')
    await held.waitFor({ timeout: 20_000 })
    assert.match((await held.textContent()) ?? '', new RegExp(`^${VIN} has a key until .+, issued by ${technician()} on DEPOT-1\\. Nothing was sent to PSA\\.`))
    const simulator = app.handlers.simulator()!
    assert.equal(simulator.stats.requests, 0, 'the app sent nothing to PSA')
    await app.screenshot('request-fleet-held')
    await assertAccessible(app, 'request-fleet-held')

    await held.getByRole('button', { name: 'Request a new key anyway…' }).click()
    await held.getByText('marked superseded across the fleet').waitFor()
    await held.getByRole('button', { name: 'Yes, request a new key' }).click()
    await page.getByRole('heading', { level: 1, name: 'Virtual key' }).waitFor({ timeout: 30_000 })
    assert.equal(simulator.stats.tokensIssued, 1)
    assert.match(
      (await page.getByTestId('gate-note').textContent()) ?? '',
      new RegExp(`^This key supersedes the one ${technician()} issued on DEPOT-1, valid until .+: that key is now marked superseded across the fleet`),
      'the technician is told whose key the new one supersedes',
    )

    // The fleet now has one live key for the car: this laptop's; the other one is superseded, and listed while it still opens the car.
    await page.getByRole('navigation').getByRole('button', { name: 'History' }).click()
    await page.getByLabel('Fleet', { exact: true }).check()
    await page.getByTestId('fleet-view').getByText('DEPOT-2 (this laptop)').waitFor({ timeout: 20_000 })
    const rows = page.getByTestId('fleet-view').locator(`tr[data-vehicle="${VIN}"]`)
    assert.equal(await rows.count(), 2, 'the live key and the superseded one')
    assert.match((await rows.nth(0).textContent()) ?? '', new RegExp(`^${VIN}Live keyDEPOT-2 \\(this laptop\\)`))
    const superseded = page.getByTestId('fleet-view').locator(`tr[data-vehicle="${VIN}"][data-superseded]`)
    assert.match((await superseded.textContent()) ?? '', new RegExp(`^DEPOT-1${technician()}.+Superseded by a newer key, still opens the car until then`))
    await assertAccessible(app, 'history-fleet-superseded')
    const listed = JSON.parse((await vkey(['list', '--fleet', '--json'], other.env)).stdout) as {
      vehicles: Array<{ vin: string; keys: Array<{ laptop: string }> }>
    }
    assert.deepEqual(
      listed.vehicles.map((v) => [v.vin, v.keys.map((k) => k.laptop)]),
      [[VIN, ['DEPOT-2']]],
      'the other laptop sees its key superseded',
    )
    await assertNoProblems(app)
  },
)
