/**
 * Text from outside (PSA error bodies, labels, file names, VINs) shown on a terminal: the
 * characters a terminal acts on instead of printing are replaced by visible escapes, so an
 * ESC sequence cannot clear the screen, move the cursor or forge a line, and a bidi
 * override cannot reorder what is read. Pure TypeScript.
 *
 * Unsafe: C0 controls (U+0000–U+001F, tab and line breaks included), DEL, C1 controls
 * (U+0080–U+009F, CSI among them), the Unicode line and paragraph separators, and the
 * bidirectional formatting characters (ALM, LRM, RLM, LRE…RLO, LRI…PDI).
 */

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u
// eslint-disable-next-line no-control-regex
const UNSAFE_ALL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu

/** True when the text holds a character a terminal would act on (see above). */
export function hasUnsafeTextChar(text: string): boolean {
  return UNSAFE.test(text)
}

/**
 * The text with every unsafe character shown as a visible escape: ESC (U+001B) becomes
 * the four characters `\x1b`, a line break `\n`, RLO `\u202e`. Everything else is kept.
 */
export function escapeForTerminal(text: string): string {
  return text.replace(UNSAFE_ALL, (char) => {
    const cp = char.codePointAt(0) ?? 0
    if (char === '\n') return '\\n'
    if (char === '\r') return '\\r'
    if (char === '\t') return '\\t'
    return cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`
  })
}
