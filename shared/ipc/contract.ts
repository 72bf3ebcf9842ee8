/**
 * The one IPC contract between the renderer and the main process.
 *
 * Every channel has a zod schema for its input (parsed as `unknown` on the main side)
 * and its output (parsed before it crosses, so a field that is not in the schema — a
 * password or key added by mistake — is stripped). The preload builds `window.vkey`
 * from this list, and the e2e bridge builds the same object for Chromium.
 *
 * Secrets never appear in an output schema: no password, private key, certificate
 * bundle or passphrase. Tokens do cross: showing them to the phone is the product.
 */
import * as z from 'zod'
import { CsrSubjectFields, PendingRequestView } from '../cert-request'
import { DurationPlan } from '../duration'
import { errorCodes } from '../errors'
import { HandoverStatus } from '../handover-status'
import { channelMethods, eventMethods, type Channel, type EventChannel } from './channels'
import { fleetContract, GateNote } from './fleet-contract'

const name = z.string().trim().min(1).max(64)
const id = z.string().regex(/^[A-Za-z0-9_-]{6,64}$/, 'an id')
const isoDate = z.string().min(1).max(40)

export const ErrorViewSchema = z.object({
  code: z.enum(errorCodes),
  message: z.string(),
  details: z.object({
    file: z.string().optional(),
    field: z.string().optional(),
    psa: z
      .object({
        status: z.number().optional(),
        code: z.union([z.number(), z.string()]).optional(),
        uuid: z.string().optional(),
        message: z.string().optional(),
        timestamp: z.string().optional(),
      })
      .optional(),
    rateLimit: z
      .object({
        dayLimit: z.number().optional(),
        dayRemaining: z.number().optional(),
        burstLimit: z.number().optional(),
        burstRemaining: z.number().optional(),
        resetSeconds: z.number().optional(),
        retryAfterSeconds: z.number().optional(),
      })
      .optional(),
    holder: z.object({ technician: z.string(), laptop: z.string(), expires: z.string().optional() }).optional(),
  }),
})

export const CertificateView = z.object({
  subject: z.string(),
  commonName: z.string().optional(),
  issuer: z.string(),
  serialNumber: z.string(),
  notBefore: isoDate,
  notAfter: isoDate,
  daysLeft: z.number(),
  status: z.enum(['valid', 'expiring', 'expired', 'not-yet-valid']),
  fingerprintSha256: z.string(),
})
export type CertificateView = z.infer<typeof CertificateView>

export const EnvironmentName = z.enum(['preprod', 'prod', 'simulator', 'custom'])

export const ProfileView = z.object({
  name: z.string(),
  environment: EnvironmentName,
  baseUrl: z.string(),
  clientId: z.string(),
  login: z.string(),
  hasPassword: z.boolean(),
  hasCa: z.boolean(),
  certificate: CertificateView.nullable(),
  isDefault: z.boolean(),
})
export type ProfileView = z.infer<typeof ProfileView>

export const HandoverSummary = z.object({
  id: z.string(),
  vin: z.string().optional(),
  label: z.string().optional(),
  source: z.string(),
  status: HandoverStatus,
  profile: z.string().optional(),
  /** The environment the key comes from (its profile's); absent when that profile is gone. Not production: the screens show a band. */
  environment: EnvironmentName.optional(),
  createdAt: isoDate,
  updatedAt: isoDate,
  plannedStart: isoDate.optional(),
  plannedEnd: isoDate.optional(),
  durationSeconds: z.number().optional(),
  expires: isoDate.optional(),
  /** False when a stored token ends before the planned window does. */
  coversPlan: z.boolean().optional(),
  /** PSA granted more than 5 minutes longer than asked (the key is kept, and flagged). */
  longerThanAsked: z.boolean().optional(),
  /** The handover whose newer key replaced this one. */
  supersededBy: z.string().optional(),
  error: ErrorViewSchema.optional(),
  /** An earlier request for it got no answer: PSA may hold a key from it, not stored here, until `until` at the latest. */
  earlierCutOff: z.object({ until: isoDate.optional() }).optional(),
  /** A queued request held back, not for the network: the folder of the QR file it writes (`--qr`, a batch's `--out`) has no room. */
  heldForRoom: z.object({ file: z.string(), shortfall: z.string() }).optional(),
})
export type HandoverSummary = z.infer<typeof HandoverSummary>

export const TokenView = z.object({
  accessToken: z.string(),
  tokenType: z.string(),
  expires: isoDate,
  expiresIn: z.number(),
  tokenSignature: z.string(),
})
export type TokenView = z.infer<typeof TokenView>

/** A key's QR code as an image the page can show, and the size of the payload inside. */
export const QrImage = z.object({ dataUrl: z.string(), payloadBytes: z.number() })
export type QrImage = z.infer<typeof QrImage>
export const QrFormat = z.enum(['svg', 'png'])

/** A record with its token while the key is valid, and its QR code when the call asked for one (made from the same unsealed token). */
export const HandoverDetail = HandoverSummary.extend({ token: TokenView.optional(), qr: QrImage.optional() })
export type HandoverDetail = z.infer<typeof HandoverDetail>
/** A key as a request returned it: the detail, and the fleet's word on it. */
export type IssuedKey = HandoverDetail & { gateNote?: GateNote }

export const ImportIssueView = z.object({
  source: z.string(),
  index: z.number().optional(),
  field: z.string().optional(),
  code: z.string(),
  message: z.string(),
})

/** What the importer read inside a CarData ({timestamp, uin}): shown, with warnings that never refuse. */
export const CarDataNoteView = z.object({
  source: z.string(),
  vin: z.string().optional(),
  uin: z.string(),
  timestamp: z.string(),
  ageDays: z.number(),
  warnings: z.array(z.object({ code: z.enum(['uin-mismatch', 'stale', 'future']), message: z.string() })),
})
export type CarDataNoteView = z.infer<typeof CarDataNoteView>

export const ImportSummary = z.object({
  added: z.array(HandoverSummary),
  issues: z.array(ImportIssueView),
  carData: z.array(CarDataNoteView).optional(),
})
export type ImportSummary = z.infer<typeof ImportSummary>

export const Settings = z.object({
  locale: z.enum(['system', 'en', 'fr']),
  clipboardClearSeconds: z.number().int().min(5).max(600),
})
export type Settings = z.infer<typeof Settings>

export const FilePurpose = z.enum(['certificate', 'key', 'ca', 'cardata'])
export const FileGrant = z.object({ grant: z.string(), name: z.string() })

export const BatchProgress = z.object({
  batchId: z.string(),
  total: z.number(),
  /** Items finished with a key to hand over (issued + renewed + reused) or left alone (skipped). */
  done: z.number(),
  issued: z.number(),
  renewed: z.number(),
  reused: z.number(),
  failed: z.number(),
  queued: z.number(),
  running: z.boolean(),
  items: z.array(
    z.object({
      id: z.string(),
      vin: z.string().optional(),
      state: z.enum(['waiting', 'running', 'issued', 'renewed', 'reused', 'failed', 'queued', 'skipped', 'cancelled']),
      /** In English, for the CLI and for what has no fields below (a failure's reason). */
      message: z.string().optional(),
      /** The key's end (ISO): the kept key's when reused; the new key's when PSA granted longer than asked. */
      keyEnds: isoDate.optional(),
      longerThanAsked: z.literal(true).optional(),
      /** The fleet's word on the new key (the app says it in the user's language). */
      gateNote: GateNote.optional(),
    }),
  ),
})
export type BatchProgress = z.infer<typeof BatchProgress>

export const HistoryFilter = z.object({
  vin: z.string().max(17).optional(),
  status: HandoverStatus.optional(),
  from: isoDate.optional(),
  to: isoDate.optional(),
})

const none = z.undefined()

/** Request/response channels: `window.vkey[method](input) → Promise<Result<output>>`. */
export const contract = {
  'app:info': {
    input: none,
    output: z.object({
      version: z.string(),
      platform: z.string(),
      systemLocale: z.string(),
      regionalLocale: z.string().optional(),
      dataFolder: z.string(),
      online: z.boolean(),
    }),
  },
  'settings:get': { input: none, output: Settings },
  'settings:set': { input: Settings.partial(), output: Settings },
  'profiles:list': { input: none, output: z.object({ profiles: z.array(ProfileView) }) },
  'profiles:save': {
    input: z.object({
      name,
      environment: EnvironmentName,
      baseUrl: z.string().max(300).optional(),
      clientId: z.string().trim().min(1).max(200),
      login: z.string().trim().min(1).max(200),
      password: z.string().min(1).max(1024).optional(),
      makeDefault: z.boolean().optional(),
      /** The user confirmed replacing a profile of another environment (its certificate and password are dropped). */
      replace: z.boolean().optional(),
    }),
    output: ProfileView,
  },
  'profiles:remove': { input: z.object({ name }), output: z.object({ removed: z.boolean() }) },
  'profiles:activate': { input: z.object({ name }), output: ProfileView },
  'simulator:try': { input: none, output: ProfileView },
  'files:choose': {
    input: z.object({ purpose: FilePurpose, multiple: z.boolean().optional() }),
    output: z.object({ files: z.array(FileGrant) }),
  },
  'certificate:import': {
    input: z.object({ profile: name, certificate: z.string().max(100), key: z.string().max(100).optional(), passphrase: z.string().max(1024).optional() }),
    output: CertificateView,
  },
  'ca:import': { input: z.object({ profile: name, ca: z.string().max(100) }), output: ProfileView },
  /** The profile's certificate requests waiting for Stellantis, and the fields to prefill a new one with. */
  'certificate:requests': {
    input: z.object({ profile: name }),
    output: z.object({ login: z.string(), draft: CsrSubjectFields.partial(), pending: z.array(PendingRequestView) }),
  },
  /** Makes the key (sealed, never crosses) and saves the CSR where the user picks in a save dialog. */
  'certificate:request': {
    input: z.object({ profile: name, fields: CsrSubjectFields }),
    output: z.object({ saved: z.boolean(), fileName: z.string().optional(), pending: PendingRequestView.optional() }),
  },
  'vehicles:import-files': { input: z.object({ grants: z.array(z.string().max(100)).min(1).max(1000) }), output: ImportSummary },
  'vehicles:import-text': {
    input: z.object({ name: z.string().min(1).max(255), text: z.string().max(16 * 1024 * 1024) }),
    output: ImportSummary,
  },
  'handovers:list': { input: HistoryFilter.optional(), output: z.object({ handovers: z.array(HandoverSummary) }) },
  /**
   * qr: also the key's QR code in this format (the token screen: one call, one unseal).
   * token: false leaves the token and the QR code out, and nothing is unsealed (screens that show only the vehicle).
   */
  'handovers:get': { input: z.object({ id, qr: QrFormat.optional(), token: z.boolean().optional() }), output: HandoverDetail },
  'handovers:update': {
    input: z.object({ id, vin: z.string().max(32).optional(), label: z.string().max(120).optional() }),
    output: HandoverSummary,
  },
  'handovers:remove': { input: z.object({ id }), output: z.object({ removed: z.boolean() }) },
  'handovers:mark-handed-over': { input: z.object({ id }), output: HandoverSummary },
  'handovers:qr': { input: z.object({ id, format: QrFormat }), output: QrImage },
  'handovers:export': {
    input: z.object({ id, format: z.enum(['png', 'svg', 'json']) }),
    output: z.object({ saved: z.boolean(), fileName: z.string().optional() }),
  },
  'token:request': {
    /**
     * forceNew: ask PSA for another key even when the live one covers the window (after the user confirmed).
     * qr: also the key's QR code in this format, so the page shows the key from this one answer.
     */
    input: z.object({ handoverId: id, duration: DurationPlan, requestId: id, forceNew: z.boolean().optional(), qr: QrFormat.optional() }),
    /**
     * outcome: issued (first key), renewed (replaced a live key that did not cover), reused (nothing sent).
     * gateNote: the fleet's word on a new key (it supersedes another laptop's, or the fleet could not be asked).
     */
    output: HandoverDetail.extend({ outcome: z.enum(['issued', 'renewed', 'reused']), gateNote: GateNote.optional() }),
  },
  'token:cancel': { input: z.object({ requestId: id }), output: z.object({ cancelled: z.boolean() }) },
  'clipboard:copy-token': { input: z.object({ id }), output: z.object({ clearsInSeconds: z.number() }) },
  'batch:start': {
    input: z.object({ handoverIds: z.array(id).min(1).max(5000), duration: DurationPlan, concurrency: z.number().int().min(1).max(16).optional() }),
    output: z.object({ batchId: z.string() }),
  },
  'batch:cancel': { input: z.object({ batchId: z.string().max(64) }), output: z.object({ cancelled: z.boolean() }) },
  'queue:flush': { input: none, output: z.object({ sent: z.number(), stillQueued: z.number(), heldForRoom: z.number() }) },
  /** Removes a request from the offline queue before it is sent. */
  'queue:cancel': { input: z.object({ id }), output: z.object({ cancelled: z.boolean() }) },
  'pack:export': {
    input: z.object({ ids: z.array(id).max(5000).optional() }),
    output: z.object({ saved: z.boolean(), fileName: z.string().optional(), pages: z.number() }),
  },
  'audit:export': { input: none, output: z.object({ saved: z.boolean(), fileName: z.string().optional(), rows: z.number() }) },
  /** After the vault key was lost (error config.vault-key-lost): the same as `vkey vault reset --yes`. */
  'vault:reset': { input: z.object({ confirm: z.literal(true) }), output: z.object({ profiles: z.number(), records: z.number(), unreadable: z.number() }) },
  /** vault.json damaged or gone (config.vault-repair), or naming a key the keychain lost: the same as `vkey vault repair`. */
  'vault:repair': { input: none, output: z.object({ repaired: z.boolean() }) },
  /** The ledger missing, empty or damaged (storage.ledger-lost): the same as `vkey ledger new`; never over a ledger that reads. */
  'ledger:new': {
    input: z.object({ confirm: z.literal(true) }),
    output: z.object({ started: z.boolean(), keptAside: z.array(z.string()), lostSince: z.string().optional() }),
  },
  ...fleetContract,
} as const satisfies Record<Channel, { input: z.ZodType; output: z.ZodType }>

/** The id a `handovers:changed` event carries when any handover may have changed (a queue flush, a vault reset): reload them all. */
export const EVERY_HANDOVER = '*'

/** Events pushed from main: `window.vkey.on[method](listener) → unsubscribe`. */
export const events = {
  'batch:progress': { payload: BatchProgress },
  /** ids: the handovers that changed, or [EVERY_HANDOVER]. */
  'handovers:changed': { payload: z.object({ ids: z.array(z.string()) }) },
} as const satisfies Record<EventChannel, { payload: z.ZodType }>

export type Contract = typeof contract
export type InputOf<C extends Channel> = z.input<Contract[C]['input']>
export type OutputOf<C extends Channel> = z.output<Contract[C]['output']>
export type EventPayload<E extends EventChannel> = z.output<(typeof events)[E]['payload']>
export type ErrorView = z.infer<typeof ErrorViewSchema>
export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorView }

/** The API the preload exposes as `window.vkey`: one named method per channel. */
export type VkeyApi = {
  [C in Channel as (typeof channelMethods)[C]]: (input: InputOf<C>) => Promise<Result<OutputOf<C>>>
} & {
  on: { [E in EventChannel as (typeof eventMethods)[E]]: (listener: (payload: EventPayload<E>) => void) => () => void }
}

export const channels = Object.keys(contract) as Channel[]
export const eventChannels = Object.keys(events) as EventChannel[]
export { channelMethods, eventMethods }
export type { Channel, EventChannel }
export { DurationPlan, HandoverStatus }
