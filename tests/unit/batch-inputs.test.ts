/** core/batch-inputs.ts: what a batch asks for, from its CarData files and the ledger. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ImportedVehicle } from '../../shared/cardata'
import { batchInputs } from '../../electron/core/batch-inputs'

const car = (source: string, carData: string, vin?: string): ImportedVehicle => ({
  source,
  index: 0,
  carData,
  carDataSignature: 'c2ln',
  ...(vin ? { vin } : {}),
})
const hashOf = (v: ImportedVehicle) => v.carData

test('each CarData is asked for once; a repeat is named, another VIN for it is an issue; the ledger counts as seen', () => {
  const ledger = new Map([['QUFB', { id: 'h-old', vin: 'VF3AAAAAAAAAAAAA1' }]])
  const result = batchInputs(
    [
      car('a.json', 'QkJC', 'VF3BBBBBBBBBBBBB2'),
      car('a-again.json', 'QkJC', 'VF3BBBBBBBBBBBBB2'),
      car('no-vin.json', 'QkJC'),
      car('edited.json', 'QkJC', 'VF3CCCCCCCCCCCCC3'),
      car('other-car.json', 'QUFB', 'VF3DDDDDDDDDDDDD4'),
      car('rerun.json', 'QUFB', 'VF3AAAAAAAAAAAAA1'),
      car('rerun-no-vin.json', 'QUFB'),
    ],
    hashOf,
    ledger,
  )
  assert.deepEqual(
    result.fresh.map((v) => v.source),
    ['a.json'],
  )
  assert.deepEqual(result.known, [{ id: 'h-old', source: 'rerun.json' }])
  assert.deepEqual(result.repeated, [
    { source: 'a-again.json', sameAs: 'a.json', vin: 'VF3BBBBBBBBBBBBB2' },
    { source: 'no-vin.json', sameAs: 'a.json', vin: 'VF3BBBBBBBBBBBBB2' },
    { source: 'rerun-no-vin.json', sameAs: 'rerun.json', vin: 'VF3AAAAAAAAAAAAA1' },
  ])
  assert.deepEqual(
    result.issues.map((i) => [i.source, i.code, i.field]),
    [
      ['edited.json', 'input.vin', 'vin'],
      ['other-car.json', 'input.vin', 'vin'],
    ],
  )
  assert.match(result.issues[0]!.message, /VIN VF3CCCCCCCCCCCCC3, but a\.json holds the same CarData with VIN VF3BBBBBBBBBBBBB2/)
  assert.match(result.issues[1]!.message, /already recorded for VF3AAAAAAAAAAAAA1 \(handover h-old\)/)
  // Every input is accounted for: asked for, repeated or refused.
  assert.equal(result.fresh.length + result.known.length + result.repeated.length + result.issues.length, 7)
})
