/**
 * A lock file that respects the living: it names its owner (process-owner.ts: PID, start
 * time, host) and is broken only when that owner is gone, never because of its age. A
 * laptop suspended inside the lock still owns it when it wakes; the others wait, then stop
 * with "busy: another VK Depot process, pid N, holds it".
 *
 * For VK Depot's small locks (the simulator's key material); the ledger has its own store.
 * Hand-written: npm lock packages (proper-lockfile, lockfile) break locks by age.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import { VkError } from '../../shared/errors'
import { currentOwner, isOwnerAlive, parseOwner, type ProcessOwner } from './process-owner'
import { TEMP_SUFFIX } from './secure-files'

export interface OwnerLockOptions {
  /** What the lock protects, for the busy message ("the simulator folder /x"). */
  what: string
  /** How long to wait for a live owner before saying busy (default 30 s; tests shorten it). */
  waitMs?: number
  /** Pause between tries (default 50 ms). */
  pollMs?: number
}

interface LockContent {
  owner: ProcessOwner
  nonce: string
}

/** Runs `fn` holding the lock at `lockPath`. */
export async function withOwnerLock<T>(lockPath: string, fn: () => Promise<T>, options: OwnerLockOptions): Promise<T> {
  const release = await acquireOwnerLock(lockPath, options)
  try {
    return await fn()
  } finally {
    await release()
  }
}

/** Takes the lock (waiting for a live owner up to `waitMs`) and returns its release. */
export async function acquireOwnerLock(lockPath: string, options: OwnerLockOptions): Promise<() => Promise<void>> {
  const mine: LockContent = { owner: currentOwner(), nonce: randomBytes(12).toString('hex') }
  const deadline = Date.now() + (options.waitMs ?? 30_000)
  for (;;) {
    if (await createWithContent(lockPath, JSON.stringify(mine))) return () => releaseIfMine(lockPath, mine.nonce)
    const holder = await readLock(lockPath)
    if (holder === 'missing') continue
    if (holder === 'unreadable' || !isOwnerAlive(holder.owner)) {
      await breakDeadLock(lockPath, holder === 'unreadable' ? undefined : holder.nonce)
      await new Promise((resolve) => setTimeout(resolve, 1)) // another waiter may be breaking it: let it
      continue
    }
    if (Date.now() >= deadline) {
      throw new VkError(
        'config.busy',
        `${options.what} is busy: another VK Depot process, pid ${holder.owner.pid}, holds it (${lockPath}). Wait for that process to finish or close it, then try again.`,
        { file: lockPath },
      )
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 50))
  }
}

/** Creates `lockPath` with its whole content at once (link(2) of a finished temp file), false if it exists. */
async function createWithContent(lockPath: string, content: string): Promise<boolean> {
  const temporary = `${lockPath}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`
  await fs.writeFile(temporary, content, { mode: 0o600, flag: 'wx' })
  try {
    try {
      await fs.link(temporary, lockPath)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error
      await fs.writeFile(lockPath, content, { mode: 0o600, flag: 'wx' }) // no hard links (FAT, some shares)
    }
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  } finally {
    await fs.rm(temporary, { force: true })
  }
}

async function readLock(lockPath: string): Promise<LockContent | 'missing' | 'unreadable'> {
  let text: string
  try {
    text = await fs.readFile(lockPath, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing'
    throw error
  }
  try {
    const value = JSON.parse(text) as { owner?: unknown; nonce?: unknown }
    const owner = parseOwner(value.owner)
    return owner && typeof value.nonce === 'string' ? { owner, nonce: value.nonce } : 'unreadable'
  } catch {
    return 'unreadable' // never ours: our locks appear with their whole content
  }
}

/**
 * Removes a lock whose owner is gone, under a second lock (`.break`) so that two waiters
 * cannot both break it and the second remove the first one's fresh lock: inside, the lock
 * is removed only if it is still the dead one that was seen.
 */
async function breakDeadLock(lockPath: string, deadNonce: string | undefined): Promise<void> {
  const guard = `${lockPath}.break`
  const mine: LockContent = { owner: currentOwner(), nonce: randomBytes(12).toString('hex') }
  if (!(await createWithContent(guard, JSON.stringify(mine)))) {
    const breaker = await readLock(guard)
    // A breaker that died inside its guard (a few system calls long) would block everyone: its guard goes.
    if (breaker !== 'missing' && (breaker === 'unreadable' || !isOwnerAlive(breaker.owner))) await fs.rm(guard, { force: true })
    return
  }
  try {
    const current = await readLock(lockPath)
    const stillDead = current === 'unreadable' ? deadNonce === undefined : current !== 'missing' && current.nonce === deadNonce
    if (stillDead) await fs.rm(lockPath, { force: true })
  } finally {
    await releaseIfMine(guard, mine.nonce)
  }
}

/** Removes the lock only if it is still ours (a release never removes another process's lock). */
async function releaseIfMine(lockPath: string, nonce: string): Promise<void> {
  const current = await readLock(lockPath)
  if (current !== 'missing' && current !== 'unreadable' && current.nonce === nonce) await fs.rm(lockPath, { force: true })
}
