/**
 * The fleet database's schema, as versioned migrations. Each one runs once, in order, in one
 * transaction with the row it adds to vkey_fleet.schema_version; a database at a newer version
 * than this VK Depot knows is refused. Kept as TypeScript strings so the CLI bundle and the
 * app carry them without a file loader; docs/fleet.md shows how an administrator applies them.
 *
 * Roles (created by the administrator, docs/fleet.md): the schema's owner applies migrations;
 * every laptop logs in with its own role, member of vkey_fleet_laptop, registered in
 * vkey_fleet.laptops. Row-level security lets a laptop insert and update only rows carrying
 * its own laptop name and read everyone's; laptops never own tables (owners bypass RLS).
 */
import type pg from 'pg'
import { VkError } from '../../../shared/errors'

export const SCHEMA = 'vkey_fleet'
export const LAPTOP_GROUP = 'vkey_fleet_laptop'
/** Serialises writes to entries so that commit order is sequence order (incremental pull stays exact). */
export const ENTRIES_WRITE_LOCK = 7_415_001

export interface Migration {
  version: number
  name: string
  sql: string
}

const v1 = `
CREATE TABLE vkey_fleet.schema_version (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE vkey_fleet.laptops (
  laptop text PRIMARY KEY CHECK (laptop ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  role name NOT NULL UNIQUE
);

-- The laptop the connected role stands for (NULL for a role that is no laptop).
CREATE FUNCTION vkey_fleet.my_laptop() RETURNS text LANGUAGE sql STABLE
  AS $$ SELECT laptop FROM vkey_fleet.laptops WHERE role = current_user $$;

CREATE SEQUENCE vkey_fleet.entry_seq;

CREATE TABLE vkey_fleet.entries (
  entry_id text PRIMARY KEY,
  laptop text NOT NULL REFERENCES vkey_fleet.laptops (laptop),
  local_id text NOT NULL,
  vehicle_key text NOT NULL,
  vin text,
  profile text NOT NULL,
  technician text NOT NULL,
  issued_at timestamptz NOT NULL,
  expires timestamptz,
  duration_seconds integer,
  batch_id text,
  status text NOT NULL CHECK (status IN ('issued', 'handed-over', 'expired', 'superseded', 'unreadable', 'failed')),
  superseded_by text,
  supersedes text,
  seq bigint NOT NULL,
  updated_at timestamptz NOT NULL,
  CHECK (entry_id = laptop || '/' || local_id)
);
CREATE UNIQUE INDEX entries_by_seq ON vkey_fleet.entries (seq);
CREATE INDEX entries_by_vehicle ON vkey_fleet.entries (vehicle_key);
CREATE INDEX entries_by_supersedes ON vkey_fleet.entries (supersedes) WHERE supersedes IS NOT NULL;

-- Every write gets the next sequence number under one lock, so commits happen in sequence
-- order and a reader that has seen N has seen everything below N. The id and laptop of an
-- entry never change.
CREATE FUNCTION vkey_fleet.entries_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(${ENTRIES_WRITE_LOCK});
  IF TG_OP = 'UPDATE' AND (NEW.entry_id IS DISTINCT FROM OLD.entry_id OR NEW.laptop IS DISTINCT FROM OLD.laptop OR NEW.local_id IS DISTINCT FROM OLD.local_id) THEN
    RAISE EXCEPTION 'the id and laptop of a fleet entry never change' USING ERRCODE = 'check_violation';
  END IF;
  NEW.seq := nextval('vkey_fleet.entry_seq');
  NEW.updated_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER entries_stamp BEFORE INSERT OR UPDATE ON vkey_fleet.entries
  FOR EACH ROW EXECUTE FUNCTION vkey_fleet.entries_stamp();

-- A key is live while issued or handed over, not expired and superseded by nobody.
CREATE VIEW vkey_fleet.live_entries AS
  SELECT e.* FROM vkey_fleet.entries e
  WHERE e.status IN ('issued', 'handed-over') AND e.expires > now() AND e.superseded_by IS NULL
    AND NOT EXISTS (SELECT 1 FROM vkey_fleet.entries s WHERE s.supersedes = e.entry_id);

-- Two or more live keys for one vehicle (issued offline on two laptops): flagged, never merged.
CREATE VIEW vkey_fleet.conflicts AS
  SELECT vehicle_key, count(*) AS live_keys, array_agg(entry_id ORDER BY issued_at) AS entry_ids,
         array_agg(DISTINCT laptop) AS laptops, max(expires) AS last_expires
  FROM vkey_fleet.live_entries GROUP BY vehicle_key HAVING count(*) > 1;

-- A claim is taken before asking PSA; at most one is open per vehicle (the unique index).
CREATE TABLE vkey_fleet.claims (
  claim_id bigserial PRIMARY KEY,
  vehicle_key text NOT NULL,
  laptop text NOT NULL REFERENCES vkey_fleet.laptops (laptop),
  technician text NOT NULL,
  window_end timestamptz NOT NULL,
  claimed_at timestamptz NOT NULL DEFAULT now(),
  entry_id text,
  expires timestamptz,
  ended_at timestamptz,
  ended_by text,
  end_reason text CHECK (end_reason IN ('expired', 'superseded', 'renewed', 'failed', 'released')),
  CHECK ((ended_at IS NULL) = (ended_by IS NULL))
);
CREATE UNIQUE INDEX claims_one_open_per_vehicle ON vkey_fleet.claims (vehicle_key) WHERE ended_at IS NULL;

ALTER TABLE vkey_fleet.entries ENABLE ROW LEVEL SECURITY;
CREATE POLICY entries_read ON vkey_fleet.entries FOR SELECT USING (true);
CREATE POLICY entries_insert_own ON vkey_fleet.entries FOR INSERT WITH CHECK (laptop = vkey_fleet.my_laptop());
CREATE POLICY entries_update_own ON vkey_fleet.entries FOR UPDATE
  USING (laptop = vkey_fleet.my_laptop()) WITH CHECK (laptop = vkey_fleet.my_laptop());

ALTER TABLE vkey_fleet.claims ENABLE ROW LEVEL SECURITY;
CREATE POLICY claims_read ON vkey_fleet.claims FOR SELECT USING (true);
CREATE POLICY claims_insert_own ON vkey_fleet.claims FOR INSERT
  WITH CHECK (laptop = vkey_fleet.my_laptop() AND ended_at IS NULL);
CREATE POLICY claims_update_own ON vkey_fleet.claims FOR UPDATE
  USING (laptop = vkey_fleet.my_laptop()) WITH CHECK (laptop = vkey_fleet.my_laptop());
-- Another laptop's open claim may only be ended, signed with the ender's laptop name.
CREATE POLICY claims_end_other ON vkey_fleet.claims FOR UPDATE
  USING (ended_at IS NULL) WITH CHECK (ended_at IS NOT NULL AND ended_by = vkey_fleet.my_laptop());

GRANT USAGE ON SCHEMA vkey_fleet TO ${LAPTOP_GROUP};
GRANT SELECT ON vkey_fleet.schema_version, vkey_fleet.laptops, vkey_fleet.live_entries, vkey_fleet.conflicts TO ${LAPTOP_GROUP};
GRANT SELECT, INSERT, UPDATE ON vkey_fleet.entries TO ${LAPTOP_GROUP};
GRANT USAGE ON SEQUENCE vkey_fleet.entry_seq, vkey_fleet.claims_claim_id_seq TO ${LAPTOP_GROUP};
GRANT SELECT, INSERT ON vkey_fleet.claims TO ${LAPTOP_GROUP};
GRANT UPDATE (entry_id, expires, ended_at, ended_by, end_reason) ON vkey_fleet.claims TO ${LAPTOP_GROUP};
`

/*
 * Another laptop's open claim is ended at the time it is ended: a back-dated end (or one set in
 * the future) would hide when the car was taken over. A minute either way allows for a
 * transaction's own start time (now()).
 */
const v2 = `
ALTER POLICY claims_end_other ON vkey_fleet.claims
  WITH CHECK (ended_at IS NOT NULL AND ended_by = vkey_fleet.my_laptop()
              AND ended_at BETWEEN now() - interval '1 minute' AND now() + interval '1 minute');
`

/*
 * An entry supersedes only another laptop's key for the same car. Row-level security lets a
 * laptop write any `supersedes` into its own rows: one naming another car's entry took that key
 * out of live_entries and made its laptop mark it superseded. A link is checked when it is
 * written (a new entry that names one, or a changed link): a car's key may later be filed under
 * its VIN, so its vehicle key can change, and a link once accepted is followed by id; pushing
 * its row again never fails. DETAIL carries the entry id (sync.ts drops a link the server
 * refuses, so one entry cannot hold back a laptop's pushes). And another laptop's claim, which
 * a laptop may end, keeps the key (entry and expiry) its own laptop recorded.
 */
const v3 = `
CREATE FUNCTION vkey_fleet.entries_check_supersedes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM vkey_fleet.entries e
    WHERE e.entry_id = NEW.supersedes AND e.vehicle_key = NEW.vehicle_key AND e.laptop <> NEW.laptop
  ) THEN
    RAISE EXCEPTION 'entry % supersedes %, which is no other laptop''s key for vehicle %', NEW.entry_id, NEW.supersedes, NEW.vehicle_key
      USING ERRCODE = 'check_violation', DETAIL = NEW.entry_id;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER entries_check_new_link AFTER INSERT ON vkey_fleet.entries
  FOR EACH ROW WHEN (NEW.supersedes IS NOT NULL) EXECUTE FUNCTION vkey_fleet.entries_check_supersedes();
CREATE TRIGGER entries_check_changed_link AFTER UPDATE OF supersedes ON vkey_fleet.entries
  FOR EACH ROW WHEN (NEW.supersedes IS NOT NULL AND NEW.supersedes IS DISTINCT FROM OLD.supersedes)
  EXECUTE FUNCTION vkey_fleet.entries_check_supersedes();

-- Ending another laptop's claim changes when and why it ended, never which key it stood for.
CREATE FUNCTION vkey_fleet.claims_keep_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.entry_id IS DISTINCT FROM OLD.entry_id OR NEW.expires IS DISTINCT FROM OLD.expires)
     AND OLD.laptop IS DISTINCT FROM vkey_fleet.my_laptop() THEN
    RAISE EXCEPTION 'only laptop % records the key of its claim %', OLD.laptop, OLD.claim_id USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER claims_keep_key BEFORE UPDATE ON vkey_fleet.claims
  FOR EACH ROW EXECUTE FUNCTION vkey_fleet.claims_keep_key();
`

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'entries, claims, conflicts, row-level security', sql: v1 },
  { version: 2, name: "another laptop's claim is ended only at the present time", sql: v2 },
  { version: 3, name: "an entry supersedes only another laptop's key for the same car; a claim's key is its laptop's to record", sql: v3 },
]

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version

/**
 * `vkey fleet migrate` runs as the fleet schema's owner, in the database that holds it (docs/fleet.md,
 * steps 2 and 3): not as a laptop's role, which would only be told "already at version N", nor
 * as a superuser in another database, where migration 1 would make a schema of its own.
 */
export async function checkMigrator(client: pg.ClientBase, user: string): Promise<void> {
  const { rows } = await client.query<{ db: string; owner: string | null; me: string }>(
    'SELECT current_database() AS db, current_user AS me, (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1) AS owner',
    [SCHEMA],
  )
  const { db, owner, me } = rows[0]!
  if (owner === null)
    throw new VkError(
      'config.fleet',
      `The database "${db}" has no ${SCHEMA} schema: is it the fleet's database? The administrator creates the schema there first (docs/fleet.md, step 2: CREATE SCHEMA ${SCHEMA} AUTHORIZATION vkey_fleet_owner), then migrates as its owner.`,
      { field: 'URL' },
    )
  if (owner !== me)
    throw new VkError(
      'config.fleet',
      `Role "${user}" does not own the ${SCHEMA} schema (${owner} does): migrations are its owner's step. Run \`vkey fleet migrate postgres://HOST:PORT/${db} --user ${owner} --password-stdin\`.`,
      { field: '--user' },
    )
}

/** The schema version the database is at (0 when the fleet schema does not exist yet). */
export async function schemaVersion(client: pg.ClientBase): Promise<number> {
  const exists = await client.query<{ ok: boolean }>(`SELECT to_regclass('${SCHEMA}.schema_version') IS NOT NULL AS ok`)
  if (!exists.rows[0]?.ok) return 0
  const result = await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${SCHEMA}.schema_version`)
  return result.rows[0]?.v ?? 0
}

/**
 * Applies the migrations the database lacks, each in its own transaction (under an advisory
 * lock, so two laptops joining at once do not both apply one). Returns the versions applied.
 */
export async function migrate(client: pg.ClientBase): Promise<number[]> {
  const applied: number[] = []
  await client.query('SELECT pg_advisory_lock($1)', [ENTRIES_WRITE_LOCK + 1])
  try {
    const current = await schemaVersion(client)
    if (current > LATEST_VERSION) {
      throw new VkError(
        'config.fleet',
        `The fleet database is at schema version ${current}, newer than this VK Depot knows (${LATEST_VERSION}): update VK Depot on this laptop.`,
      )
    }
    for (const migration of MIGRATIONS.filter((m) => m.version > current)) {
      await client.query('BEGIN')
      try {
        if (migration.version === 1) await client.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`)
        await client.query(migration.sql)
        await client.query(`INSERT INTO ${SCHEMA}.schema_version (version, name) VALUES ($1, $2)`, [migration.version, migration.name])
        await client.query('COMMIT')
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined)
        throw migrationError(migration, error)
      }
      applied.push(migration.version)
    }
    return applied
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [ENTRIES_WRITE_LOCK + 1]).catch(() => undefined)
  }
}

function migrationError(migration: Migration, error: unknown): VkError {
  const pgError = error as { code?: string; message?: string }
  if (pgError.code === '42501') {
    return new VkError(
      'config.fleet',
      `This role may not create the fleet schema (migration ${migration.version}: ${pgError.message ?? 'permission denied'}). ` +
        'The administrator applies it with `vkey fleet migrate postgres://HOST:PORT/DB --user OWNER --password-stdin` (docs/fleet.md); laptops then join.',
      {},
      { cause: error },
    )
  }
  if (pgError.code === '42704') {
    return new VkError(
      'config.fleet',
      `Migration ${migration.version} failed: ${pgError.message ?? 'a role is missing'}. Create the ${LAPTOP_GROUP} role first (docs/fleet.md, step 2).`,
      {},
      { cause: error },
    )
  }
  return new VkError(
    'config.fleet',
    `Migration ${migration.version} (${migration.name}) failed: ${pgError.message ?? String(error)}. Nothing of it was applied.`,
    {},
    { cause: error },
  )
}
