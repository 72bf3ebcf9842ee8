/** Who is at the keyboard, for the audit trail: the name a handover, a claim and a fleet entry carry. */
import { userInfo } from 'node:os'

/** The OS user name (it reads the user database: call it once per operation, not per vehicle). */
export function technician(): string {
  try {
    return userInfo().username
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'unknown'
  }
}
