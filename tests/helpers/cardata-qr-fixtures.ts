/** CarData exports of the documented form, for the QR, photo and camera tests. */
import { makeDemoCarData } from '../../electron/core/simulator/cardata'

export interface DemoExport {
  text: string
  vin: string
  uin: string
  carData: string
  carDataSignature: string
}

/**
 * An SDK-shaped export ({vin, uin, carData, carDataSignature, name}). signatureBytes 1800
 * gives a 5-part loop; 200 fits one code.
 */
export function demoExport(n: number, options: { signatureBytes?: number; timestamp?: Date; innerUin?: string; label?: string } = {}): DemoExport {
  const vin = `VF3SCAN${String(n).padStart(10, '0')}`
  const uin = `0A1B2C3D4E5F${String(n).padStart(4, '0')}`
  const { carData, carDataSignature } = makeDemoCarData({
    uin: options.innerUin ?? uin,
    signatureBytes: options.signatureBytes ?? 1800,
    ...(options.timestamp ? { timestamp: options.timestamp } : {}),
  })
  const text = JSON.stringify({ vin, uin, carData, carDataSignature, name: options.label ?? `Scan car ${n}` }, null, 2)
  return { text, vin, uin, carData, carDataSignature }
}
