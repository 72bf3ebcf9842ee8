/**
 * The ways back when the vault key is lost (`vkey vault reset`) and the way to replace a
 * key that may have leaked (`vkey vault rotate`), for the CLI and the app alike.
 *
 * Which processes have the vault open is recorded in `<data>/vault-users/<pid>.json` (a
 * process owner, see process-owner.ts): a rotation waits for no one and never races a live
 * process that still holds only the old key; it stops and says which process to close.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { VkError } from '../../shared/errors'
import { HandoverStore } from './handovers'
import type { SecretStore } from './keychain'
import { currentOwner, isOwnerAlive, parseOwner, type ProcessOwner } from './process-owner'
import { ensurePrivateFolder, isDiskFull, readJsonRecords, writeFileAtomic } from './secure-files'
import { Vault, vaultKeyAccount } from './vault'

const USERS_FOLDER = 'vault-users'

/**
 * Records this process as a user of the data folder's vault (once per process and folder). On
 * a disk that is full right now the record is skipped, so the keys already issued can still be
 * listed and shown for their hand-over; a rotation cannot run on that disk either (it writes
 * every record again), and the next process records itself once there is room.
 */
export async function registerVaultUser(dataDir: string): Promise<void> {
  const folder = path.join(dataDir, USERS_FOLDER)
  try {
    await ensurePrivateFolder(folder)
    const owner = currentOwner()
    await writeFileAtomic(path.join(folder, `${owner.pid}.json`), JSON.stringify(owner))
  } catch (error) {
    if (isDiskFull(error)) return
    throw error
  }
  await otherVaultUsers(dataDir) // drops the records of processes that are gone, so the folder stays small
}

/** The other live processes that have the vault open; records of processes that are gone are removed. */
export async function otherVaultUsers(dataDir: string): Promise<ProcessOwner[]> {
  const me = currentOwner()
  const users: ProcessOwner[] = []
  for (const { file, value } of await readJsonRecords(path.join(dataDir, USERS_FOLDER))) {
    const owner = parseOwner(value)
    if (owner && owner.pid === me.pid && owner.host === me.host) continue
    if (owner && isOwnerAlive(owner)) users.push(owner)
    else if (owner) await fs.rm(file, { force: true }) // its process is gone
  }
  return users
}

/**
 * `vkey vault repair`: vault.json damaged or gone while the keychain still holds the key. The
 * key that opens this folder's sealed files is named again; nothing else changes.
 */
export async function repairVault(dataDir: string, secretStore: SecretStore): Promise<{ vaultId: string; repaired: boolean }> {
  const state = await Vault.inspect(dataDir, secretStore)
  if (state?.vaultId && !state.keyLost) return { vaultId: state.vaultId, repaired: false }
  const vaultId = await Vault.repair(dataDir, secretStore)
  if (!vaultId)
    throw new VkError(
      'config.vault',
      `No vault key in the keychain opens the sealed files in ${path.join(dataDir, 'secrets')} (or there are none to try): the key is lost. \`vkey vault reset\` starts a new vault (profiles' settings and the history are kept; the passwords, certificates and tokens are lost).`,
      { field: 'vault-key' },
    )
  return { vaultId, repaired: true }
}

export interface ResetReport {
  /** Profiles kept (their settings), whose password and certificate must be given again. */
  profiles: string[]
  /** Handover records whose sealed data was dropped. */
  records: number
  /** Of those, the ones now `unreadable` (were drafts, queued or holding a live token). */
  unreadable: number
}

/**
 * Starts a new vault after the old key was lost. Refuses when the key is still there and
 * works (use rotate). Order matters for a crash: first drop what the old key sealed (the
 * ledger's tokens and CarData, the profiles' secrets files), then name the new key in
 * vault.json; a crash before that leaves a folder to reset again.
 */
export async function resetVault(dataDir: string, secretStore: SecretStore, profiles: string[]): Promise<ResetReport> {
  const state = await Vault.inspect(dataDir, secretStore)
  if (state && !state.keyLost) {
    throw new VkError(
      'config.vault',
      `The vault key for ${dataDir} is in the keychain and works, so nothing was reset. To replace the key, run \`vkey vault rotate\`.`,
      { field: 'vault-key' },
    )
  }
  // A vault.json damaged, or naming another vault, while the keychain still holds this folder's key is repaired, never
  // reset: a reset drops what that key opens.
  const found = await Vault.findLostKey(dataDir, secretStore)
  if (found && found !== state?.vaultId)
    throw new VkError(
      'config.vault',
      `The keychain still holds this folder's vault key (vault-key:${found}), which vault.json no longer names: nothing was reset. Run \`vkey vault repair\` to write vault.json again.`,
      { field: 'vault-key' },
    )
  const { vault, commit } = await Vault.prepareNew(dataDir, secretStore)
  try {
    const handovers = new HandoverStore(dataDir, vault)
    const before = await handovers.list()
    const changed = new Set(await handovers.markUnreadable())
    const after = await handovers.list()
    await Vault.dropSecretsFiles(dataDir)
    await commit()
    if (state?.vaultId) await secretStore.delete(vaultKeyAccount(state.vaultId)).catch(() => false)
    const unreadable = after.filter((r) => changed.has(r.id) && r.status === 'unreadable' && before.find((b) => b.id === r.id)?.status !== 'unreadable').length
    return { profiles, records: changed.size, unreadable }
  } finally {
    vault.close()
  }
}

export interface RotateReport {
  profiles: number
  sealedFields: number
}

/**
 * Re-seals everything under a new vault key. vault.json names the new key as `next` first
 * (from then on every process that opens the vault seals with it and opens with both);
 * then each secrets file and the whole ledger are re-sealed; only then vault.json names the
 * new key alone and the old one leaves the keychain. A crash anywhere leaves everything
 * readable, and running rotate again finishes it.
 */
export async function rotateVault(dataDir: string, secretStore: SecretStore, vault: Vault): Promise<RotateReport> {
  await refuseWhileUsed(dataDir, 'vkey vault rotate')
  await vault.beginRotation(secretStore)
  // A process that opened the vault just before `next` was written holds only the old key.
  await refuseWhileUsed(dataDir, 'vkey vault rotate')
  const profiles = await vault.resealSecretsFiles()
  const ledger = new HandoverStore(dataDir, vault)
  let sealedFields: number
  try {
    sealedFields = await ledger.resealAll((purpose, envelope) => vault.reseal(purpose, envelope))
  } finally {
    ledger.close()
  }
  await vault.finishRotation(secretStore)
  return { profiles, sealedFields }
}

/** Refuses `command` while another live VK Depot process has this folder's vault open (the app, a running vkey command). */
export async function refuseWhileUsed(dataDir: string, command: string): Promise<void> {
  const [other] = await otherVaultUsers(dataDir)
  if (other) {
    throw new VkError(
      'config.busy',
      `Another VK Depot process (pid ${other.pid}) has this data folder open: close it (the app, or a running vkey command), then run \`${command}\` again. Nothing is lost meanwhile.`,
      { field: 'vault-key' },
    )
  }
}
