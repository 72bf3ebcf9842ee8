/** "Did you mean …": the command or option a likely typo meant, and how to print a command line back. */
import { nearest } from '../core/nearest'

/** A word of a command line as a shell reads it back: quoted when it holds anything but plain characters. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}

/** The option `given` (`--profle`) likely meant among a command's options, as `--profile`. */
export function nearestOption(given: string, options: readonly string[]): string | undefined {
  const near = nearest(given.replace(/^-+/, ''), options)
  return near === undefined ? undefined : `--${near}`
}
