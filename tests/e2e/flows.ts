/** Steps several e2e files share: a simulator profile with one vehicle, and a token for it. */
import type { HandoverSummary } from '../../shared/ipc/contract'
import { cardataFixture, type App } from './harness'

export const VIN = 'VF3MCYHZRKS123456'

/** "Try the simulator" and one imported vehicle, set up through the handlers; the page is reloaded. */
export async function simulatorWithVehicle(app: App): Promise<HandoverSummary> {
  await app.call('simulator:try')
  const { added } = await app.call('vehicles:import-text', { name: 'sdk-vehicle.json', text: await cardataFixture('sdk-vehicle.json') })
  const vehicle = added[0]
  if (!vehicle) throw new Error('the fixture vehicle was not imported')
  await app.reload()
  await app.page.getByRole('heading', { level: 1, name: 'Vehicles' }).waitFor()
  return vehicle
}

/** A 1 h token for the vehicle, requested through the handlers. */
export async function issueToken(app: App, handoverId: string): Promise<void> {
  await app.call('token:request', { handoverId, duration: { kind: 'seconds', seconds: 3600 }, requestId: `e2e-${Date.now().toString(36)}` })
}
