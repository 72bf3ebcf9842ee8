/**
 * Handover records: a vehicle (VIN, label, CarData), a planned window, a token and a
 * status. Kept in `<data>/handovers.json` (0600, atomic writes); CarData and tokens are
 * sealed with the vault key, so the file holds no token or CarData in clear.
 *
 * Several processes may use one data folder (the app and `vkey`), so every change
 * re-reads the file under a lock, applies itself and writes back.
 */
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, openSync, rmSync, writeSync } from 'node:fs'
import { open, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { VkError, type ErrorView } from '../../shared/errors'
import { writeFileAtomic } from './secure-files'
import type { Vault } from './vault'

export type HandoverStatus = 'draft' | 'queued' | 'issued' | 'handed-over' | 'expired' | 'failed'

/** How long the token must live, as the user asked; turned into seconds when the request goes out. */
export type DurationPlan =
  | { kind: 'seconds'; seconds: number }
  | { kind: 'until'; until: string }
  | { kind: 'plan'; start: string; seconds: number }

const ErrorViewStored = z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).default({}) })

const RecordSchema = z.object({
  id: z.string(),
  vin: z.string().optional(),
  uin: z.string().optional(),
  label: z.string().optional(),
  source: z.string(),
  status: z.enum(['draft', 'queued', 'issued', 'handed-over', 'expired', 'failed']),
  profile: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  plan: z
    .union([
      z.object({ kind: z.literal('seconds'), seconds: z.number() }),
      z.object({ kind: z.literal('until'), until: z.string() }),
      z.object({ kind: z.literal('plan'), start: z.string(), seconds: z.number() }),
    ])
    .optional(),
  plannedStart: z.string().optional(),
  plannedEnd: z.string().optional(),
  durationSeconds: z.number().optional(),
  requestedAt: z.string().optional(),
  issuedAt: z.string().optional(),
  handedOverAt: z.string().optional(),
  expires: z.string().optional(),
  batchId: z.string().optional(),
  /** SHA-256 of the CarData and signature: finds the same vehicle again when a batch resumes. */
  carDataHash: z.string().optional(),
  /** Sealed `{carData, carDataSignature}`. */
  sealedCarData: z.string(),
  /** Sealed `{accessToken, tokenType, expiresIn, tokenSignature}`; erased once expired. */
  sealedToken: z.string().optional(),
  error: ErrorViewStored.optional(),
  /** Who did it, for the audit export. */
  technician: z.string().optional(),
})

export type HandoverRecord = z.infer<typeof RecordSchema>

const FileSchema = z.object({ version: z.literal(1), records: z.array(RecordSchema) })

export interface CarDataSecret {
  carData: string
  carDataSignature: string
}

export interface StoredToken {
  accessToken: string
  tokenType: string
  expiresIn: number
  tokenSignature: string
}

export interface NewHandover {
  vin?: string
  uin?: string
  label?: string
  source: string
  carData: string
  carDataSignature: string
  profile?: string
  technician?: string
}

const FILE = 'handovers.json'
const LOCK = 'handovers.lock'

/** Identifies a vehicle export without keeping the CarData itself in clear. */
export function carDataHash(carData: string, carDataSignature: string): string {
  return createHash('sha256').update(carData).update('|').update(carDataSignature).digest('base64url')
}

export function newId(): string {
  return randomBytes(9).toString('base64url')
}

export class HandoverStore {
  /** The parsed file as last read or written, with the stat that identifies that version. */
  private cache: { key: string; records: HandoverRecord[] } | undefined
  /** Changes waiting for the next write (group commit), and whether a write is running. */
  private pending: { apply: (records: HandoverRecord[]) => boolean | void; resolve: () => void; reject: (error: unknown) => void }[] = []
  private writing = false
  /** Counts our own writes: a read that started before one must not fill the cache. */
  private generation = 0
  private reading: { key: string; promise: Promise<HandoverRecord[]> } | undefined

  constructor(
    readonly dataDir: string,
    private readonly vault: Vault,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private get file(): string {
    return join(this.dataDir, FILE)
  }

  /** All records, newest first. */
  async list(): Promise<HandoverRecord[]> {
    const records = structuredClone(await this.read())
    return records.sort((a, b) => b.createdAt.localeCompare(a.createdAt))
  }

  async get(id: string): Promise<HandoverRecord> {
    const record = (await this.read()).find((r) => r.id === id)
    if (!record) throw new VkError('not-found', `No handover with id ${id}. List them with \`vkey list\`.`, { field: 'id' })
    return structuredClone(record)
  }

  async add(items: NewHandover[]): Promise<HandoverRecord[]> {
    const time = this.now().toISOString()
    const created: HandoverRecord[] = items.map((item) => {
      const id = newId()
      return {
        id,
        ...(item.vin ? { vin: item.vin } : {}),
        ...(item.uin ? { uin: item.uin } : {}),
        ...(item.label ? { label: item.label } : {}),
        source: item.source,
        status: 'draft' as const,
        ...(item.profile ? { profile: item.profile } : {}),
        ...(item.technician ? { technician: item.technician } : {}),
        createdAt: time,
        updatedAt: time,
        carDataHash: carDataHash(item.carData, item.carDataSignature),
        sealedCarData: this.vault.seal(`handover:${id}:cardata`, JSON.stringify({ carData: item.carData, carDataSignature: item.carDataSignature })),
      }
    })
    await this.mutate((records) => {
      records.push(...created)
    })
    return created
  }

  /** Applies `change` to one record under the lock and returns the stored result. */
  async update(id: string, change: (record: HandoverRecord) => void): Promise<HandoverRecord> {
    let result: HandoverRecord | undefined
    await this.mutate((records) => {
      const index = records.findIndex((r) => r.id === id)
      if (index < 0) throw new VkError('not-found', `No handover with id ${id}. List them with \`vkey list\`.`, { field: 'id' })
      // The change works on a copy: if it throws, or leaves the record invalid, nothing changed.
      const draft = structuredClone(records[index]!)
      change(draft)
      draft.updatedAt = this.now().toISOString()
      records[index] = RecordSchema.parse(draft)
      result = records[index]
    })
    return structuredClone(result as HandoverRecord)
  }

  /** Takes a queued record for sending (queued → draft) under the lock; false if it is no longer queued. */
  async claimQueued(id: string): Promise<boolean> {
    let claimed = false
    await this.mutate((records) => {
      const index = records.findIndex((r) => r.id === id)
      const record = records[index]
      if (!record || record.status !== 'queued') return false
      records[index] = { ...record, status: 'draft', updatedAt: this.now().toISOString() }
      claimed = true
      return true
    })
    return claimed
  }

  async remove(id: string): Promise<boolean> {
    let removed = false
    await this.mutate((records) => {
      const index = records.findIndex((r) => r.id === id)
      if (index < 0) return false
      records.splice(index, 1)
      removed = true
      return true
    })
    return removed
  }

  carDataOf(record: HandoverRecord): CarDataSecret {
    return JSON.parse(this.vault.unseal(`handover:${record.id}:cardata`, record.sealedCarData).toString('utf8')) as CarDataSecret
  }

  tokenOf(record: HandoverRecord): StoredToken | undefined {
    if (!record.sealedToken) return undefined
    return JSON.parse(this.vault.unseal(`handover:${record.id}:token`, record.sealedToken).toString('utf8')) as StoredToken
  }

  sealToken(id: string, token: StoredToken): string {
    return this.vault.seal(`handover:${id}:token`, JSON.stringify(token))
  }

  /**
   * Erases the secret material of every token whose expiry has passed; the record
   * stays, marked expired, for the history. Returns the ids it changed.
   */
  async purgeExpired(): Promise<string[]> {
    const changed: string[] = []
    const nowMs = this.now().getTime()
    await this.mutate((records) => {
      records.forEach((record, index) => {
        if (!record.expires || Date.parse(record.expires) > nowMs) return
        if (record.status === 'issued' || record.sealedToken) {
          // A new object, never an edit in place: the cached JSON of the old one stays right.
          const { sealedToken: _erased, ...rest } = record
          records[index] = { ...rest, status: record.status === 'issued' ? 'expired' : record.status, updatedAt: new Date(nowMs).toISOString() }
          changed.push(record.id)
        }
      })
      return changed.length > 0
    })
    return changed
  }

  /**
   * The records on disk. Parsed (and schema-checked) only when the file changed since we
   * last read or wrote it — another process (the app, another `vkey`) may have written it.
   */
  private async read(): Promise<HandoverRecord[]> {
    let key: string
    try {
      key = statKey(await stat(this.file))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw error
    }
    if (this.cache?.key === key) return this.cache.records
    // Concurrent readers of the same version share one parse.
    if (this.reading?.key === key) return this.reading.promise
    const generation = this.generation
    const promise = this.parseFile().then(({ key: readKey, records }) => {
      // Only if none of our own writes landed meanwhile: an older version must never
      // replace a newer cache.
      if (this.generation === generation) this.cache = { key: readKey, records }
      return records
    })
    this.reading = { key, promise }
    void promise.finally(() => {
      if (this.reading?.promise === promise) this.reading = undefined
    }).catch(() => undefined)
    return promise
  }

  /**
   * Reads and checks the file through one handle, keyed on that handle's own stat, so a
   * write that replaces the file meanwhile cannot pair old content with a new key.
   */
  private async parseFile(): Promise<{ key: string; records: HandoverRecord[] }> {
    let key: string
    let text: string
    try {
      const handle = await open(this.file, 'r')
      try {
        key = statKey(await handle.stat())
        text = await handle.readFile('utf8')
      } finally {
        await handle.close()
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { key: 'missing', records: [] }
      throw error
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new VkError('config.vault', `${this.file} is not valid JSON. It is written atomically, so this means it was edited by hand: restore it from a backup or move it away to start a new history.`, { file: this.file })
    }
    const result = FileSchema.safeParse(parsed)
    if (!result.success) {
      throw new VkError('config.vault', `${this.file} does not have the expected shape (${result.error.issues[0]?.path.join('.') ?? 'root'}). Restore it from a backup or move it away.`, { file: this.file })
    }
    return { key, records: result.data.records }
  }

  /**
   * Read-modify-write under a cross-process lock file, with group commit: changes that
   * arrive while a write is running go into the next single write, and each caller's
   * promise settles once the write holding its change is on disk.
   */
  private mutate(apply: (records: HandoverRecord[]) => boolean | void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ apply, resolve, reject })
      if (!this.writing) void this.flush()
    })
  }

  private async flush(): Promise<void> {
    this.writing = true
    try {
      while (this.pending.length) {
        const batch = this.pending.splice(0)
        const applied: typeof batch = []
        try {
          const release = await acquireLock(join(this.dataDir, LOCK))
          try {
            // Changes apply to the cached records in place (each one is atomic on its own:
            // update() swaps in a checked copy); if the write fails the cache is dropped.
            const records = await this.read()
            let changed = false
            for (const change of batch) {
              try {
                if (change.apply(records) !== false) changed = true
                applied.push(change)
              } catch (error) {
                change.reject(error)
              }
            }
            if (changed) {
              try {
                await writeFileAtomic(this.file, serializeRecords(records))
                this.generation += 1
                this.cache = { key: statKey(await stat(this.file)), records }
              } catch (error) {
                this.generation += 1
                this.cache = undefined
                throw error
              }
            }
          } finally {
            await release()
          }
          for (const change of applied) change.resolve()
        } catch (error) {
          // Nothing of this batch reached the disk (a settled promise ignores a second reject).
          for (const change of batch) change.reject(error)
        }
      }
    } finally {
      this.writing = false
    }
  }
}

/** Each record's JSON, kept while the record object is unchanged (changes replace the object). */
const recordJson = new WeakMap<HandoverRecord, string>()

function serializeRecords(records: HandoverRecord[]): string {
  const parts = records.map((record) => {
    let json = recordJson.get(record)
    if (json === undefined) {
      json = JSON.stringify(record)
      recordJson.set(record, json)
    }
    return json
  })
  return `{"version":1,"records":[\n${parts.join(',\n')}\n]}`
}

function statKey(info: { ino: number; size: number; mtimeMs: number; ctimeMs: number }): string {
  return `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`
}

/** Summary of a stored error for a record. */
export function storedError(error: ErrorView): HandoverRecord['error'] {
  return { code: error.code, message: error.message, details: { ...error.details } }
}

/**
 * A lock file created with O_EXCL holding our pid. A lock whose process is gone (a
 * killed `vkey batch`) or that is older than a minute is broken.
 */
async function acquireLock(path: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + 15_000
  for (;;) {
    try {
      // Synchronous: a free lock costs three system calls, not three thread-pool round trips.
      const fd = openSync(path, 'wx', 0o600)
      try {
        writeSync(fd, String(process.pid))
      } finally {
        closeSync(fd)
      }
      return async () => {
        rmSync(path, { force: true })
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      if (await lockIsStale(path)) {
        rmSync(path, { force: true })
        continue
      }
      if (Date.now() > deadline) {
        throw new VkError('config.vault', `The data folder is locked by another VK Depot process (${path}). Close the other app or command, or delete that file if none is running.`, { file: path })
      }
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20))
    }
  }
}

async function lockIsStale(path: string): Promise<boolean> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)])
    const pid = Number(text)
    if (Date.now() - info.mtimeMs > 60_000) return true
    if (!Number.isInteger(pid) || pid <= 0) return Date.now() - info.mtimeMs > 2_000
    try {
      process.kill(pid, 0)
      return false
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH'
    }
  } catch {
    return false
  }
}
