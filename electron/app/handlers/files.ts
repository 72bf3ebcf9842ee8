/** Files chosen in a dialog (the page gets grants, never paths) and CarData imported from them or from pasted text. */
import { basename } from 'node:path'
import { parseCarData, type ImportResult } from '../../../shared/cardata'
import type { ImportSummary } from '../../../shared/ipc/contract'
import { importCarDataFiles } from '../../core/cardata-files'
import { carDataNotesOf, configuredMaxAgeDays } from '../../core/cardata-notes'
import { viewOf } from '../views'
import type { Feature, HandlerContext } from './context'

export function filesFeature({ depot, deps, files, notify }: HandlerContext): Feature<'files:choose' | 'vehicles:import-files' | 'vehicles:import-text'> {
  const importSummary = async (result: ImportResult): Promise<ImportSummary> => {
    const added = await depot.addVehicles(result)
    notify(added.map((r) => r.id))
    const carData = carDataNotesOf(result.vehicles, depot.now(), configuredMaxAgeDays())
    return {
      added: added.map((record) => viewOf(depot, record)),
      issues: result.issues.map((i) => ({ ...i, source: basename(i.source) })),
      ...(carData.length ? { carData } : {}),
    }
  }

  return {
    handlers: {
      async 'files:choose'(input) {
        const paths = await deps.dialogs.chooseFiles(input.purpose, Boolean(input.multiple))
        return { files: paths.map((path) => files.grant(path)) }
      },
      async 'vehicles:import-files'(input) {
        return importSummary(await importCarDataFiles(input.grants.map((grant) => files.pathOf(grant))))
      },
      async 'vehicles:import-text'(input) {
        return importSummary(parseCarData(input.text, basename(input.name)))
      },
    },
  }
}
