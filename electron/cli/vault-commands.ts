/** `vkey vault reset` and `vkey vault rotate`: the way back after a lost keychain entry, and a key change. */
import { createInterface } from 'node:readline/promises'
import { VkError } from '../../shared/errors'
import { keytarStore } from '../core/keychain'
import { ProfileStore, type Profile } from '../core/profiles'
import { openStore } from '../core/settings-store'
import { repairVault, resetVault, rotateVault } from '../core/vault-recovery'
import { write } from './args'
import { openDataFolder, withDepot } from './depot-access'
import { parseFor, unknownCommand } from './spec'
import type { CliIo } from './io'

export async function vaultCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args
  if (sub === 'reset') return resetCommand(rest, io)
  if (sub === 'rotate') return rotateCommand(rest, io)
  if (sub === 'repair') return repairCommand(rest, io)
  throw unknownCommand(['vault', ...args])
}

async function repairCommand(args: string[], io: CliIo): Promise<number> {
  parseFor('vault repair', args)
  const dataDir = openDataFolder(io)
  const { vaultId, repaired } = await repairVault(dataDir, keytarStore())
  write(
    io,
    repaired
      ? `Vault repaired: vault.json names again the keychain's key vault-key:${vaultId}, which opens this folder's sealed files. Nothing else changed.`
      : `Nothing to repair: vault.json is readable and its key (vault-key:${vaultId}) is in the keychain.`,
  )
  return 0
}

async function resetCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFor('vault reset', args)
  const dataDir = openDataFolder(io)
  if (!values.yes) await confirmReset(io, dataDir)
  const profiles = new ProfileStore(openStore(dataDir)).list()
  const report = await resetVault(
    dataDir,
    keytarStore(),
    profiles.map((p) => p.name),
  )
  write(io, `Vault reset: a new vault key is in the keychain for ${dataDir}.`)
  write(io, `  kept:     ${profiles.length} profile(s) with their settings, ${report.records} handover record(s) with their facts (VIN, label, dates, expiry)`)
  write(io, `  dropped:  the passwords, certificates, CarData and tokens the lost key had sealed`)
  if (report.unreadable)
    write(
      io,
      `  ${report.unreadable} vehicle(s) marked unreadable: the next \`vkey token --cardata FILE --duration 8h\` or \`vkey batch FILE… --duration 8h\` with their CarData issues new keys.`,
    )
  if (profiles.length) write(io, 'Next, give each profile its password and certificate again:')
  for (const profile of profiles) for (const line of nextSteps(profile)) write(io, `  ${line}`)
  return 0
}

/** The commands that bring a profile's secrets back, as they must be typed. */
function nextSteps(profile: Profile): string[] {
  const name = JSON.stringify(profile.name)
  if (profile.environment === 'simulator')
    return [`vkey profile add ${name} --env simulator   (with \`vkey simulator\` running: imports the demo password and certificate)`]
  const env = profile.environment === 'custom' ? profile.baseUrl : profile.environment
  return [
    `printf %s "$PSA_PASSWORD" | vkey profile add ${name} --env ${env} --client-id ${profile.clientId} --login ${profile.login} --password-stdin`,
    `vkey cert import FILE --profile ${name}`,
  ]
}

async function confirmReset(io: CliIo, dataDir: string): Promise<void> {
  const stdin = io.stdin as NodeJS.ReadableStream & { isTTY?: boolean }
  if (!stdin.isTTY) {
    throw new VkError(
      'usage',
      'vkey vault reset: standard input is not a terminal, so it cannot ask for confirmation. To reset from a script, run `vkey vault reset --yes`.',
      { field: '--yes' },
    )
  }
  const prompt = createInterface({ input: io.stdin, output: io.stderr })
  try {
    io.stderr.write(
      `This starts a new vault in ${dataDir}: passwords, certificates and tokens sealed with the lost key are dropped for good (profiles' settings and the history stay).\n`,
    )
    const answer = await prompt.question('Type "reset" to continue: ')
    if (answer.trim().toLowerCase() !== 'reset') throw new VkError('cancelled', 'Nothing was reset.')
  } finally {
    prompt.close()
  }
}

async function rotateCommand(args: string[], io: CliIo): Promise<number> {
  parseFor('vault rotate', args)
  const report = await withDepot(io, async (depot) => rotateVault(depot.dataDir, depot.secretStore, await depot.vault()))
  write(
    io,
    `Vault key rotated: ${report.profiles} profile secret file(s) and ${report.sealedFields} sealed field(s) of the history were sealed again under a new key; the old key was removed from the keychain.`,
  )
  return 0
}
