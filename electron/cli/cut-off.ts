/**
 * What `vkey token`, `vkey batch` and `vkey queue` say of requests an interruption cut off, or
 * that got no answer (core/handover-record.ts isCutOff): PSA may hold a key for each that was not
 * stored here.
 */
import { existsSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import { durationArgument, MIN_DURATION_SECONDS } from '../../shared/duration'
import { formatLocal } from '../../shared/time'
import { isCutOff, isUnanswered, type HandoverRecord } from '../core/handover-record'
import { shellWord } from './did-you-mean'
import { writeHuman, type CliIo } from './io'

/**
 * Vehicles whose last request was cut off. `token` and `batch` ask for them again now (said
 * first); `queue` says they left the queue and how to ask again.
 */
/** The profiles that exist now (a request's own profile may have been removed since): read only when a command is written. */
export interface KnownProfiles {
  list(): readonly { name: string }[]
}

/** `profiles`: the depot's, for the commands `queue` prints. */
export function warnCutOff(io: CliIo, records: readonly HandoverRecord[], command: 'batch' | 'token' | 'queue', profiles: KnownProfiles): void {
  // A key that unanswered request may have got opens the car until its window's end at the latest: said until then.
  const unanswered = records.filter((r) => isUnanswered(r) && (!r.plannedEnd || Date.parse(r.plannedEnd) > Date.now()))
  if (unanswered.length) warnUnanswered(io, unanswered, command)
  const cut = records.filter((r) => isCutOff(r) && !isUnanswered(r))
  if (!cut.length) return
  const one = cut.length === 1
  const names = cut.map((r) => `${r.vin ?? r.id}${command === 'queue' ? queuedFacts(r) : ''}`).join(', ')
  const next =
    command === 'queue'
      ? `${one ? 'It' : 'They'} left the queue, so no flush sends ${one ? 'it' : 'them'} again by itself. To ask again (a new key: the one PSA may have issued was not stored): ${cut.map((r) => askAgain(r, !one, profiles)).join('; ')}.`
      : `This ${command === 'batch' ? 'batch' : 'request'} asks for ${one ? 'it' : 'them'} again (a live key that covers the window is reused).`
  writeHuman(
    io.stderr,
    `vkey ${command}: the last request for ${names} was cut off by an interruption: PSA may have issued a key for ${one ? 'it' : 'each'} that was not stored here (the audit lists the attempt). ${next}`,
  )
}

/** Vehicles whose last request was sent and got no answer: when it was sent, and until when a key it got would open the car. */
function warnUnanswered(io: CliIo, records: readonly HandoverRecord[], command: 'batch' | 'token' | 'queue'): void {
  const one = records.length === 1
  const facts = (r: HandoverRecord) => {
    const said = [r.requestedAt ? `sent ${formatLocal(r.requestedAt)}` : '', r.plannedEnd ? `for a key until ${formatLocal(r.plannedEnd)}` : '']
    return said.some(Boolean) ? ` (${said.filter(Boolean).join(', ')})` : ''
  }
  writeHuman(
    io.stderr,
    `vkey ${command}: the last request for ${records.map((r) => `${r.vin ?? r.id}${facts(r)}`).join(', ')} got no answer: PSA may have issued ${one ? 'a key' : 'keys'} that ${one ? 'was' : 'were'} not stored here and would open the car until then (the audit lists the attempt). This ${command === 'batch' ? 'batch' : 'request'} asks again (a live key that covers the window is reused).`,
  )
}

/**
 * The request again, as it was made: its CarData file, duration, profile and QR file. A profile
 * removed since is not named (the command would fail) nor left out (the default profile, maybe
 * another environment, would answer): NAME stands for the one to use now.
 */
export function askAgain(record: HandoverRecord, named: boolean, profiles: KnownProfiles): string {
  // The CarData file it came from, where it is still there; FILE (the car's export) otherwise.
  const file = record.source && isAbsolute(record.source) && existsSync(record.source) ? shellWord(record.source) : 'FILE'
  const words = ['vkey', 'token', '--cardata', file, '--duration', durationArgument(Math.max(MIN_DURATION_SECONDS, record.durationSeconds ?? 8 * 3600))]
  const profileGone = record.profile !== undefined && !profiles.list().some((profile) => profile.name === record.profile)
  if (record.profile) words.push('--profile', profileGone ? 'NAME' : shellWord(record.profile))
  if (record.deliverQr) words.push('--qr', shellWord(record.deliverQr))
  const notes = [
    named ? (record.vin ?? record.id) : '',
    file === 'FILE' ? 'with its CarData file as FILE' : '',
    profileGone ? `its profile "${record.profile}" was removed: NAME is the one to use now, see \`vkey profile list\`` : '',
  ].filter(Boolean)
  return `\`${words.join(' ')}\`${notes.length ? ` (${notes.join(', ')})` : ''}`
}

/** When the request was queued, and the QR file it was to write, which was not written. */
function queuedFacts(record: HandoverRecord): string {
  const facts = [
    record.queuedAt ? `queued since ${formatLocal(record.queuedAt)}` : undefined,
    record.deliverQr ? `its QR file ${record.deliverQr} was not written` : undefined,
  ]
  const said = facts.filter(Boolean).join('; ')
  return said ? ` (${said})` : ''
}
