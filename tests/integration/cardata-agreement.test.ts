/**
 * The importer and the simulator agree on valid CarData: every vehicle entry of every
 * fixture in tests/fixtures/cardata and docs/examples is run through both — the
 * importer (parseCarData) and the real simulator over mutual TLS (through VK Depot's
 * PSA client, values sent exactly as written in the file) — and both accept or both
 * refuse its CarData and signature. Entries the importer refuses for other reasons (a
 * bad VIN) still have their CarData judged. The fixture W0VZRHNSXMS654321 (a URL-safe
 * export) used to import fine and then be refused with 400/40007.
 */
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { parseCarData } from '../../shared/cardata'
import { isVkError } from '../../shared/errors'
import { PsaClient } from '../../electron/core/psa-client'
import { demoCredentials, testSimulator } from '../helpers/pki-fixtures'
import { ROOT } from '../helpers/depot-env'

const FOLDERS = [join(ROOT, 'tests/fixtures/cardata'), join(ROOT, 'docs/examples')]

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v)
const key = (o: Json, ...names: string[]) => Object.keys(o).find((k) => names.includes(k.toLowerCase()))

/** The raw CarData pair of each entry, as written in the file (no normalising). */
function rawEntries(root: unknown): { path: string; data: unknown; signature: unknown }[] {
  const listKey = isObject(root) ? key(root, 'vehicles') : undefined
  const entries = Array.isArray(root) ? root : isObject(root) && listKey ? (root[listKey] as unknown[]) : [root]
  const prefix = Array.isArray(root) ? '' : (listKey ?? '')
  return entries.filter(isObject).map((entry, index) => {
    const tokenKey = key(entry, 'cartoken')
    const holder = tokenKey && isObject(entry[tokenKey]) ? (entry[tokenKey] as Json) : entry
    const dataKey = key(holder, 'cardata')
    const sigKey = key(holder, 'cardatasignature', 'cardata_signature')
    const path = Array.isArray(root) || listKey ? `${prefix}[${index}]` : ''
    return { path, data: dataKey ? holder[dataKey] : undefined, signature: sigKey ? holder[sigKey] : undefined }
  })
}

/** True when one of the importer's issues for this entry is about its CarData or signature. */
function importerRefusesCarData(issues: ReturnType<typeof parseCarData>['issues'], entryPath: string): boolean {
  return issues.some((issue) => {
    const field = issue.field ?? ''
    const inEntry = entryPath === '' ? !/^\w*\[\d+\]/.test(field) : field.startsWith(`${entryPath}.`)
    return inEntry && /(^|\.)(cardata|cardata_signature|cardatasignature|cartoken)$/i.test(field)
  })
}

test('the importer and the simulator accept and refuse exactly the same CarData, entry by entry, over every fixture and example', async (t) => {
  const sim = await testSimulator(t)
  const client = new PsaClient(demoCredentials(sim), { retryBaseDelayMs: 5, maxTries: 1 })
  t.after(() => client.close())
  const files = (
    await Promise.all(FOLDERS.map(async (folder) => (await readdir(folder)).filter((f) => f.endsWith('.json')).map((f) => join(folder, f))))
  ).flat()
  assert.ok(files.length >= 6, `fixtures and examples found: ${files.join(', ')}`)
  let accepted = 0
  let refused = 0
  for (const file of files) {
    const text = await readFile(file, 'utf8')
    const imported = parseCarData(text, file)
    for (const entry of rawEntries(JSON.parse(text.replace(/^\uFEFF/, '')))) {
      const importerOk = !importerRefusesCarData(imported.issues, entry.path) && entry.data !== undefined && entry.signature !== undefined
      const simulatorOk = await client.requestToken({ carData: entry.data as string, carDataSignature: entry.signature as string, durationSeconds: 600 }).then(
        () => true,
        (error: unknown) => {
          // Only a refusal of the request itself counts (400 from the simulator, or the client refusing an empty value); anything else is a broken test.
          if (isVkError(error) && (error.code === 'psa.bad-request' || error.code === 'input.field')) return false
          throw error
        },
      )
      assert.equal(
        simulatorOk,
        importerOk,
        `${file} ${entry.path || '(the vehicle)'}: importer ${importerOk ? 'accepts' : 'refuses'} the CarData, the simulator ${simulatorOk ? 'accepts' : 'refuses'} it`,
      )
      if (importerOk) accepted += 1
      else refused += 1
    }
    // What the importer hands on (whitespace removed) is accepted too.
    for (const vehicle of imported.vehicles) {
      await client.requestToken({ carData: vehicle.carData, carDataSignature: vehicle.carDataSignature, durationSeconds: 600 })
    }
  }
  assert.ok(accepted >= 8 && refused >= 6, `both verdicts exercised (accepted ${accepted}, refused ${refused})`)
})

test('the URL-safe export W0VZRHNSXMS654321 imports and gets a token from the simulator', async (t) => {
  const sim = await testSimulator(t)
  const client = new PsaClient(demoCredentials(sim), { retryBaseDelayMs: 5 })
  t.after(() => client.close())
  const file = join(ROOT, 'tests/fixtures/cardata/vehicles-list.json')
  const vehicle = parseCarData(await readFile(file, 'utf8'), file).vehicles.find((v) => v.vin === 'W0VZRHNSXMS654321')
  assert.ok(vehicle, 'the URL-safe vehicle imports')
  assert.match(vehicle.carData, /[-_]/, 'its CarData really is URL-safe base64')
  const token = await client.requestToken({ carData: vehicle.carData, carDataSignature: vehicle.carDataSignature, durationSeconds: 3600 })
  assert.equal(token.expiresIn, 3600)
})
