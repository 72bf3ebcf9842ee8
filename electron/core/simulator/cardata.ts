/**
 * Demo CarData as a car hands it out (API reference, "CarData contents"): CarData is base64
 * of {"timestamp","uin"}; CarData_signature is base64 of a MIME message (an S/MIME-like
 * envelope, a few kilobytes). The simulator, the tests and the docs' examples use it.
 */
import { randomBytes } from 'node:crypto'
import { encodeCarDataInner, inspectCarData, type CarDataInspection } from '../../../shared/cardata-inner'

export interface DemoCarDataOptions {
  uin: string
  /** When the car made it; default now. */
  timestamp?: Date
  /** Bytes of (random) signature material inside the MIME envelope; default 2400. */
  signatureBytes?: number
}

/** {CarData, CarData_signature} of the documented form. */
export function makeDemoCarData(options: DemoCarDataOptions): { carData: string; carDataSignature: string } {
  const timestamp = (options.timestamp ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z')
  const body = randomBytes(options.signatureBytes ?? 2400)
    .toString('base64')
    .replace(/(.{64})/g, '$1\r\n')
  const mime = [
    'MIME-Version: 1.0',
    'Content-Disposition: attachment; filename="smime.p7m"',
    'Content-Type: application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"',
    'Content-Transfer-Encoding: base64',
    '',
    body,
  ].join('\r\n')
  return { carData: encodeCarDataInner({ timestamp, uin: options.uin }), carDataSignature: Buffer.from(mime, 'utf8').toString('base64') }
}

/** The simulator's reading of a CarData it receives: the same function the importer uses. */
export function simulatorInspect(carData: string, now: Date): CarDataInspection {
  return inspectCarData(carData, { now })
}
