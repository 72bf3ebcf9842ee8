/**
 * In a profile's certificate section: the requests waiting for Stellantis, and the
 * "Request a certificate" wizard (opened by the button, or by the banner's Renew now).
 */
import { useCallback, useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { PendingRequestView } from '../../../shared/cert-request'
import { unwrap, vkey } from '../api'
import { CertificateRequestWizard } from './CertificateRequestWizard'
import { PendingRequests } from './PendingRequests'

/** Which profile's wizard to open; the nonce lets the same profile be asked again. */
export interface RequestTrigger {
  profile: string
  nonce: number
}

export interface CertificateRequestsProps {
  profile: string
  hasCertificate: boolean
  trigger?: RequestTrigger | null | undefined
  onChanged: () => Promise<unknown>
}

export function CertificateRequests({ profile, hasCertificate, trigger, onChanged }: CertificateRequestsProps) {
  const { t } = useTranslation()
  const [open, setOpen] = useState(false)
  const [pending, setPending] = useState<PendingRequestView[]>([])

  const reload = useCallback(async () => {
    try {
      setPending((await unwrap(vkey().certificateRequests({ profile }))).pending)
    } catch {
      // The profile card shows its own errors; the list just stays as it was.
    }
  }, [profile])

  useEffect(() => {
    void reload()
  }, [reload])

  useEffect(() => {
    if (trigger?.profile === profile) setOpen(true)
  }, [trigger, profile])

  if (open) {
    return (
      <CertificateRequestWizard
        profile={profile}
        onClose={() => setOpen(false)}
        onChanged={async () => {
          await reload()
          await onChanged()
        }}
      />
    )
  }
  return (
    <div className="stack">
      <PendingRequests pending={pending} />
      <div className="button-row">
        <button type="button" className="button button--secondary button--small" onClick={() => setOpen(true)}>
          {hasCertificate ? t('certRequest.renew') : t('certRequest.open')}
        </button>
      </div>
    </div>
  )
}
