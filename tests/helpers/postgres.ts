/**
 * A real PostgreSQL (Debian's `postgresql` package) for the fleet tests: a throw-away cluster
 * (a copy of one initdb made once per run) in a temp folder, on a port reserved for it
 * (ports.ts), TLS on with an openssl-made CA and server certificate.
 * PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user
 * (the folder is chowned to it and the server runs through `runuser`). `close()` stops the
 * server and removes the folder.
 */
import { execFile } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { reservedPort } from './ports'
import { waitUntil } from './wait'

const run = promisify(execFile)

export const PG_BIN = process.env.VKEY_PG_BIN ?? '/usr/lib/postgresql/15/bin'

/** Why PostgreSQL cannot be started here, or undefined when it can. */
export function postgresMissing(): string | undefined {
  return existsSync(join(PG_BIN, 'pg_ctl')) ? undefined : `PostgreSQL is not installed (${PG_BIN}/pg_ctl missing): apt-get install -y postgresql`
}

export interface TestPostgres {
  host: string
  port: number
  /** The CA that signed the server certificate (PEM file path). */
  caFile: string
  /** A superuser client over the Unix socket (trust), on the given database. */
  admin(database?: string): Promise<pg.Client>
  /** postgres://127.0.0.1:PORT/DB */
  url(database: string): string
  stop(): Promise<void>
  start(): Promise<void>
  close(): Promise<void>
}

async function postgresIds(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim())
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim())
  return { uid, gid }
}

/** Runs a PostgreSQL program as the cluster's owner. */
function pgRun(owner: { uid: number; gid: number } | undefined, program: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const file = join(PG_BIN, program)
  return owner ? run('runuser', ['-u', 'postgres', '--', file, ...args]) : run(file, args)
}

async function makeCertificates(dir: string): Promise<void> {
  const openssl = (args: string[]) => run('openssl', args, { cwd: dir })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  await openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=VK Depot test fleet CA', '-days', '2'])
  await openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'])
  await writeFile(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n')
  await openssl([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '2',
    '-extfile',
    'san.ext',
  ])
}

const INITDB_ARGS = ['-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync', '-E', 'UTF8']
let template: Promise<string> | undefined

/**
 * An empty cluster (initdb's output) that each test's cluster is copied from: initdb runs once
 * per test run, not once per test. Under scripts/test.sh it lives in the run's folder and the
 * first process that needs it makes it (the others wait for its READY mark); a file run on
 * its own makes it once per process, removed when the process exits.
 */
function clusterTemplate(owner: { uid: number; gid: number } | undefined): Promise<string> {
  template ??= (async () => {
    const runDir = process.env.VKEY_TEST_RUN_DIR
    let dir: string
    if (runDir) {
      dir = join(runDir, 'pg-template')
      const made = await mkdir(dir, { mode: 0o700 }).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'EEXIST') return false
          throw error
        },
      )
      if (!made) {
        await waitUntil(() => existsSync(join(dir, 'READY')) || existsSync(join(dir, 'FAILED')), `the template cluster another test process makes in ${dir}`, {
          timeoutMs: 120_000,
          everyMs: 50,
        })
        if (existsSync(join(dir, 'FAILED'))) throw new Error(`initdb failed in another test process: ${await readFile(join(dir, 'FAILED'), 'utf8')}`)
        return join(dir, 'data')
      }
    } else {
      dir = await mkdtemp(join(tmpdir(), 'vkey-pg-template-'))
      // 'exit' handlers run synchronously: an async rm there never finishes.
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
    }
    try {
      if (owner) await chown(dir, owner.uid, owner.gid)
      await pgRun(owner, 'initdb', ['-D', join(dir, 'data'), ...INITDB_ARGS])
    } catch (error) {
      await writeFile(join(dir, 'FAILED'), String(error))
      throw error
    }
    await writeFile(join(dir, 'READY'), '')
    return join(dir, 'data')
  })()
  return template
}

/** Starts a fresh cluster; `tls: false` gives a server that offers no TLS at all. */
export async function startPostgres(options: { tls?: boolean } = {}): Promise<TestPostgres> {
  const tls = options.tls !== false
  const root = await mkdtemp(join(tmpdir(), 'vkey-pg-'))
  const owner = await postgresIds()
  const data = join(root, 'data')
  // Reserved for the run, outside the OS's ephemeral range: stop() and start() reuse it safely.
  const port = await reservedPort()
  let running = false
  try {
    if (owner) await chown(root, owner.uid, owner.gid)
    await chmod(root, 0o700)
    // A copy of the run's empty cluster, owner and modes kept (as initdb would have made it).
    await run('cp', ['-a', await clusterTemplate(owner), data])
    const certs = join(root, 'certs')
    await run('mkdir', ['-p', certs])
    await makeCertificates(certs)
    if (owner) for (const f of ['ca.crt', 'server.crt', 'server.key', '.']) await chown(join(certs, f), owner.uid, owner.gid)
    await chmod(join(certs, 'server.key'), 0o600)
    const conf = [
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${root}'`,
      'fsync = off',
      ...(tls ? ['ssl = on', `ssl_cert_file = '${join(certs, 'server.crt')}'`, `ssl_key_file = '${join(certs, 'server.key')}'`] : []),
    ]
    await writeFile(join(data, 'postgresql.auto.conf'), `${conf.join('\n')}\n`)
    if (owner) await chown(join(data, 'postgresql.auto.conf'), owner.uid, owner.gid)
    const start = async (): Promise<void> => {
      await pgRun(owner, 'pg_ctl', ['-D', data, '-l', join(root, 'server.log'), '-w', 'start'])
      running = true
    }
    const stop = async (): Promise<void> => {
      if (!running) return
      await pgRun(owner, 'pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop'])
      running = false
    }
    await start()
    return {
      host: '127.0.0.1',
      port,
      caFile: join(certs, 'ca.crt'),
      url: (database) => `postgres://127.0.0.1:${port}/${database}`,
      async admin(database = 'postgres') {
        const client = new pg.Client({ host: root, port, user: 'postgres', database })
        client.on('error', () => undefined) // the server stopping under an idle client is expected here
        await client.connect()
        return client
      },
      start,
      stop,
      async close() {
        await stop().catch(() => undefined)
        await rm(root, { recursive: true, force: true })
      },
    }
  } catch (error) {
    if (running) await pgRun(owner, 'pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined)
    await rm(root, { recursive: true, force: true })
    throw error
  }
}
