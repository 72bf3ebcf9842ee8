/**
 * Who owns a lock or a claim: a process, named by its PID, its start time and its host.
 *
 * A lock is broken only when its owner is gone, never because of its age: a laptop that
 * was suspended inside a write is still the owner when it wakes up. The start time makes a
 * reused PID count as a different process. Written by hand because it is two reads of
 * /proc (Linux) or one `ps` call (macOS); no maintained package does just this.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import * as z from 'zod'

export const ProcessOwner = z.object({
  pid: z.number().int(),
  /** Opaque start time of the process (clock ticks since boot on Linux, `ps lstart` on macOS); '' if unknown. */
  start: z.string(),
  host: z.string(),
})
export type ProcessOwner = z.infer<typeof ProcessOwner>

const startTimes = new Map<number, string>()

/** The start time of process `pid`, or undefined when no such process exists. */
export function processStartTime(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  if (process.platform === 'linux') {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      // Field 22 (starttime); the command name (field 2) may hold spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      return fields[19] ?? ''
    } catch {
      return undefined
    }
  }
  if (!isPidAlive(pid)) return undefined
  if (process.platform === 'darwin') {
    try {
      return execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8', timeout: 2000 }).trim()
    } catch {
      return ''
    }
  }
  return '' // Windows: the PID alone (no cheap start time without native code)
}

function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' // alive, owned by someone else
  }
}

/** This process, as an owner. */
export function currentOwner(): ProcessOwner {
  let start = startTimes.get(process.pid)
  if (start === undefined) {
    start = processStartTime(process.pid) ?? ''
    startTimes.set(process.pid, start)
  }
  return { pid: process.pid, start, host: hostname() }
}

/**
 * False only when we know the owner is gone: same host, and its PID is not running or now
 * belongs to a process that started at another time. An owner on another host counts as alive.
 */
export function isOwnerAlive(owner: ProcessOwner): boolean {
  if (owner.host !== hostname()) return true
  const start = processStartTime(owner.pid)
  if (start === undefined) return false
  return owner.start === '' || start === '' || start === owner.start
}

/** Parses a stored owner; undefined for anything that is not one. */
export function parseOwner(value: unknown): ProcessOwner | undefined {
  return ProcessOwner.safeParse(value).data
}
