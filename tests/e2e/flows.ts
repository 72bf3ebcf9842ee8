/** Steps several e2e files share: a simulator profile with one vehicle, and a token for it. */
import { startSimulator, type Simulator } from '../../electron/core/simulator'
import { registerSimulator } from '../../electron/core/simulator-registration'
import type { HandoverSummary } from '../../shared/ipc/contract'
import { cardataFixture, writeFixture, type App } from './harness'

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

/** A valid VIN (17 characters, no I, O or Q), distinct for each n. */
export function fleetVin(n: number): string {
  return `VR3FLEET${String(n).padStart(9, '0')}`
}

/** A phone's CarData export for one vehicle (random base64 CarData and signature, as the simulator accepts). */
export function fleetCarData(n: number): string {
  const random = (bytes: number) => Buffer.from(Array.from({ length: bytes }, () => Math.floor(Math.random() * 256))).toString('base64')
  return JSON.stringify(
    { vin: fleetVin(n), uin: `UIN${String(n).padStart(4, '0')}`, carData: random(96), carDataSignature: random(64), name: `Fleet car ${n}` },
    null,
    2,
  )
}

/** "Try the simulator" through the handlers, then the Vehicles screen (empty). */
export async function simulatorOnly(app: App): Promise<void> {
  await app.call('simulator:try')
  await app.reload()
  await app.page.getByRole('heading', { level: 1, name: 'Vehicles' }).waitFor()
}

/** Writes `count` CarData files into `dir` and imports them through the file dialog, as a technician would. */
export async function importFleet(app: App, dir: string, count: number): Promise<string[]> {
  const paths: string[] = []
  for (let n = 1; n <= count; n += 1) paths.push(await writeFixture(dir, `car-${n}.json`, fleetCarData(n)))
  app.nextFiles(paths)
  await app.page.getByRole('button', { name: 'Choose files…' }).click()
  await app.page.getByText(`Vehicles added: ${count}. Problems: 0.`).waitFor()
  return Array.from({ length: count }, (_, i) => fleetVin(i + 1))
}

/**
 * The simulator back after it was closed, with the same keys (`dir`): on its old port, as a
 * server coming back would be, so requests already under way reach it. If a parallel test
 * took that port meanwhile, on a port the OS gives, with the Simulator profile pointed at it.
 */
export async function simulatorBack(app: App, dir: string, port: number): Promise<Simulator> {
  try {
    return await startSimulator({ dir, port })
  } catch (error) {
    // The simulator wraps the listen error; its cause carries the system's code.
    if ((error as { cause?: NodeJS.ErrnoException }).cause?.code !== 'EADDRINUSE') throw error
  }
  const again = await startSimulator({ dir, port: 0 })
  await registerSimulator(app.handlers.depot.dataDir, { baseUrl: again.baseUrl, dir })
  await app.handlers.depot.partners.save({ name: 'Simulator', environment: 'simulator', makeDefault: true })
  return again
}
