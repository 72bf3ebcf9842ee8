/**
 * A small durable record store: a snapshot file plus an append-only log of changes.
 *
 * Why not rewrite one JSON file per change: a depot's history holds hundreds of records,
 * and a batch changes one per token. Rewriting the whole file each time made the store,
 * not the network, the limit of a batch (docs/performance.md). Here a change appends one
 * line per changed record (fsync'd), and the log is folded into a new snapshot (written
 * atomically) once it grows past a threshold.
 *
 * Several processes may share the folder (the app and `vkey`): every write happens under
 * a lock file, after reading what the others appended. Crash safety:
 * - a torn last line (a process killed mid-append) has no newline: it is ignored and
 *   cut off before the next append;
 * - compaction writes the snapshot atomically before it empties the log, and replaying the
 *   old log over the new snapshot ends in the same state, so a crash between is harmless.
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs'
import { open, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { VkError } from '../../shared/errors'
import { writeFileAtomic } from './secure-files'

export interface RecordJournalOptions<T> {
  dir: string
  /** Base name: `<name>.json` (snapshot), `<name>.log` (changes), `<name>.lock`. */
  name: string
  /** Checks one stored record (throws on a bad one). */
  parseRecord: (value: unknown) => T
  /** Fold the log into the snapshot once it is larger than this (bytes). */
  compactBytes?: number
}

interface State<T> {
  snapshotKey: string
  logIno: number
  /** Bytes of the log applied (up to the last complete line). */
  offset: number
  records: T[]
}

interface PendingChange<T> {
  apply: (records: T[]) => boolean | void
  compact: boolean
  resolve: () => void
  reject: (error: unknown) => void
}

/** Each record's JSON, kept while the record object is unchanged (changes replace objects). */
const jsonOf = new WeakMap<object, string>()

function recordJson(record: object): string {
  let json = jsonOf.get(record)
  if (json === undefined) {
    json = JSON.stringify(record)
    jsonOf.set(record, json)
  }
  return json
}

function statKey(info: { ino: number; size: number; mtimeMs: number; ctimeMs: number }): string {
  return `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`
}

async function statOrNull(path: string) {
  try {
    return await stat(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
}

export class RecordJournal<T extends { id: string }> {
  private state: State<T> | undefined
  private loading: { key: string; promise: Promise<State<T>> } | undefined
  /** Counts our own writes: a load that started before one must not replace the state. */
  private generation = 0
  private pending: PendingChange<T>[] = []
  private writing = false
  private readonly compactBytes: number

  constructor(private readonly options: RecordJournalOptions<T>) {
    this.compactBytes = options.compactBytes ?? 1024 * 1024
  }

  get snapshotFile(): string {
    return join(this.options.dir, `${this.options.name}.json`)
  }

  get logFile(): string {
    return join(this.options.dir, `${this.options.name}.log`)
  }

  private get lockFile(): string {
    return join(this.options.dir, `${this.options.name}.lock`)
  }

  /** The current records. Treat as read-only: changes go through mutate(). */
  async read(): Promise<T[]> {
    return (await this.current()).records
  }

  /**
   * Applies a change under the lock, with group commit: changes that arrive while a write
   * is running go into the next single append, and each caller's promise settles once the
   * append holding its change is on disk. `apply` replaces records rather than editing
   * them, and returns false when it changed nothing. `compact` folds the log into the
   * snapshot right after, so that what the change erased is no longer on disk either.
   */
  mutate(apply: (records: T[]) => boolean | void, options: { compact?: boolean } = {}): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ apply, compact: Boolean(options.compact), resolve, reject })
      if (!this.writing) void this.flush()
    })
  }

  private async current(): Promise<State<T>> {
    const [snapshot, log] = await Promise.all([statOrNull(this.snapshotFile), statOrNull(this.logFile)])
    const snapshotKey = snapshot ? statKey(snapshot) : 'none'
    const logIno = log?.ino ?? 0
    const logSize = log?.size ?? 0
    const state = this.state
    if (state && state.snapshotKey === snapshotKey && state.logIno === logIno && state.offset === logSize) return state
    const key = `${snapshotKey}|${logIno}|${logSize}`
    if (this.loading?.key === key) return this.loading.promise
    const generation = this.generation
    const base = state && state.snapshotKey === snapshotKey && state.logIno === logIno && state.offset <= logSize ? state : undefined
    const promise = this.load(base).then((loaded) => {
      if (this.generation === generation) this.state = loaded
      return loaded
    })
    this.loading = { key, promise }
    void promise
      .finally(() => {
        if (this.loading?.promise === promise) this.loading = undefined
      })
      .catch(() => undefined)
    return promise
  }

  /** Loads the snapshot (unless a base state already holds it) and replays the log after it. */
  private async load(base: State<T> | undefined): Promise<State<T>> {
    let records: T[]
    let snapshotKey: string
    let from: number
    if (base) {
      records = base.records.slice()
      snapshotKey = base.snapshotKey
      from = base.offset
    } else {
      ;({ records, key: snapshotKey } = await this.readSnapshot())
      from = 0
    }
    let logIno: number
    let offset = from
    let handle
    try {
      handle = await open(this.logFile, 'r')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      return { snapshotKey, logIno: 0, offset: 0, records }
    }
    try {
      const info = await handle.stat()
      logIno = info.ino
      if (info.size > from) {
        const buffer = Buffer.allocUnsafe(info.size - from)
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, from)
        const text = buffer.subarray(0, bytesRead)
        const end = text.lastIndexOf(0x0a) + 1 // a torn last line (no newline yet) is left for later
        if (end > 0) {
          const index = new Map(records.map((record, i) => [record.id, i]))
          let lineNumber = 0
          for (const line of text.subarray(0, end).toString('utf8').split('\n')) {
            if (!line) continue
            lineNumber += 1
            this.applyLine(records, index, line, lineNumber)
          }
          offset = from + end
        }
      }
    } finally {
      await handle.close()
    }
    return { snapshotKey, logIno, offset, records }
  }

  private applyLine(records: T[], index: Map<string, number>, line: string, lineNumber: number): void {
    let entry: { put?: unknown; del?: unknown }
    try {
      entry = JSON.parse(line) as { put?: unknown; del?: unknown }
    } catch {
      throw this.corrupt(`line ${lineNumber} of ${this.logFile} is not valid JSON`)
    }
    if (typeof entry.del === 'string') {
      const at = index.get(entry.del)
      if (at !== undefined) {
        records.splice(at, 1)
        index.clear()
        records.forEach((record, i) => index.set(record.id, i))
      }
      return
    }
    let record: T
    try {
      record = this.options.parseRecord(entry.put)
    } catch {
      throw this.corrupt(`line ${lineNumber} of ${this.logFile} does not hold a valid record`)
    }
    const at = index.get(record.id)
    if (at === undefined) {
      index.set(record.id, records.length)
      records.push(record)
    } else {
      records[at] = record
    }
  }

  private async readSnapshot(): Promise<{ records: T[]; key: string }> {
    let handle
    try {
      handle = await open(this.snapshotFile, 'r')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], key: 'none' }
      throw error
    }
    let text: string
    let key: string
    try {
      key = statKey(await handle.stat())
      text = await handle.readFile('utf8')
    } finally {
      await handle.close()
    }
    let parsed: { version?: unknown; records?: unknown }
    try {
      parsed = JSON.parse(text) as { version?: unknown; records?: unknown }
    } catch {
      throw this.corrupt(`${this.snapshotFile} is not valid JSON`)
    }
    if (parsed.version !== 1 || !Array.isArray(parsed.records)) throw this.corrupt(`${this.snapshotFile} does not have the expected shape`)
    const records = parsed.records.map((value, i) => {
      try {
        return this.options.parseRecord(value)
      } catch {
        throw this.corrupt(`record ${i + 1} of ${this.snapshotFile} is not valid`)
      }
    })
    return { records, key }
  }

  private corrupt(what: string): VkError {
    return new VkError('config.vault', `${what}. VK Depot writes it atomically, so it was changed by something else: restore the data folder from a backup, or move these files away to start a new history.`, { file: this.snapshotFile })
  }

  private async flush(): Promise<void> {
    this.writing = true
    try {
      while (this.pending.length) {
        const batch = this.pending.splice(0)
        const applied: PendingChange<T>[] = []
        try {
          const release = await acquireLock(this.lockFile)
          try {
            const state = await this.current()
            const records = state.records.slice()
            const before = new Map(records.map((record) => [record.id, record]))
            let changed = false
            let compact = false
            for (const change of batch) {
              try {
                if (change.apply(records) !== false) {
                  changed = true
                  compact ||= change.compact
                }
                applied.push(change)
              } catch (error) {
                change.reject(error)
              }
            }
            if (changed) await this.write(state, before, records, compact)
          } finally {
            await release()
          }
          for (const change of applied) change.resolve()
        } catch (error) {
          // Nothing of this batch is on disk (a settled promise ignores a second reject).
          this.state = undefined
          for (const change of batch) change.reject(error)
        }
      }
    } finally {
      this.writing = false
    }
  }

  /** Appends what changed since `before`, then compacts if the log has grown too large. */
  private async write(state: State<T>, before: Map<string, T>, records: T[], compact = false): Promise<void> {
    const lines: string[] = []
    const ids = new Set<string>()
    for (const record of records) {
      ids.add(record.id)
      if (before.get(record.id) !== record) lines.push(`{"put":${recordJson(record)}}\n`)
    }
    for (const id of before.keys()) if (!ids.has(id)) lines.push(`${JSON.stringify({ del: id })}\n`)
    this.generation += 1
    if (!lines.length) {
      this.state = { ...state, records }
      return
    }
    const handle = await open(this.logFile, 'a+', 0o600)
    let info
    try {
      info = await handle.stat()
      // Cut a torn line a killed writer left, so the next line starts on its own.
      if (info.size > state.offset && info.ino === state.logIno) await handle.truncate(state.offset)
      const created = info.size === 0 && state.logIno !== info.ino
      await handle.write(lines.join(''))
      await handle.sync()
      info = await handle.stat()
      if (created) await syncFolder(this.options.dir)
    } finally {
      await handle.close()
    }
    this.state = { snapshotKey: state.snapshotKey, logIno: info.ino, offset: info.size, records }
    if (compact || info.size > this.compactBytes) await this.compact(records)
  }

  /** Folds the log into a new snapshot. */
  private async compact(records: T[]): Promise<void> {
    await writeFileAtomic(this.snapshotFile, `{"version":1,"records":[\n${records.map(recordJson).join(',\n')}\n]}`)
    const handle = await open(this.logFile, 'r+')
    let logIno: number
    try {
      await handle.truncate(0)
      await handle.sync()
      logIno = (await handle.stat()).ino
    } finally {
      await handle.close()
    }
    const snapshot = await stat(this.snapshotFile)
    this.state = { snapshotKey: statKey(snapshot), logIno, offset: 0, records }
  }
}

async function syncFolder(dir: string): Promise<void> {
  if (process.platform === 'win32') return
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } catch {
    // Some file systems refuse fsync on a folder.
  } finally {
    await handle.close()
  }
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
