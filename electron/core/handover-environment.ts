/**
 * Which environment a handover's key comes from (simulator, pre-production, custom or
 * production): one definition for the CLI, the app's handlers and the pack. The payload
 * that carries it is made in handover-payload.ts; the words in shared/environment-marker.ts.
 *
 * The environment is the one of the profile the key was issued with. A record that carries
 * its own `environment` (stamped when issued) keeps it even if the profile changes later.
 */
import { environments, type Environment, type Profile } from '../../shared/profile'
import type { HandoverRecord } from './handover-record'

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
