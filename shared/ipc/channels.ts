/**
 * Channel names and the `window.vkey` method each one becomes. Plain data with no
 * imports, so the sandboxed preload can use it without pulling in zod.
 */
export const channelMethods = {
  'app:info': 'appInfo',
  'settings:get': 'getSettings',
  'settings:set': 'setSettings',
  'profiles:list': 'listProfiles',
  'profiles:save': 'saveProfile',
  'profiles:remove': 'removeProfile',
  'profiles:activate': 'activateProfile',
  'simulator:try': 'trySimulator',
  'files:choose': 'chooseFiles',
  'certificate:import': 'importCertificate',
  'ca:import': 'importCa',
  'certificate:requests': 'certificateRequests',
  'certificate:request': 'requestCertificate',
  'vehicles:import-files': 'importVehicleFiles',
  'vehicles:import-text': 'importVehicleText',
  'handovers:list': 'listHandovers',
  'handovers:get': 'getHandover',
  'handovers:update': 'updateHandover',
  'handovers:remove': 'removeHandover',
  'handovers:mark-handed-over': 'markHandedOver',
  'handovers:qr': 'handoverQr',
  'handovers:export': 'exportHandover',
  'token:request': 'requestToken',
  'token:cancel': 'cancelRequest',
  'clipboard:copy-token': 'copyToken',
  'batch:start': 'startBatch',
  'batch:cancel': 'cancelBatch',
  'queue:flush': 'flushQueue',
  'queue:cancel': 'cancelQueued',
  'pack:export': 'exportPack',
  'audit:export': 'exportAudit',
  'vault:reset': 'resetVault',
  'vault:repair': 'repairVault',
  'ledger:new': 'startNewLedger',
  'fleet:status': 'fleetStatus',
  'fleet:join': 'joinFleet',
  'fleet:leave': 'leaveFleet',
  'fleet:view': 'fleetView',
} as const

export const eventMethods = {
  'batch:progress': 'onBatchProgress',
  'handovers:changed': 'onHandoversChanged',
} as const

export type Channel = keyof typeof channelMethods
export type EventChannel = keyof typeof eventMethods
