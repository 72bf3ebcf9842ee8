/**
 * A lock file that respects the living: it names its owner (process-owner.ts: PID, start
 * time, host) and is broken only when that owner is gone, never because of its age. A
 * laptop suspended inside the lock still owns it when it wakes; the others wait, then stop
 * with "busy: another VK Depot process, pid N, holds it".
 *
 * For VK Depot's small locks (the settings file, the simulator's key material); the ledger
 * has its own store. Each try is a few synchronous system calls (no thread-pool round trips),
 * so the same steps serve the async and the sync lock.
 * Hand-written: npm lock packages (proper-lockfile, lockfile) break locks by age.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import * as z from 'zod'
import { VkError } from '../../shared/errors'
import { currentOwner, isOwnerAlive, ProcessOwner } from './process-owner'
import { TEMP_SUFFIX } from './secure-files'

export interface OwnerLockOptions {
  /** What the lock protects, for the busy message ("the simulator folder /x"). */
  what: string
  /** How long to wait for a live owner before saying busy (default 30 s; tests shorten it). */
  waitMs?: number
  /** Pause between tries (default 50 ms). */
  pollMs?: number
}

/** What a lock file holds: who took it, and a nonce that tells this taking from a later one. */
const LockContent = z.object({ owner: ProcessOwner, nonce: z.string() })
type LockContent = z.infer<typeof LockContent>

/** Runs `fn` holding the lock at `lockPath`. */
export async function withOwnerLock<T>(lockPath: string, fn: () => Promise<T>, options: OwnerLockOptions): Promise<T> {
  const release = await acquireOwnerLock(lockPath, options)
  try {
    return await fn()
  } finally {
    release()
  }
}

/**
 * The same for synchronous work (the settings store, which electron-store and conf write
 * synchronously): a wait blocks the thread, so keep `waitMs` short.
 */
export function withOwnerLockSync<T>(lockPath: string, fn: () => T, options: OwnerLockOptions): T {
  // Re-entrant in this thread: a locked step may call another (a profile save sets two keys).
  const depth = syncDepth.get(lockPath) ?? 0
  if (depth > 0) {
    syncDepth.set(lockPath, depth + 1)
    try {
      return fn()
    } finally {
      syncDepth.set(lockPath, depth)
    }
  }
  const attempt = new Attempt(lockPath, options)
  let release: (() => void) | undefined
  while (!(release = attempt.try())) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, attempt.pauseMs())
  syncDepth.set(lockPath, 1)
  try {
    return fn()
  } finally {
    syncDepth.delete(lockPath)
    release()
  }
}

const syncDepth = new Map<string, number>()

/** The lock on the settings file (profiles, app settings), for read-modify-write across processes. */
export function settingsLock(dataDir: string, waitMs = 5000): <T>(fn: () => T) => T {
  const lockPath = join(dataDir, 'settings.lock')
  return (fn) => withOwnerLockSync(lockPath, fn, { what: `The settings file in ${dataDir}`, waitMs })
}

/** Takes the lock (waiting for a live owner up to `waitMs`) and returns its release. */
export async function acquireOwnerLock(lockPath: string, options: OwnerLockOptions): Promise<() => void> {
  const attempt = new Attempt(lockPath, options)
  let release: (() => void) | undefined
  while (!(release = attempt.try())) await new Promise((resolve) => setTimeout(resolve, attempt.pauseMs()))
  return release
}

/** One process's attempts at one lock: each try is a few system calls, never a wait. */
class Attempt {
  private readonly mine: LockContent = { owner: currentOwner(), nonce: randomBytes(12).toString('hex') }
  private readonly deadline: number
  private broke = false

  constructor(
    private readonly lockPath: string,
    private readonly options: OwnerLockOptions,
  ) {
    this.deadline = Date.now() + (options.waitMs ?? 30_000)
  }

  /** The release when the lock was taken; undefined to wait and try again; throws busy past the deadline. */
  try(): (() => void) | undefined {
    const { lockPath, mine } = this
    this.broke = false
    if (createWithContent(lockPath, JSON.stringify(mine))) return () => releaseIfMine(lockPath, mine.nonce)
    const holder = readLock(lockPath)
    if (holder === 'missing') return undefined
    if (holder === 'unreadable' || !isOwnerAlive(holder.owner)) {
      breakDeadLock(lockPath, holder === 'unreadable' ? undefined : holder.nonce)
      this.broke = true
      return undefined
    }
    if (Date.now() >= this.deadline) {
      throw new VkError(
        'config.busy',
        `${this.options.what} is busy: another VK Depot process, pid ${holder.owner.pid}, holds it (${lockPath}). Wait for that process to finish or close it, then try again.`,
        { file: lockPath },
      )
    }
    return undefined
  }

  /** After a break, try again at once (another waiter may be breaking it too: 1 ms); else the poll pause. */
  pauseMs(): number {
    return this.broke ? 1 : (this.options.pollMs ?? 50)
  }
}

/** Creates `lockPath` with its whole content at once (link(2) of a finished temp file), false if it exists. */
function createWithContent(lockPath: string, content: string): boolean {
  const temporary = `${lockPath}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`
  writeFileSync(temporary, content, { mode: 0o600, flag: 'wx' })
  try {
    try {
      linkSync(temporary, lockPath)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error
      writeFileSync(lockPath, content, { mode: 0o600, flag: 'wx' }) // no hard links (FAT, some shares)
    }
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  } finally {
    rmSync(temporary, { force: true })
  }
}

function readLock(lockPath: string): LockContent | 'missing' | 'unreadable' {
  let text: string
  try {
    text = readFileSync(lockPath, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing'
    throw error
  }
  try {
    return LockContent.safeParse(JSON.parse(text)).data ?? 'unreadable'
  } catch {
    return 'unreadable' // never ours: our locks appear with their whole content
  }
}

/**
 * Removes a lock whose owner is gone, under a second lock (`.break`) so that two waiters
 * cannot both break it and the second remove the first one's fresh lock: inside, the lock
 * is removed only if it is still the dead one that was seen.
 */
function breakDeadLock(lockPath: string, deadNonce: string | undefined): void {
  const guard = `${lockPath}.break`
  const mine: LockContent = { owner: currentOwner(), nonce: randomBytes(12).toString('hex') }
  if (!createWithContent(guard, JSON.stringify(mine))) {
    const breaker = readLock(guard)
    // A breaker that died inside its guard (a few system calls long) would block everyone: its guard goes.
    if (breaker !== 'missing' && (breaker === 'unreadable' || !isOwnerAlive(breaker.owner))) rmSync(guard, { force: true })
    return
  }
  try {
    const current = readLock(lockPath)
    const stillDead = current === 'unreadable' ? deadNonce === undefined : current !== 'missing' && current.nonce === deadNonce
    if (stillDead) rmSync(lockPath, { force: true })
  } finally {
    releaseIfMine(guard, mine.nonce)
  }
}

/** Removes the lock only if it is still ours (a release never removes another process's lock). */
function releaseIfMine(lockPath: string, nonce: string): void {
  const current = readLock(lockPath)
  if (current !== 'missing' && current !== 'unreadable' && current.nonce === nonce) rmSync(lockPath, { force: true })
}
