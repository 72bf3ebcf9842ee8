/**
 * Handovers: the list (with its filters), one record with its key, a VIN or label set by
 * hand, removal of a vehicle that never got a key, "handed over", the QR code; and the
 * sweep that erases tokens within 20 s of their expiry, now and while the app runs.
 */
import { environmentResolver } from '../../core/handover-environment'
import { detailOf, keyOf, qrImageOf, summaryOf, viewOf } from '../views'
import type { Feature, HandlerContext } from './context'

/** Tokens are erased within this long after they expire (the requirement is 60 s). */
const EXPIRY_SWEEP_MS = 20_000

type HandoverChannel = 'handovers:list' | 'handovers:get' | 'handovers:update' | 'handovers:remove' | 'handovers:mark-handed-over' | 'handovers:qr'

const SWEEP_JOB = 'erasing expired tokens'

/** Erases expired tokens and says which records changed. */
export async function sweepExpired({ depot, notify, failed, worked }: HandlerContext): Promise<void> {
  try {
    notify(await (await depot.handovers()).purgeExpired())
    worked(SWEEP_JOB)
  } catch (error) {
    // The next sweep retries (the keychain may be unavailable until the user sets it up); the line is logged once.
    failed(SWEEP_JOB, error)
  }
}

export function handoversFeature(context: HandlerContext): Feature<HandoverChannel> {
  const { depot, notify } = context
  const expiryTimer = setInterval(() => void sweepExpired(context), EXPIRY_SWEEP_MS)
  expiryTimer.unref()
  return {
    dispose: () => clearInterval(expiryTimer),
    handlers: {
      async 'handovers:list'(input) {
        const records = await (await depot.handovers()).list()
        const from = input?.from ? Date.parse(input.from) : undefined
        const to = input?.to ? Date.parse(input.to) : undefined
        const vin = input?.vin?.trim().toUpperCase()
        const filtered = records.filter(
          (r) =>
            (!vin || (r.vin ?? '').includes(vin)) &&
            (!input?.status || r.status === input.status) &&
            (from === undefined || Date.parse(r.createdAt) >= from) &&
            (to === undefined || Date.parse(r.createdAt) <= to),
        )
        const environmentOf = environmentResolver(depot.profiles)
        const now = depot.now()
        return { handovers: filtered.map((r) => summaryOf(r, environmentOf(r), now)) }
      },
      async 'handovers:get'(input) {
        const record = await (await depot.handovers()).get(input.id)
        return input.token === false ? viewOf(depot, record) : detailOf(depot, record, input.qr)
      },
      async 'handovers:update'(input) {
        const record = await depot.setVin(input.id, input.vin, input.label)
        notify([record.id])
        return viewOf(depot, record)
      },
      async 'handovers:remove'(input) {
        const removed = await (await depot.handovers()).remove(input.id)
        notify([input.id])
        return { removed }
      },
      async 'handovers:mark-handed-over'(input) {
        const record = await (await depot.handovers()).markHandedOver(input.id)
        notify([record.id])
        return viewOf(depot, record)
      },
      async 'handovers:qr'(input) {
        return qrImageOf((await keyOf(depot, input.id)).payload, input.format)
      },
    },
  }
}
