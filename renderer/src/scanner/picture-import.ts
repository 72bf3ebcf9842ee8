/**
 * A dropped photo or screenshot of the phone's CarData code: decoded in the worker, then
 * imported through the same channel and validation as pasted or dropped JSON.
 */
import type { ImportSummary } from '../../../shared/ipc/contract'
import { exportFromCodes, type PictureKind } from '../../../shared/cardata-scan'
import { unwrap, vkey } from '../api'
import { decodePicture } from './decoder'

export async function importPicture(file: File, kind: PictureKind): Promise<ImportSummary> {
  let texts: string[]
  try {
    texts = await decodePicture(await file.arrayBuffer())
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    return {
      added: [],
      issues: [
        {
          source: file.name,
          code: 'input.file',
          message: `${file.name} could not be read as a picture (${reason.slice(0, 120)}). Save it again, or import the JSON file the phone app exported.`,
        },
      ],
    }
  }
  const found = exportFromCodes(texts, file.name, kind)
  if ('problem' in found) return { added: [], issues: [{ source: file.name, code: 'input.file', message: found.problem }] }
  return unwrap(vkey().importVehicleText({ name: file.name, text: found.text }))
}
