/** The word a likely typo meant, among known ones: commands, options, profile names. */
import { closest, distance } from 'fastest-levenshtein'

/**
 * The candidate `word` likely meant: the only one it begins (`stat` → status), the only one two
 * neighbouring letters swapped give (`jion` → join: Levenshtein counts that as two edits), or
 * one an edit or two away (Levenshtein).
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  if (!word || !candidates.length) return undefined
  const begun = candidates.filter((c) => c.startsWith(word))
  if (begun.length === 1) return begun[0]
  const swapped = candidates.filter((c) => isNeighbourSwap(word, c))
  if (swapped.length === 1) return swapped[0]
  const best = closest(word, candidates as string[])
  return distance(word, best) <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined
}

/** `a` with two neighbouring letters swapped is `b`. */
function isNeighbourSwap(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  const diff = [...a].flatMap((ch, i) => (ch === b[i] ? [] : [i]))
  return diff.length === 2 && diff[1] === diff[0]! + 1 && a[diff[0]!] === b[diff[1]!] && a[diff[1]!] === b[diff[0]!]
}
