/**
 * A CA certificate given as a file (a profile's Stellantis CA, the fleet server's CA): only
 * its CERTIFICATE blocks are kept, and a file that also holds a private key is refused.
 */
import { VkError } from '../../shared/errors'

/**
 * Keeps only the CERTIFICATE blocks of a PEM file meant as a CA, and refuses one that holds
 * a private key: profiles (and their CA) live in the settings file, which is not sealed.
 */
export function certificatesOnly(pem: string, what: string): string {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new VkError(
      'config.certificate-format',
      `The file given as ${what} also holds a private key. Give a file with the CA certificate only (never a key): the key would be stored unencrypted.`,
      { field: 'ca' },
    )
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g)
  if (!blocks) {
    throw new VkError(
      'config.certificate-format',
      `The file given as ${what} is not a PEM certificate. Use the Stellantis CA certificate (.pem/.crt) you received with your partner certificate.`,
      { field: 'ca' },
    )
  }
  return `${blocks.join('\n')}\n`
}
