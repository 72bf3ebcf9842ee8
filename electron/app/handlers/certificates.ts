/**
 * The app's certificate channels: importing the partner certificate and the CA from files
 * chosen in a dialog, and the certificate requests (Settings → Request a certificate, and
 * the banner's Renew now). A request's key is made and sealed here in the main process;
 * only the CSR (public) is written, where the user chose in the save dialog, and only its
 * description crosses.
 */
import { basename } from 'node:path'
import { certificateStatus, requestCertificate } from '../../core/cert-service'
import { readRegularFile } from '../../core/regular-file'
import { wipeAfter } from '../../core/secret-bytes'
import { writeFileAtomic } from '../../core/secure-files'
import { profileViewOf } from '../views'
import type { Feature, HandlerContext } from './context'

export function certificatesFeature({
  depot,
  deps,
  files,
}: HandlerContext): Feature<'certificate:import' | 'ca:import' | 'certificate:requests' | 'certificate:request'> {
  return {
    handlers: {
      async 'certificate:import'(input) {
        const certPath = files.pathOf(input.certificate)
        const keyPath = input.key ? files.pathOf(input.key) : undefined
        return wipeAfter(async (hold) => {
          const bytes = hold(await readRegularFile(certPath, { hint: 'Choose the certificate file itself.', field: 'certificate' }))
          const keyBytes = keyPath ? hold(await readRegularFile(keyPath, { hint: 'Choose the key file itself.', field: 'key' })) : undefined
          return depot.partners.importCertificate(input.profile, {
            file: { name: basename(certPath), bytes },
            ...(keyPath && keyBytes ? { key: { name: basename(keyPath), bytes: keyBytes } } : {}),
            ...(input.passphrase !== undefined ? { passphrase: input.passphrase } : {}),
          })
        })
      },
      async 'ca:import'(input) {
        const caPem = (await readRegularFile(files.pathOf(input.ca), { hint: 'Choose the CA certificate file itself.', field: 'ca' })).toString('utf8')
        await depot.partners.setCa(input.profile, caPem)
        return profileViewOf(depot, input.profile)
      },
      async 'certificate:requests'(input) {
        const status = await certificateStatus(depot, input.profile)
        return { login: status.login, draft: status.draft, pending: status.pending }
      },
      async 'certificate:request'(input) {
        const profile = depot.profiles.resolve(input.profile)
        // Asked first: a cancelled dialog makes no key.
        const path = await deps.dialogs.chooseSavePath(`${profile.login.replace(/[^A-Za-z0-9_-]+/g, '_')}-certificate-request.csr`, 'csr')
        if (!path) return { saved: false }
        const pending = await requestCertificate(depot, profile.name, input.fields, (csrPem) => writeFileAtomic(path, csrPem))
        return { saved: true, fileName: basename(path), pending }
      },
    },
  }
}
