/**
 * Every `vkey …` command VK Depot tells people to run parses with the real parser
 * (electron/cli/spec.ts parseCommandLine, the table the commands themselves parse with):
 * the ones in messages (string literals in electron/ and shared/, found with the
 * TypeScript parser, so comments do not count), the simulator banner's "Next:" line, the
 * help examples, and the README and docs/*.md. Placeholders (FILE, NAME, "X" for a
 * template's ${…}) stand for values; "…" stands for an omitted value or for options left
 * out. In the prose of a document (not its code blocks), a bare command name such as
 * `vkey batch` names the command rather than telling to run it: it must exist. A
 * message's code span is an instruction and must parse whole.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { test } from 'node:test'
import ts from 'typescript'
import { COMMANDS, findCommand, NUMBERS, parseCommandLine, type NumberRange } from '../../electron/cli/spec'
import { ROOT } from '../helpers/depot-env'

interface Found {
  where: string
  command: string
}

function sourceFiles(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
}

/** The text of every string and template literal in a file (`${…}` becomes X). */
function literals(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
  const out: string[] = []
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) out.push(node.text)
    else if (ts.isTemplateExpression(node)) out.push(node.head.text + node.templateSpans.map((s) => `X${s.literal.text}`).join(''))
    ts.forEachChild(node, visit)
  }
  visit(source)
  return out
}

/** The `vkey` part of a shell line: after a pipe, before a redirect, a `&&`, `;` or `&`. */
function vkeyPart(line: string): string | undefined {
  for (const segment of line.split(/\s*(?:&&|;|\|)\s*/)) {
    const m = /^vkey\s.*|^vkey$/.exec(segment.trim())
    if (m)
      return m[0]
        .replace(/\s+<\s+\S+$/, '')
        .replace(/\s*&$/, '')
        .trim()
  }
  return undefined
}

/** Commands a message suggests: its `code spans` holding vkey, and a "Next: vkey …" line. */
function fromMessage(text: string): string[] {
  const found: string[] = []
  for (const m of text.matchAll(/`([^`]*)`/g)) {
    const part = vkeyPart(m[1]!)
    if (part) found.push(part)
  }
  for (const m of text.matchAll(/(?:^|\n)\s*Next:\s*(vkey[^\n]*)/g)) found.push(m[1]!.trim())
  return found
}

/** Commands in Markdown: lines of fenced code blocks (continuations joined, comments cut) and inline code. */
function fromMarkdown(text: string): string[] {
  const found: string[] = []
  const fences = [...text.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1]!)
  for (const block of fences) {
    for (const line of block.replace(/\\\n\s*/g, ' ').split('\n')) {
      const part = vkeyPart(line.replace(/\s+#\s.*$/, ''))
      if (part) found.push(part)
    }
  }
  const prose = text.replace(/```[a-z]*\n[\s\S]*?```/g, '')
  for (const m of prose.matchAll(/`(vkey [^`]*)`/g)) {
    const named = findCommand(words(m[1]!).slice(1))
    // A bare name (`vkey batch`) only names the command.
    if (!(named && named.rest.length === 0)) found.push(m[1]!)
  }
  return found
}

/** Shell words, quotes removed. */
function words(command: string): string[] {
  return [...command.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!)
}

/**
 * argv for the parser: "…" is a value after an option that takes one, else options left
 * out. A placeholder given to a numeric option (`--timeout SECONDS`, `--concurrency N`)
 * stands for a number in its range; a number written out is checked against the range.
 */
function argvOf(command: string): string[] {
  const argv = words(command).slice(1)
  const spec = findCommand(argv)?.spec
  const ranges: Record<string, NumberRange> = spec ? ((NUMBERS as Record<string, Record<string, NumberRange>>)[spec.name] ?? {}) : {}
  const out: string[] = []
  for (const word of argv) {
    const previous = out.at(-1)?.startsWith('--') ? out.at(-1)!.slice(2) : undefined
    if (word !== '…') out.push(previous && ranges[previous] && /^[A-Z]+$/.test(word) ? String(ranges[previous].min) : word)
    else if (previous && spec?.options[previous]?.type === 'string') out.push(ranges[previous] ? String(ranges[previous].min) : 'VALUE')
  }
  return out
}

function collect(): Found[] {
  const found: Found[] = []
  for (const file of [...sourceFiles('electron'), ...sourceFiles('shared')]) {
    for (const text of literals(file)) for (const command of fromMessage(text)) found.push({ where: relative(ROOT, file), command })
  }
  for (const spec of COMMANDS) found.push({ where: `help example of vkey ${spec.name}`, command: vkeyPart(spec.example)! })
  const docs = [
    'README.md',
    ...readdirSync(join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ]
  for (const doc of docs) for (const command of fromMarkdown(readFileSync(join(ROOT, doc), 'utf8'))) found.push({ where: doc, command })
  return found
}

test('every vkey command printed by a message, the simulator banner, the help, the README or docs parses with the real parser', () => {
  const found = collect()
  const failures: string[] = []
  for (const { where, command } of found) {
    try {
      parseCommandLine(argvOf(command))
    } catch (error) {
      failures.push(`${where}: \`${command}\` → ${(error as Error).message}`)
    }
  }
  assert.deepEqual(failures, [])
  // The scan really sees the messages this issue was about.
  const commands = found.map((f) => f.command)
  assert.ok(found.length >= 40, `found ${found.length} commands`)
  assert.ok(commands.includes('vkey profile add sim --env simulator --default'), 'the simulator banner and the profile hints are scanned')
  assert.ok(
    found.some((f) => f.where === 'electron/core/profiles.ts' && f.command.includes('--password-stdin')),
    'the no-profile hint names --password-stdin',
  )
  assert.ok(
    found.some((f) => f.where === 'README.md' && f.command.startsWith('vkey batch')),
    'the README is scanned',
  )
})

test('the checker refuses what the old hints said: an option that does not exist, a missing argument, an unknown command', () => {
  for (const bad of [
    'vkey profile add NAME --env preprod --client-id … --login … --cert …',
    'vkey profile add',
    'vkey cert import',
    'vkey tokens --cardata FILE',
    'vkey token --cardata FILE extra',
  ]) {
    assert.throws(() => parseCommandLine(argvOf(bad)), /vkey|command/, bad)
  }
})
