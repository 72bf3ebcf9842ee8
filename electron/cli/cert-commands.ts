/**
 * `vkey cert request`, `cert renew` and `cert show`, and the one renewal line the
 * token-spending commands print on stderr. The key never reaches stdout: only the CSR does
 * (when no --out is given), and a CSR holds the public key only.
 */
import { resolve } from 'node:path'
import type { CsrSubjectFields } from '../../shared/cert-request'
import type { CertificateFacts } from '../../shared/certificate-facts'
import { VkError } from '../../shared/errors'
import { formatLocal } from '../../shared/time'
import { certificateStatus, renewalFields, renewalWarning, requestCertificate, type CertificateStatus } from '../core/cert-service'
import type { Depot } from '../core/depot'
import { writeFileAtomic } from '../core/secure-files'
import { write, writeJson } from './args'
import { withDepot } from './depot-access'
import { parseFor } from './spec'
import type { CliIo } from './io'

export async function certRequestCommand(sub: 'request' | 'renew', args: string[], io: CliIo): Promise<number> {
  const { values } = sub === 'request' ? parseFor('cert request', args) : parseFor('cert renew', args)
  return withDepot(io, async (depot) => {
    const given = values as Record<string, string | undefined>
    const fields: Partial<CsrSubjectFields> =
      sub === 'renew'
        ? await renewalFields(depot, values.profile)
        : { email: given.email, country: given.country, state: given.state, locality: given.locality, organization: given.org }
    const out = values.out ? resolve(values.out) : undefined
    const pending = await requestCertificate(depot, values.profile, fields, async (csrPem) => {
      if (out) await writeFileAtomic(out, csrPem)
      else io.stdout.write(csrPem)
    })
    const profile = depot.profiles.resolve(values.profile)
    const say = (line: string): void => void (out ? write(io, line) : io.stderr.write(`${line}\n`))
    say(`${sub === 'renew' ? 'Renewal request' : 'Certificate request'} made for profile "${profile.name}"${out ? `: ${out}` : ' (CSR on standard output)'}.`)
    say(`  subject:      ${pending.subject}`)
    say(`  key:          RSA 2048, SHA-256 ${pending.keyFingerprintSha256} (sealed in the data folder; it never leaves VK Depot)`)
    say(
      `Next: send ${out ? 'this file' : 'the CSR'} to your Stellantis contact. When the signed certificate comes back, import it: vkey cert import FILE${values.profile ? ` --profile ${JSON.stringify(profile.name)}` : ''}`,
    )
    say('Until then the current certificate (if any) keeps working.')
    return 0
  })
}

export async function certShowCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFor('cert show', args)
  return withDepot(io, async (depot) => {
    const status = await certificateStatus(depot, values.profile)
    if (values.json) {
      writeJson(io, JSON.stringify(showJson(status), null, 2))
      return 0
    }
    if (!status.certificate && !status.pending.length) {
      throw new VkError(
        'config.no-certificate',
        `Profile "${status.profile}" has no certificate. Import one with \`vkey cert import FILE --profile "${status.profile}"\`, or make a request with \`vkey cert request --profile "${status.profile}" …\`.`,
      )
    }
    printStatus(io, status)
    return 0
  })
}

/** The `cert show --json` document: the facts at the top level (as before), days left, the warning, pending requests. */
function showJson(status: CertificateStatus) {
  return {
    profile: status.profile,
    ...(status.certificate ?? {}),
    certificate: status.certificate !== null,
    renewal: status.renewal ? { level: status.renewal.level, tone: status.renewal.tone, threshold: status.renewal.threshold ?? null } : null,
    pendingRequests: status.pending.map((p) => ({ subject: p.subject, createdAt: p.createdAt, keyFingerprintSha256: p.keyFingerprintSha256 })),
  }
}

function printStatus(io: CliIo, status: CertificateStatus): void {
  const facts = status.certificate
  if (facts) {
    printFacts(io, facts)
    const level = status.renewal?.level
    if (level && level !== 'none') {
      const option = ` --profile ${JSON.stringify(status.profile)}`
      write(io, `  renewal:      ${level === 'expired' ? 'EXPIRED' : `${facts.daysLeft} days left`}: \`vkey cert renew --out renewal.csr${option}\``)
    }
  } else {
    write(io, `  certificate:  none yet (profile "${status.profile}")`)
  }
  for (const pending of status.pending) {
    write(io, `  pending request (waiting for Stellantis):`)
    write(io, `    subject:    ${pending.subject}`)
    write(io, `    made on:    ${formatLocal(pending.createdAt)}`)
    write(io, `    key SHA-256: ${pending.keyFingerprintSha256}`)
  }
}

/** A certificate's facts as people read them (`cert import`, `cert show`): validity in local time with its zone. */
export function printFacts(io: CliIo, facts: CertificateFacts): void {
  write(io, `  subject:      ${facts.subject}`)
  write(io, `  issuer:       ${facts.issuer}`)
  write(io, `  serial:       ${facts.serialNumber}`)
  write(io, `  valid:        ${formatLocal(facts.notBefore)} → ${formatLocal(facts.notAfter)} (${facts.daysLeft} days left, ${facts.status})`)
  write(io, `  SHA-256:      ${facts.fingerprintSha256}`)
}

/**
 * One line on stderr when the certificate that `vkey token`, `batch` or `queue flush` will
 * use is within 60 days of expiry, from the command's own depot (one vault unlock per run).
 * Never fails the command: the command itself reports a missing profile, certificate or
 * keychain.
 */
export async function warnCertificateRenewal(io: CliIo, depot: Depot, profileName: string | undefined): Promise<void> {
  try {
    const line = await renewalWarning(depot, profileName)
    if (line) io.stderr.write(`${line}\n`)
  } catch {
    // the command says what is wrong
  }
}
