/** The app itself: what it runs on, its settings, and the way back after a lost vault key. */
import { EVERY_HANDOVER, type Settings } from '../../../shared/ipc/contract'
import { settingsLock } from '../../core/owner-lock'
import { resetVault } from '../../core/vault-recovery'
import type { Feature, HandlerContext } from './context'

export function settingsFeature({
  depot,
  deps,
  state,
  settings,
  notify,
}: HandlerContext): Feature<'app:info' | 'settings:get' | 'settings:set' | 'vault:reset'> {
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
    },
  }
}
