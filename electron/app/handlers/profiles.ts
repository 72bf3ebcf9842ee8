/** Profiles: list, save, remove, make one the default, and "Try the simulator". */
import { VkError } from '../../../shared/errors'
import type { ProfileView } from '../../../shared/ipc/contract'
import { defaultSimulatorDir, registerSimulator } from '../../core/simulator-registration'
import { profileView } from '../../core/profile-view'
import { startSimulator } from '../../core/simulator'
import { profileViewOf } from '../views'
import type { Feature, HandlerContext } from './context'

export function profilesFeature({
  depot,
  deps,
  state,
}: HandlerContext): Feature<'profiles:list' | 'profiles:save' | 'profiles:remove' | 'profiles:activate' | 'simulator:try'> {
  return {
    handlers: {
      async 'profiles:list'() {
        const views: ProfileView[] = []
        for (const profile of depot.profiles.list()) views.push(profileView(await depot.partners.summary(profile)))
        return { profiles: views }
      },
      async 'profiles:save'(input) {
        let environment: string = input.environment
        if (input.environment === 'custom') {
          if (!input.baseUrl)
            throw new VkError('usage', 'A custom environment needs its base URL, e.g. https://host:port/connectedcar/v3.', { field: 'baseUrl' })
          environment = input.baseUrl
        }
        const profile = await depot.partners.save({
          name: input.name,
          environment,
          clientId: input.clientId,
          login: input.login,
          ...(input.password ? { password: input.password } : {}),
          ...(input.makeDefault ? { makeDefault: true } : {}),
          ...(input.replace ? { replace: true } : {}),
        })
        return profileViewOf(depot, profile.name)
      },
      async 'profiles:remove'(input) {
        return { removed: await depot.partners.remove(input.name) }
      },
      async 'profiles:activate'(input) {
        depot.profiles.setDefault(input.name)
        return profileViewOf(depot, input.name)
      },
      async 'simulator:try'() {
        const dir = defaultSimulatorDir(deps.dataDir)
        state.simulator ??= await startSimulator({ dir, port: 0 })
        await registerSimulator(depot.dataDir, { baseUrl: state.simulator.baseUrl, dir })
        const profile = await depot.partners.save({ name: 'Simulator', environment: 'simulator', makeDefault: true })
        await depot.partners.importSimulatorCertificate(profile.name)
        return profileViewOf(depot, profile.name)
      },
    },
  }
}
