/** The PSA simulator: what the `vkey simulator` command and the tests use. */
export {
  startSimulator,
  defaultFaults,
  TOKEN_PATH,
  DEFAULT_DURATION_SECONDS,
  MAX_DURATION_SECONDS,
  DOCUMENTED_ERROR_STATUSES,
  type Simulator,
  type SimulatorOptions,
  type SimulatorFaults,
  type SimulatorRequestRecord,
  type SimulatorStats,
  type RawRequestCapture,
  type ScriptStep,
} from './server'
export { type StallFaults, type StallMode } from './faults'
export { loadSimulatorMaterial, demoPartnerCredentials, verifyTokenSignature, signToken, type SimulatorMaterial } from './material'
export { simulatorFiles, SERVER_HOST_NAMES, type SimulatorFiles, type DemoCredentials } from './files'
export { makeDemoCarData, simulatorInspect, type DemoCarDataOptions } from './cardata'
export { readClientCas } from './client-cas'
