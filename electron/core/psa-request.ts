/**
 * The token request exactly as the PSA contract documents it: the URL with its client id,
 * the Basic authorization and the JSON body (docs/psa-virtual-key-api.md). Used by PsaClient
 * and by the benchmark's bare-undici and curl baselines, so both send the same bytes.
 */
import { VkError } from '../../shared/errors'

/** What a token request is sent to and with (a profile's partner credentials hold these). */
export interface TokenEndpoint {
  /** e.g. https://api-cert-preprod.groupe-psa.com/connectedcar/v3 */
  baseUrl: string
  clientId: string
  /** The MZP login (CN of the partner certificate). */
  login: string
  /** May contain ':'. */
  password: string
}

export interface TokenRequestInput {
  /** base64, from the phone SDK. */
  carData: string
  /** base64, from the phone SDK. */
  carDataSignature: string
  /** Positive whole seconds; sent as a JSON string. */
  durationSeconds: number
}

export const TOKEN_ENDPOINT_PATH = '/fleets/virtualkey/smartaccess/token'

/** `Basic base64(utf8(login:password))`. */
export function basicAuthorization(login: string, password: string): string {
  return `Basic ${Buffer.from(`${login}:${password}`, 'utf8').toString('base64')}`
}

/** The token URL for a base URL and client id (client id percent-encoded). */
export function tokenUrl(baseUrl: string, clientId: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${TOKEN_ENDPOINT_PATH}?client_id=${encodeURIComponent(clientId)}`
}

/** The request exactly as documented: URL, headers and body bytes. Also used by the benchmark's bare-undici baseline. */
export function buildTokenRequest(
  creds: TokenEndpoint,
  input: TokenRequestInput,
): { url: string; method: 'POST'; headers: Record<string, string>; body: string } {
  if (!Number.isSafeInteger(input.durationSeconds) || input.durationSeconds <= 0) {
    throw new VkError('input.duration', 'The token duration must be a positive whole number of seconds (for example 3600 for one hour).', { field: 'duration' })
  }
  for (const [field, value] of [
    ['carData', input.carData],
    ['carDataSignature', input.carDataSignature],
  ] as const) {
    if (typeof value !== 'string' || value.trim() === '') {
      throw new VkError(
        'input.field',
        `${field === 'carData' ? 'CarData' : 'CarData_signature'} is empty: import the vehicle's CarData and its signature from the phone again.`,
        { field },
      )
    }
  }
  return {
    url: tokenUrl(creds.baseUrl, creds.clientId),
    method: 'POST',
    headers: {
      accept: 'application/json',
      'content-type': 'application/json',
      authorization: basicAuthorization(creds.login, creds.password),
    },
    body: JSON.stringify({
      carToken: { CarData: input.carData, CarData_signature: input.carDataSignature },
      duration: String(input.durationSeconds),
    }),
  }
}
