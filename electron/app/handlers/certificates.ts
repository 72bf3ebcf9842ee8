/**
 * The app's certificate-request channels (Settings → Request a certificate, and the banner's
 * Renew now). The key is made and sealed here in the main process; only the CSR (public)
 * is written, where the user chose in the save dialog, and only its description crosses.
 */
import { basename } from 'node:path'
import type { Dialogs } from '../app-deps'
import { certificateStatus, requestCertificate } from '../../core/cert-service'
import type { Depot } from '../../core/depot'
import type { Handlers } from '../ipc-dispatch'
import { writeFileAtomic } from '../../core/secure-files'

export function certificateRequestHandlers(depot: Depot, dialogs: Dialogs): Pick<Handlers, 'certificate:requests' | 'certificate:request'> {
  return {
    async 'certificate:requests'(input) {
      const status = await certificateStatus(depot, input.profile)
      return { login: status.login, draft: status.draft, pending: status.pending }
    },
    async 'certificate:request'(input) {
      const profile = depot.profile(input.profile)
      // Asked first: a cancelled dialog makes no key.
      const path = await dialogs.chooseSavePath(`${profile.login.replace(/[^A-Za-z0-9_-]+/g, '_')}-certificate-request.csr`, 'csr')
      if (!path) return { saved: false }
      const pending = await requestCertificate(depot, profile.name, input.fields, (csrPem) => writeFileAtomic(path, csrPem))
      return { saved: true, fileName: basename(path), pending }
    },
  }
}
