/**
 * Native open/save dialogs for the handlers. The page never names a path: it asks for a
 * purpose, the user picks in a native dialog, and the handlers get the path in main.
 */
import type { BrowserWindow, Dialog, FileFilter, OpenDialogOptions, SaveDialogOptions } from 'electron'
import type { Dialogs, FilePurpose, SaveFormat } from '../app/app-deps'

export const openFilters: Record<FilePurpose, FileFilter[]> = {
  certificate: [{ name: 'Certificate (PKCS#12, PEM or DER)', extensions: ['p12', 'pfx', 'pem', 'crt', 'cer', 'der'] }],
  key: [{ name: 'Private key (PEM)', extensions: ['pem', 'key'] }],
  ca: [{ name: 'CA certificate (PEM)', extensions: ['pem', 'crt', 'cer'] }],
  cardata: [{ name: 'CarData (JSON, or a photo/screenshot of the code)', extensions: ['json', 'png', 'jpg', 'jpeg'] }],
}

const openTitles: Record<FilePurpose, string> = {
  certificate: 'Choose the client certificate',
  key: 'Choose the private key',
  ca: 'Choose the CA certificate',
  cardata: 'Choose CarData files',
}

export const saveFilters: Record<SaveFormat, FileFilter[]> = {
  png: [{ name: 'PNG image', extensions: ['png'] }],
  svg: [{ name: 'SVG image', extensions: ['svg'] }],
  json: [{ name: 'JSON', extensions: ['json'] }],
  pdf: [{ name: 'PDF document', extensions: ['pdf'] }],
  csv: [{ name: 'CSV spreadsheet', extensions: ['csv'] }],
  csr: [{ name: 'Certificate request (PEM)', extensions: ['csr', 'pem'] }],
}

export function openDialogOptions(purpose: FilePurpose, multiple: boolean): OpenDialogOptions {
  return {
    title: openTitles[purpose],
    filters: openFilters[purpose],
    properties: multiple ? ['openFile', 'multiSelections', 'dontAddToRecent'] : ['openFile', 'dontAddToRecent'],
  }
}

export function saveDialogOptions(suggestedName: string, format: SaveFormat): SaveDialogOptions {
  return {
    // Only a base name is suggested: the folder is the user's choice.
    defaultPath: suggestedName.replace(/[\\/]/g, '_'),
    filters: saveFilters[format],
    properties: ['createDirectory', 'showOverwriteConfirmation', 'dontAddToRecent'],
  }
}

/** Dialogs attached to the main window (modal) when there is one. */
export function createDialogs(dialog: Pick<Dialog, 'showOpenDialog' | 'showSaveDialog'>, mainWindow: () => BrowserWindow | undefined): Dialogs {
  return {
    async chooseFiles(purpose, multiple) {
      const options = openDialogOptions(purpose, multiple)
      const window = mainWindow()
      const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options)
      return result.canceled ? [] : result.filePaths
    },
    async chooseSavePath(suggestedName, format) {
      const options = saveDialogOptions(suggestedName, format)
      const window = mainWindow()
      const result = window ? await dialog.showSaveDialog(window, options) : await dialog.showSaveDialog(options)
      return result.canceled || !result.filePath ? undefined : result.filePath
    },
  }
}
