/**
 * Exports to a file the user picks in a save dialog: one key as PNG, SVG or JSON, the
 * handover pack (PDF) and the audit (CSV). Files outside the data folder are recorded in it
 * while written: a crash mid-write leaves no car key in a temp file nobody sweeps.
 */
import { basename } from 'node:path'
import { inDefaultPack } from '../../../shared/pack-rule'
import { VkError } from '../../../shared/errors'
import { exportAuditCsv } from '../../core/audit'
import { environmentResolver } from '../../core/handover-environment'
import { tokenJsonOf } from '../../core/handover-payload'
import { hasValidToken } from '../../core/handover-record'
import { writeHandoverPack } from '../../core/pack'
import { renderHandoverQr } from '../../core/qr'
import { writeFileAtomic } from '../../core/secure-files'
import { keyOf } from '../views'
import type { Feature, HandlerContext } from './context'

export function exportsFeature({ depot, deps }: HandlerContext): Feature<'handovers:export' | 'pack:export' | 'audit:export'> {
  return {
    handlers: {
      async 'handovers:export'(input) {
        const { record, token, payload, environment } = await keyOf(depot, input.id)
        const path = await deps.dialogs.chooseSavePath(`vkey-${record.vin ?? record.id}.${input.format}`, input.format)
        if (!path) return { saved: false }
        const content =
          input.format === 'json' ? `${JSON.stringify(tokenJsonOf(record, token), null, 2)}\n` : await renderHandoverQr(payload, input.format, { environment })
        await writeFileAtomic(path, content, { recordIn: deps.dataDir })
        return { saved: true, fileName: basename(path) }
      },
      async 'pack:export'(input) {
        const store = await depot.handovers()
        // Rows the technician ticked go in as chosen; none ticked: the keys not yet handed over.
        const valid = input.ids?.length
          ? (await Promise.all(input.ids.map((id) => store.get(id)))).filter((r) => hasValidToken(r, depot.now()))
          : (await store.list()).filter((r) => inDefaultPack(r.status, hasValidToken(r, depot.now())))
        if (!valid.length) throw new VkError('not-found', 'No valid token to put in a handover pack. Request tokens first.')
        const path = await deps.dialogs.chooseSavePath('vkey-handover-pack.pdf', 'pdf')
        if (!path) return { saved: false, pages: 0 }
        const pages = await writeHandoverPack(path, valid, store, { environmentOf: environmentResolver(depot.profiles) })
        return { saved: true, fileName: basename(path), pages }
      },
      async 'audit:export'() {
        const path = await deps.dialogs.chooseSavePath('vkey-audit.csv', 'csv')
        if (!path) return { saved: false, rows: 0 }
        const store = await depot.handovers()
        const rows = await exportAuditCsv(path, await store.list(), store.events())
        return { saved: true, fileName: basename(path), rows }
      },
    },
  }
}
