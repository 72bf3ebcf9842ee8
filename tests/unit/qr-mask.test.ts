/**
 * The mask VK Depot chooses (electron/core/qr-mask.ts) makes the very symbol qrcode makes with
 * its own choice: same mask, same modules, format information included, for payloads of every
 * size a handover QR can have.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import QRCode from 'qrcode'
import { QR_BYTE_CAPACITY_M } from '../../shared/qr-capacity'
import { applyBestMask } from '../../electron/core/qr-mask'
import { qrMatrix } from '../../electron/core/qr'

function both(bytes: Uint8Array): { ours: QRCode.QRCode; theirs: QRCode.QRCode; mask: number } {
  const segments = [{ data: bytes, mode: 'byte' as const }]
  const theirs = QRCode.create(segments, { errorCorrectionLevel: 'M' })
  const ours = QRCode.create(segments, { errorCorrectionLevel: 'M', maskPattern: 0 })
  const mask = applyBestMask(ours.modules, 0)
  return { ours, theirs, mask }
}

test('for any payload, the mask chosen and every module equal what qrcode makes with its own choice', () => {
  const seen = new Set<number>()
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: QR_BYTE_CAPACITY_M }), (bytes) => {
      const { ours, theirs, mask } = both(bytes)
      seen.add(mask)
      assert.equal(mask, theirs.maskPattern)
      assert.deepEqual(ours.modules.data, theirs.modules.data)
    }),
    { numRuns: 150 },
  )
  assert.ok(seen.size >= 4, `the payloads tried led to several masks (${[...seen].join(', ')}), not one`)
})

test('the handover QR matrix is qrcode’s own symbol for the same text', () => {
  for (const text of ['VF3', 'x'.repeat(700), JSON.stringify({ v: 1, vin: 'VF3ABCDEF12345678', token: 'é'.repeat(300) })]) {
    const theirs = QRCode.create([{ data: Buffer.from(text, 'utf8'), mode: 'byte' }], { errorCorrectionLevel: 'M' })
    assert.deepEqual(qrMatrix(text).data, theirs.modules.data, text.slice(0, 20))
  }
})
