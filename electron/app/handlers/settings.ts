/** The app itself: what it runs on, its settings, and the ways back after a lost vault key, vault.json or ledger. */
import { join } from 'node:path'
import { EVERY_HANDOVER, type Settings } from '../../../shared/ipc/contract'
import { startNewLedger } from '../../core/ledger-care'
import { settingsLock } from '../../core/owner-lock'
import { repairVault, resetVault } from '../../core/vault-recovery'
import type { Feature, HandlerContext } from './context'

export function settingsFeature({
  depot,
  deps,
  state,
  settings,
  notify,
}: HandlerContext): Feature<'app:info' | 'settings:get' | 'settings:set' | 'vault:reset' | 'vault:repair' | 'ledger:new'> {
  return {
    handlers: {
      async 'app:info'() {
        return {
          version: deps.version,
          platform: deps.platform,
          systemLocale: deps.systemLocale,
          ...(deps.regionalLocale ? { regionalLocale: deps.regionalLocale } : {}),
          dataFolder: deps.dataDir,
          online: state.online,
        }
      },
      async 'settings:get'() {
        return settings()
      },
      async 'settings:set'(input) {
        // A key sent as undefined means "unchanged", not "erase".
        const changes = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined))
        return settingsLock(deps.dataDir)(() => {
          const next: Settings = { ...settings(), ...changes }
          deps.store.set('settings', next)
          return next
        })
      },
      async 'vault:reset'() {
        // No batch can run meanwhile: none gets far without the vault this replaces.
        const report = await resetVault(
          deps.dataDir,
          depot.secretStore,
          depot.profiles.list().map((p) => p.name),
        )
        await depot.reloadVault()
        notify([EVERY_HANDOVER])
        return { profiles: report.profiles.length, records: report.records, unreadable: report.unreadable }
      },
      async 'vault:repair'() {
        const { repaired } = await repairVault(deps.dataDir, depot.secretStore)
        await depot.reloadVault()
        notify([EVERY_HANDOVER])
        return { repaired }
      },
      async 'ledger:new'() {
        // This app's own handle on the old file goes first: the damaged files are moved aside.
        await depot.reloadVault()
        const result = await startNewLedger(deps.dataDir, depot.now())
        notify([EVERY_HANDOVER])
        if (!result.started) return { started: false, keptAside: [] }
        const kept = result.keptAside
        const keptAside = kept ? kept.files.map((name) => join(kept.folder, name)) : []
        return { started: true, keptAside, ...(result.lostSince ? { lostSince: result.lostSince } : {}) }
      },
    },
  }
}
