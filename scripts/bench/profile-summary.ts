/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by file, and
 * inclusive time, so `npm run bench -- --only 3 --cpu-prof` says where a batch spends its time.
 *
 *   node --import tsx scripts/bench/profile-summary.ts FILE.cpuprofile [rows]
 */
import { readFile } from 'node:fs/promises'
import { pathToFileURL } from 'node:url'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const shortUrl = (url: string): string =>
  url.replace(/^.*?\/node_modules\/([^/]+)\/.*$/, 'npm:$1').replace(/^file:\/\/.*?\/(electron|shared|scripts|renderer)\//, '$1/')

export async function summarizeProfile(file: string, rows = 20): Promise<string> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const timeOf = new Map<number, number>()
  profile.samples.forEach((id, i) => timeOf.set(id, (timeOf.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  const total = [...timeOf.values()].reduce((a, b) => a + b, 0)
  const key = (n: ProfileNode): string =>
    `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`
  const self = new Map<string, number>()
  const byFile = new Map<string, number>()
  const inclusive = new Map<string, number>()
  for (const [id, t] of timeOf) {
    const node = byId.get(id)!
    self.set(key(node), (self.get(key(node)) ?? 0) + t)
    const file = shortUrl(node.callFrame.url) || node.callFrame.functionName
    byFile.set(file, (byFile.get(file) ?? 0) + t)
    const seen = new Set<string>()
    for (let p: number | undefined = id; p !== undefined; p = parent.get(p)) {
      const k = key(byId.get(p)!)
      if (seen.has(k)) continue
      seen.add(k)
      inclusive.set(k, (inclusive.get(k) ?? 0) + t)
    }
  }
  const top = (m: Map<string, number>, skipRoot = false): string =>
    [...m]
      .filter(([k]) => !skipRoot || !k.startsWith('(root)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, rows)
      .map(([k, v]) => `  ${(v / 1000).toFixed(0).padStart(6)} ms ${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`)
      .join('\n')
  return `${file}: ${(total / 1000).toFixed(0)} ms sampled\n self time by function:\n${top(self)}\n self time by file:\n${top(byFile)}\n inclusive time:\n${top(inclusive, true)}`
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [file, rows] = process.argv.slice(2)
  if (!file) {
    process.stderr.write('usage: profile-summary.ts FILE.cpuprofile [rows]\n')
    process.exit(2)
  }
  console.log(await summarizeProfile(file, rows ? Number(rows) : 20))
}
