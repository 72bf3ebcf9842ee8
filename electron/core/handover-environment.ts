/**
 * Which environment a handover's key comes from (simulator, pre-production, custom or
 * production), and the QR payload for it with that mark: one definition for the CLI, the
 * app's handlers and the pack. See shared/environment-marker.ts for the words.
 *
 * The environment is the one of the profile the key was issued with. A record that carries
 * its own `environment` (stamped when issued) keeps it even if the profile changes later.
 */
import { payloadEnvironment } from '../../shared/environment-marker'
import { environments, type Environment, type Profile } from '../../shared/profile'
import { buildHandoverPayload } from '../../shared/qr-payload'
import type { HandoverRecord, StoredToken } from './handovers'

type RecordRef = Pick<HandoverRecord, 'profile'> & { environment?: unknown }

function isEnvironment(value: unknown): value is Environment {
  return typeof value === 'string' && (environments as readonly string[]).includes(value)
}

/**
 * A function giving each record's environment, from one read of the profiles (call it
 * again after profiles change). Undefined when the profile is gone and nothing was stamped.
 */
export function environmentResolver(profiles: { list(): Profile[] }): (record: RecordRef) => Environment | undefined {
  const byName = new Map(profiles.list().map((p) => [p.name, p.environment]))
  return (record) => {
    if (isEnvironment(record.environment)) return record.environment
    return record.profile === undefined ? undefined : byName.get(record.profile)
  }
}

/** The handover QR payload of an issued record: `env` set unless the key is a production one. */
export function handoverPayloadFor(record: Pick<HandoverRecord, 'vin' | 'expires'>, token: StoredToken, environment: Environment | undefined): string {
  if (!record.expires) throw new Error('handoverPayloadFor: the record has no expiry')
  const env = payloadEnvironment(environment)
  return buildHandoverPayload({
    ...(env ? { env } : {}),
    ...(record.vin ? { vin: record.vin } : {}),
    accessToken: token.accessToken,
    tokenType: token.tokenType,
    expires: record.expires,
    tokenSignature: token.tokenSignature,
  })
}
