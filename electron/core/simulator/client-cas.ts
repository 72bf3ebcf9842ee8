/**
 * Which CAs the simulator accepts client certificates from: its own demo partner CA, plus
 * any extra CA given (`vkey simulator --trust-client-ca CA.pem`, or `extraClientCas` in
 * tests), e.g. the CA a test uses to sign a CSR that VK Depot made, as Stellantis would.
 */
import { X509Certificate } from 'node:crypto'
import { VkError } from '../../../shared/errors'

const certificateBlock = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g

/** The PEM CA certificates in `pem`; refuses a file with a key or with no certificate. */
export function readClientCas(pem: string, source: string): string[] {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new VkError('input.file', `${source} holds a private key: give the CA certificate only.`, { file: source, field: '--trust-client-ca' })
  }
  const blocks = pem.match(certificateBlock) ?? []
  if (!blocks.length)
    throw new VkError('input.file', `${source} holds no PEM certificate: give the CA certificate (-----BEGIN CERTIFICATE-----).`, {
      file: source,
      field: '--trust-client-ca',
    })
  for (const block of blocks) {
    let ca: boolean
    try {
      ca = new X509Certificate(block).ca
    } catch {
      throw new VkError('input.file', `${source} holds a damaged certificate.`, { file: source, field: '--trust-client-ca' })
    }
    if (!ca)
      throw new VkError('input.file', `${source} holds a certificate that is not a CA: give the CA that signs the client certificates.`, {
        file: source,
        field: '--trust-client-ca',
      })
  }
  return blocks
}

/** The CA list for the simulator's TLS server: the demo partner CA first, then the extras. */
export function clientCaList(partnerCaPem: string, extra: string[] = []): string[] {
  return [partnerCaPem, ...extra]
}
