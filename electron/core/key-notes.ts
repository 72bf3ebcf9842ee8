/**
 * What a person reads about a record's key beside it: superseded (and still valid at PSA
 * until when), its expiry, PSA granting longer than asked, a key that ends before the
 * planned window, the batch it came from, the last error, a key its own or an earlier cut-off request
 * may have got. One set of words for `vkey list` and the audit CSV's note column: each picks
 * the notes it shows and writes the times its way (local with zone for people, ISO UTC in the
 * CSV).
 */
import { coversPlan, hasValidToken, isCutOff, type HandoverRecord } from './handover-record'

export type KeyNoteKind = 'superseded' | 'expires' | 'longer-than-asked' | 'short-of-plan' | 'batch' | 'error' | 'cut-off' | 'earlier-cut-off'

export interface KeyNote {
  kind: KeyNoteKind
  /** Something to look at before handing the key over (shown with a `!` on screen). */
  warning: boolean
  text: string
}

/** The notes about a record, in reading order; `now` is needed for the planned-window check (left out without it). */
export function keyNotes(r: HandoverRecord, options: { time: (iso: string) => string; now?: Date }): KeyNote[] {
  const until = r.expires ? options.time(r.expires) : '?'
  const notes: KeyNote[] = []
  if (r.status === 'superseded')
    notes.push({ kind: 'superseded', warning: false, text: `superseded by ${r.supersededBy ?? '?'}; still valid at PSA until ${until}` })
  else if (r.expires && (r.status === 'issued' || r.status === 'handed-over')) notes.push({ kind: 'expires', warning: false, text: `expires ${until}` })
  else if (r.expires && r.status === 'expired') notes.push({ kind: 'expires', warning: false, text: `since ${until}` })
  if (r.longerThanAsked) notes.push({ kind: 'longer-than-asked', warning: true, text: `PSA granted longer than asked (until ${until})` })
  if (options.now && coversPlan(r) === false && hasValidToken(r, options.now))
    notes.push({ kind: 'short-of-plan', warning: true, text: 'key ends before the planned window' })
  if (r.batchId) notes.push({ kind: 'batch', warning: false, text: `batch ${r.batchId}` })
  if (r.error) notes.push({ kind: 'error', warning: false, text: r.error.message })
  const unstored = cutOffNote(r, options) ?? earlierCutOffNote(r, options)
  if (unstored) notes.push(unstored)
  return notes
}

/** A key the record's own last request may have got, cut off or unanswered (handover-record.ts isCutOff): said until its window has ended. */
export function cutOffNote(r: HandoverRecord, options: { time: (iso: string) => string; now?: Date }): KeyNote | undefined {
  if (!isCutOff(r)) return undefined
  return unstoredKeyNote('cut-off', 'its request got no answer', r.plannedEnd, options)
}

/** A key an earlier, cut-off request may have got (handover-record.ts keepCutOffMark): said until its window has ended (always in the audit). */
export function earlierCutOffNote(r: HandoverRecord, options: { time: (iso: string) => string; now?: Date }): KeyNote | undefined {
  const mark = r.earlierCutOff
  if (!mark || isCutOff(r)) return undefined
  return unstoredKeyNote('earlier-cut-off', 'an earlier request got no answer', mark.until, options)
}

function unstoredKeyNote(
  kind: KeyNoteKind,
  what: string,
  end: string | undefined,
  options: { time: (iso: string) => string; now?: Date },
): KeyNote | undefined {
  if (options.now && end && Date.parse(end) <= options.now.getTime()) return undefined
  const until = end ? `, opening the car until ${options.time(end)} at the latest` : ''
  return { kind, warning: true, text: `${what}: PSA may hold a key from it that is not stored here${until}` }
}
