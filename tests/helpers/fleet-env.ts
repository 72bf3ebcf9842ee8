/**
 * Fleet test environment: a real PostgreSQL (tests/helpers/postgres.ts) set up exactly as
 * docs/fleet.md tells an administrator, laptops as data folders with a real vault (the
 * keychain), and a small local ledger on a real better-sqlite3 database implementing the
 * LocalLedger interface the SQLite ledger of issue 8 will implement.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import Database from 'better-sqlite3'
import { connectFleet } from '../../electron/core/fleet/connection'
import { Fleet } from '../../electron/core/fleet/fleet'
import { migrate } from '../../electron/core/fleet/migrations'
import type { LedgerEntry, LocalLedger } from '../../electron/core/fleet/types'
import { keytarStore } from '../../electron/core/keychain'
import { Vault } from '../../electron/core/vault'
import { setupDepot, tempFolder, vkey, type TestDepot } from './depot-env'
import { startPostgres, type TestPostgres } from './postgres'

export const OWNER = { user: 'vkey_fleet_owner', password: 'owner-pw-7f3a' }
export const LAPTOPS = {
  'DEPOT-1': { user: 'vkey_depot_1', password: 'depot1-pw-91c2' },
  'DEPOT-2': { user: 'vkey_depot_2', password: 'depot2-pw-55d0' },
} as const
export type LaptopName = keyof typeof LAPTOPS

/** docs/fleet.md, steps 1 and 2 (as the PostgreSQL superuser). */
export function administratorSql(): string[] {
  return [
    `CREATE ROLE vkey_fleet_owner LOGIN PASSWORD '${OWNER.password}'`,
    'CREATE ROLE vkey_fleet_laptop NOLOGIN',
    ...Object.values(LAPTOPS).map((l) => `CREATE ROLE ${l.user} LOGIN PASSWORD '${l.password}' IN ROLE vkey_fleet_laptop`),
    'CREATE DATABASE vkey_fleet OWNER vkey_fleet_owner',
  ]
}

/** In the fleet database: the schema belongs to the owner; laptops may use it, never create in it. */
export function schemaSql(): string[] {
  return [
    'REVOKE ALL ON DATABASE vkey_fleet FROM PUBLIC',
    'GRANT CONNECT ON DATABASE vkey_fleet TO vkey_fleet_owner, vkey_fleet_laptop',
    'REVOKE CREATE ON SCHEMA public FROM PUBLIC',
    'CREATE SCHEMA vkey_fleet AUTHORIZATION vkey_fleet_owner',
    'GRANT USAGE ON SCHEMA vkey_fleet TO vkey_fleet_laptop',
  ]
}

export interface FleetServerEnv {
  pg: TestPostgres
  url: string
  caPem: string
  /** Applies the migrations as the owner and registers the laptops (docs/fleet.md, steps 3 and 4). */
  migrateAndRegister(): Promise<void>
}

export async function startFleetServer(t: TestContext, options: { migrate?: boolean } = {}): Promise<FleetServerEnv> {
  const pg = await startPostgres()
  t.after(() => pg.close())
  const superuser = await pg.admin()
  for (const sql of administratorSql()) await superuser.query(sql)
  await superuser.end()
  const inDb = await pg.admin('vkey_fleet')
  for (const sql of schemaSql()) await inDb.query(sql)
  await inDb.end()
  const caPem = await readFile(pg.caFile, 'utf8')
  const env: FleetServerEnv = {
    pg,
    url: pg.url('vkey_fleet'),
    caPem,
    async migrateAndRegister() {
      const { client } = await connectFleet({ host: pg.host, port: pg.port, database: 'vkey_fleet', ...OWNER, caPem, tls: 'verify' })
      try {
        await migrate(client)
        for (const [laptop, role] of Object.entries(LAPTOPS))
          await client.query('INSERT INTO vkey_fleet.laptops (laptop, role) VALUES ($1, $2) ON CONFLICT DO NOTHING', [laptop, role.user])
      } finally {
        await client.end()
      }
    },
  }
  if (options.migrate !== false) await env.migrateAndRegister()
  return env
}

/** A local ledger on a real SQLite database: every insert or update takes the next change sequence. */
export class SqliteLedger implements LocalLedger {
  readonly kind = 'test-sqlite-ledger'
  readonly db: Database.Database

  constructor(file: string) {
    this.db = new Database(file)
    this.db.pragma('journal_mode = WAL')
    this.db.exec(`CREATE TABLE IF NOT EXISTS ledger (id TEXT PRIMARY KEY, json TEXT NOT NULL, change_seq INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS counter (n INTEGER NOT NULL); INSERT INTO counter SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM counter);`)
  }

  #next(): number {
    return (this.db.prepare('UPDATE counter SET n = n + 1 RETURNING n').get() as { n: number }).n
  }

  put(entry: LedgerEntry): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          'INSERT INTO ledger (id, json, change_seq) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET json = excluded.json, change_seq = excluded.change_seq',
        )
        .run(entry.id, JSON.stringify(entry), this.#next())
    })()
  }

  get(id: string): LedgerEntry | undefined {
    const row = this.db.prepare('SELECT json FROM ledger WHERE id = ?').get(id) as { json: string } | undefined
    return row ? (JSON.parse(row.json) as LedgerEntry) : undefined
  }

  all(): LedgerEntry[] {
    return (this.db.prepare('SELECT json FROM ledger ORDER BY change_seq').all() as Array<{ json: string }>).map((r) => JSON.parse(r.json) as LedgerEntry)
  }

  entriesChangedSince(afterSeq: number, limit: number): Array<{ seq: number; entry: LedgerEntry }> {
    return (
      this.db.prepare('SELECT json, change_seq FROM ledger WHERE change_seq > ? ORDER BY change_seq LIMIT ?').all(afterSeq, limit) as Array<{
        json: string
        change_seq: number
      }>
    ).map((r) => ({ seq: r.change_seq, entry: JSON.parse(r.json) as LedgerEntry }))
  }

  markSupersededBy(localId: string, fleetEntryId: string): boolean {
    const entry = this.get(localId)
    if (!entry) return false
    if (entry.status === 'superseded' && entry.supersededBy === fleetEntryId) return false
    this.put({ ...entry, status: 'superseded', supersededBy: fleetEntryId })
    return true
  }

  close(): void {
    this.db.close()
  }
}

export interface TestLaptop {
  name: LaptopName
  dataDir: string
  vault: Vault
  ledger: SqliteLedger
  /** The joined fleet (open it again after a leave/join with reopen()). */
  fleet: Fleet
}

let counter = 0

/** A data folder joined to the fleet as `name`, with its own local ledger. */
export async function joinedLaptop(t: TestContext, server: FleetServerEnv, name: LaptopName): Promise<TestLaptop> {
  const root = await tempFolder(t, 'vkey-fleet-laptop-')
  const dataDir = join(root, 'data')
  const vault = await Vault.open(dataDir, keytarStore(`VK Depot test ${process.pid}-${++counter}`))
  const ledger = new SqliteLedger(join(root, 'ledger.db'))
  const { fleet } = await Fleet.join(dataDir, vault, {
    host: server.pg.host,
    port: server.pg.port,
    database: 'vkey_fleet',
    laptop: name,
    ...LAPTOPS[name],
    caPem: server.caPem,
  })
  t.after(() => {
    fleet.close()
    ledger.close()
    vault.close()
  })
  return { name, dataDir, vault, ledger, fleet }
}

let ids = 0

/** A ledger entry as the local ledger records a key PSA issued. */
export function issuedEntry(vin: string, technician: string, options: { hours?: number; id?: string; issuedAt?: Date } = {}): LedgerEntry {
  const issued = options.issuedAt ?? new Date()
  const hours = options.hours ?? 8
  return {
    id: options.id ?? `h${Date.now().toString(36)}${(++ids).toString(36)}`,
    vehicleKey: vin,
    vin,
    profile: 'sim',
    technician,
    issuedAt: issued.toISOString(),
    expires: new Date(issued.getTime() + hours * 3600_000).toISOString(),
    durationSeconds: hours * 3600,
    status: 'issued',
  }
}

/**
 * A laptop as a technician has it: a data folder with the simulator profile (depot-env.ts
 * setupDepot, its own simulator) joined to the fleet with the real `vkey fleet join`.
 */
export async function cliLaptop(t: TestContext, server: FleetServerEnv, name: LaptopName): Promise<TestDepot> {
  const laptop = await setupDepot(t)
  const joined = await vkey(
    ['fleet', 'join', server.url, '--laptop', name, '--user', LAPTOPS[name].user, '--password-stdin', '--ca', server.pg.caFile],
    laptop.env,
    LAPTOPS[name].password,
  )
  assert.equal(joined.code, 0, joined.stderr)
  return laptop
}
