/**
 * Certificate requests and renewal over a depot: what `vkey cert request|renew|show`, the
 * app's handlers and the CLI's renewal warning call. The key and CSR are made by
 * cert-request.ts; this module seals the pending key in the profile's vault secrets and says
 * where things stand.
 */
import type { CsrSubjectFields, PendingRequestView } from '../../shared/cert-request'
import { renewalState, type RenewalState } from '../../shared/cert-renewal'
import { VkError } from '../../shared/errors'
import { pendingView, requestDraft, withPendingRequest } from './cert-request'
import { certificateFacts, type CertificateFacts } from './certificates'
import type { Depot } from './depot'

export interface CertificateStatus {
  profile: string
  login: string
  certificate: CertificateFacts | null
  /** Where the current certificate stands against the 60/30/10-day warnings (null without one). */
  renewal: RenewalState | null
  pending: PendingRequestView[]
  /** Fields to prefill a new request with (newest request, else the current certificate). */
  draft: Partial<CsrSubjectFields>
}

export async function certificateStatus(depot: Depot, profileName?: string): Promise<CertificateStatus> {
  const profile = depot.profiles.resolve(profileName)
  const secrets = await (await depot.vault()).loadProfileSecrets(profile.name)
  const certificate = secrets?.certPem ? certificateFacts(secrets.certPem, depot.now()) : null
  return {
    profile: profile.name,
    login: profile.login,
    certificate,
    renewal: certificate ? renewalState(certificate.daysLeft, certificate.status === 'expired') : null,
    pending: (secrets?.pendingRequests ?? []).map(pendingView),
    draft: requestDraft(secrets),
  }
}

/**
 * Makes a key and CSR for the profile (CN = its login), seals the key as a pending key, then
 * hands the CSR to `writeCsr`. If writing fails the pending key is dropped again, so no key
 * waits for a request nobody has.
 */
export async function requestCertificate(
  depot: Depot,
  profileName: string | undefined,
  fields: unknown,
  writeCsr: (csrPem: string) => Promise<void>,
): Promise<PendingRequestView> {
  const profile = depot.profiles.resolve(profileName)
  const { makeCertificateRequest } = await import('./csr')
  const { csrPem, pending } = makeCertificateRequest(profile.login, fields, depot.now())
  const vault = await depot.vault()
  const secrets = (await vault.loadProfileSecrets(profile.name)) ?? {}
  await vault.saveProfileSecrets(profile.name, withPendingRequest(secrets, pending))
  try {
    await writeCsr(csrPem)
  } catch (error) {
    const now = (await vault.loadProfileSecrets(profile.name)) ?? {}
    const pendingRequests = (now.pendingRequests ?? []).filter((p) => p.keyFingerprintSha256 !== pending.keyFingerprintSha256)
    await vault.saveProfileSecrets(profile.name, { ...now, pendingRequests })
    throw error
  }
  return pendingView(pending)
}

/** A renewal: a request with the current certificate's subject. */
export async function renewalFields(depot: Depot, profileName?: string): Promise<CsrSubjectFields> {
  const profile = depot.profiles.resolve(profileName)
  const secrets = await (await depot.vault()).loadProfileSecrets(profile.name)
  if (!secrets?.certPem) {
    throw new VkError(
      'config.no-certificate',
      `Profile "${profile.name}" has no certificate to renew. Make a first request with \`vkey cert request --profile "${profile.name}" --email … --country … --state … --locality … --org …\`.`,
      { field: 'certificate' },
    )
  }
  const draft = requestDraft({ certPem: secrets.certPem })
  const missing = (['country', 'state', 'locality', 'organization', 'email'] as const).filter((field) => !draft[field])
  if (missing.length) {
    throw new VkError(
      'usage',
      `The current certificate of profile "${profile.name}" does not name ${missing.join(', ')}: make the request with \`vkey cert request\` and give every field.`,
      { field: missing[0] },
    )
  }
  return draft as CsrSubjectFields
}

/**
 * The one renewal line for the CLI's token-spending commands, or undefined when the
 * certificate is more than 60 days from expiry (or there is none: the command says so).
 */
export async function renewalWarning(depot: Depot, profileName?: string): Promise<string | undefined> {
  const status = await certificateStatus(depot, profileName)
  const cert = status.certificate
  if (!cert || !status.renewal || status.renewal.level === 'none' || status.renewal.level === 'expired') return undefined
  const option = profileName === undefined ? '' : ` --profile ${JSON.stringify(status.profile)}`
  const waiting = status.pending[0]
  const next = waiting
    ? `a request made ${waiting.createdAt.slice(0, 10)} is waiting: import Stellantis' answer with \`vkey cert import FILE${option}\``
    : `renew now: \`vkey cert renew --out renewal.csr${option}\`, then send renewal.csr to your Stellantis contact`
  const tone = status.renewal.tone === 'red' ? 'URGENT: ' : ''
  return `vkey: ${tone}the certificate of profile "${status.profile}" (${cert.commonName ?? cert.subject}) expires in ${cert.daysLeft} day${cert.daysLeft === 1 ? '' : 's'} (${cert.notAfter}); ${next}.`
}
