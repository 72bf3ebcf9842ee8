/**
 * Error codes shared by the core, the command-line tool and the renderer.
 * Every failure a user can meet has one code; the code decides the CLI exit status
 * and the plain-language message the app shows. Pure TypeScript: no Node, no DOM.
 */

export const errorCodes = [
  // bad input or usage (exit 2)
  'usage',
  'input.file',
  'input.too-large',
  'input.json',
  'input.field',
  'input.base64',
  'input.vin',
  'input.duration',
  // configuration or keychain (exit 3)
  'config.no-profile',
  'config.profile',
  'config.no-certificate',
  'config.certificate-format',
  'config.passphrase',
  'config.key-mismatch',
  'config.certificate-expired',
  'config.certificate-not-yet-valid',
  'config.keychain-unavailable',
  'config.vault',
  /** vault.json is damaged, or gone beside sealed files: `vkey vault repair` names again the key the keychain may still hold. */
  'config.vault-repair',
  // the data folder's ledger (exit 3)
  'storage.write',
  'storage.busy',
  'storage.version',
  /** A row of the ledger does not have the shape this VK Depot writes (a newer version wrote it, or the file was damaged). */
  'storage.damaged',
  /** The ledger file as a whole is missing (where the folder had one), empty or unreadable: a backup, or `vkey ledger new`. */
  'storage.ledger-lost',
  /** The ledger file was deleted or replaced while this process had it open: its content is rescued beside it. */
  'storage.ledger-displaced',
  /** Another VK Depot process is requesting a key for the same vehicle right now. */
  'storage.vehicle-busy',
  /** The vault key is gone from the keychain (or is not one): `vkey vault reset` is the way back. */
  'config.vault-key-lost',
  /** VKEY_HOME (or the default folder) is not a VK Depot data folder. */
  'config.data-folder',
  /** Another live VK Depot process holds a lock or uses the vault. */
  'config.busy',
  'config.fleet',
  // an output file or folder of the command (--qr, --out) (exit 3)
  /** Its disk cannot take the QR files (checked before sending), or a write failed after the key was recorded. */
  'output.write',
  // the fleet (exit 7)
  /** Another laptop of the fleet holds a live key that covers the window (or is asking PSA right now): nothing was sent. */
  'fleet.held',
  // PSA refused the request (exit 4)
  'psa.bad-request',
  'psa.unauthorized',
  'psa.forbidden',
  'psa.not-found',
  'psa.timeout',
  'psa.rate-limited',
  'psa.refused',
  // network, TLS or server failure (exit 5)
  'server.error',
  'server.bad-gateway',
  'server.unavailable',
  'server.gateway-timeout',
  'server.status',
  'server.malformed',
  'server.too-large',
  'network.unreachable',
  /** The connection dropped after the request was sent: a token may exist; never queued or retried. */
  'network.lost',
  'network.timeout',
  'tls.server-untrusted',
  'tls.server-expired',
  'tls.server-host',
  'tls.client-refused',
  'tls.failure',
  // other
  'cancelled',
  'not-found',
  'internal',
] as const

export type ErrorCode = (typeof errorCodes)[number]

/** What PSA support asks partners to keep from an unexpected error body. */
export interface PsaErrorDetails {
  status?: number
  code?: number | string
  uuid?: string
  message?: string
  timestamp?: string
}

/** Rate-limit headers as the B2B API sends them (all optional). */
export interface RateLimitInfo {
  dayLimit?: number
  dayRemaining?: number
  burstLimit?: number
  burstRemaining?: number
  resetSeconds?: number
  retryAfterSeconds?: number
}

/** Who holds a vehicle on another laptop of the fleet (the fleet's claim refused a request). */
export interface FleetHolder {
  technician: string
  laptop: string
  /** ISO UTC; absent while that laptop's request to PSA is in flight. */
  expires?: string
}

export interface VkErrorDetails {
  /** File the problem is in, when there is one. */
  file?: string
  /** Field or setting the problem is in, when there is one. */
  field?: string
  psa?: PsaErrorDetails
  rateLimit?: RateLimitInfo
  /** 'fleet.held': who holds the vehicle, and until when. */
  holder?: FleetHolder
  /**
   * The request was sent and no answer came (a deadline, a lost connection, a cancel after
   * sending): PSA may have issued a key that was not stored. False on a cancel known to have
   * left no key (nothing sent, or PSA's last answer issued none).
   */
  unanswered?: boolean
}

/** A failure with a stable code and a message that says what to do next. */
export class VkError extends Error {
  readonly code: ErrorCode
  readonly details: VkErrorDetails

  constructor(code: ErrorCode, message: string, details: VkErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'VkError'
    this.code = code
    this.details = details
  }
}

/** The error as it may cross a process boundary (IPC, --json): plain data, no stack. */
export interface ErrorView {
  code: ErrorCode
  message: string
  details: VkErrorDetails
}

export function isVkError(value: unknown): value is VkError {
  return value instanceof VkError
}

/** Turns anything thrown into a view; unknown errors become 'internal' without leaking their text. */
export function toErrorView(error: unknown): ErrorView {
  if (error instanceof VkError) return { code: error.code, message: error.message, details: error.details }
  return { code: 'internal', message: 'Unexpected internal error. Run again with VKEY_DEBUG=1 and report what it prints.', details: {} }
}

/**
 * PSA could not be reached at all, so nothing was sent: the one failure after which a
 * request is queued (sent once later) or the app goes offline. Takes a VkError or its view.
 */
export function isNetworkUnreachable(error: unknown): boolean {
  const code = error instanceof VkError ? error.code : (error as Partial<ErrorView> | null | undefined)?.code
  return code === 'network.unreachable'
}

/** Every exit status `vkey` ends with, by name. */
export const EXIT = { ok: 0, internal: 1, usage: 2, config: 3, refused: 4, network: 5, queued: 6, fleetHeld: 7, interrupted: 130 } as const

export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/** Who sends a queued request, said the same way wherever a request is queued. */
export const QUEUED_SENT_BY = 'sent once by `vkey queue flush`, the app, or the next key request (token or batch) that reaches PSA'

/**
 * What each exit status means: `vkey help` prints these lines and the README's
 * command-line section lists the same codes (a test compares them).
 */
export const EXIT_MEANINGS: Readonly<Record<keyof typeof EXIT, string>> = {
  ok: 'success',
  internal: 'unexpected internal error: run again with `VKEY_DEBUG=1` and report what it prints',
  usage:
    'bad input or usage: a file, an option or its value (numbers are checked against their range), an output path whose folder is missing or not writable (checked before anything is sent), an unknown handover ID or one with no valid key',
  config:
    'configuration, keychain or storage: no profile or certificate, keychain unavailable, certificate expired, the ledger cannot be written or is busy, a disk without room for the QR files asked (--qr, --out), or a QR file that could not be written once its key was issued',
  refused: 'PSA refused the request (4xx)',
  network: 'network, TLS or server failure',
  queued: `queued: PSA could not be reached; the request waits in the offline queue and is ${QUEUED_SENT_BY}`,
  fleetHeld: 'another laptop of the fleet holds a live key that covers the window: nothing was sent; `--new` asks anyway',
  interrupted:
    'interrupted: the first Ctrl-C or SIGTERM cancels and exits within two seconds, saying whether a request had already reached PSA, since a key may then exist',
}

/** CLI exit status for an error code (EXIT_MEANINGS says what each means; 6, queued, is not an error). */
export function exitCodeFor(code: ErrorCode): ExitCode {
  if (code === 'usage' || code.startsWith('input.') || code === 'not-found') return EXIT.usage
  if (code.startsWith('config.') || code.startsWith('storage.') || code === 'output.write') return EXIT.config
  if (code.startsWith('psa.')) return EXIT.refused
  if (code.startsWith('server.') || code.startsWith('network.') || code.startsWith('tls.')) return EXIT.network
  if (code.startsWith('fleet.')) return EXIT.fleetHeld
  if (code === 'cancelled') return EXIT.interrupted
  return EXIT.internal
}
