/** The states of a handover record, for the ledger, the IPC contract and the screens alike. Pure TypeScript + zod. */
import * as z from 'zod'

/**
 * 'superseded': replaced by a newer key, still valid at PSA until it expires;
 * 'unreadable': its key can no longer be opened (the vault key was lost).
 */
export const HANDOVER_STATUSES = ['draft', 'queued', 'issued', 'handed-over', 'expired', 'superseded', 'unreadable', 'failed'] as const
export const HandoverStatus = z.enum(HANDOVER_STATUSES)
export type HandoverStatus = z.infer<typeof HandoverStatus>
