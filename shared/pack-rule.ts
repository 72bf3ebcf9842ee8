/**
 * Which keys a handover pack holds when none is chosen: those with a valid key not yet handed
 * over. A key already with its driver is not printed again (every page is a car key until it
 * expires); ticked rows and IDs given by name still go in as chosen. One rule for
 * `vkey pack --all-valid`, the app's pack and the count the History screen shows.
 */
export function inDefaultPack(status: string, hasValidKey: boolean): boolean {
  return hasValidKey && status === 'issued'
}
