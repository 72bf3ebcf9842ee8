import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import Conf from 'conf'
import { ProfileStore, checkProfileName, resolveEnvironment } from '../../electron/core/profiles'
import { VkError } from '../../shared/errors'
import { ProfileSchema, psaBaseUrls } from '../../shared/profile'
import { makeTempDir } from '../helpers/cert-fixtures'

function withStore(run: (profiles: ProfileStore, conf: Conf, dir: string) => void): void {
  const temp = makeTempDir()
  try {
    const conf = new Conf({ cwd: temp.dir, configName: 'profiles' })
    run(new ProfileStore(conf), conf, temp.dir)
  } finally {
    temp.cleanup()
  }
}

function vkError(code: string, pattern?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof VkError, String(error))
    assert.equal(error.code, code, error.message)
    if (pattern) assert.match(error.message, pattern)
    return true
  }
}

const depot = { name: 'Depot Lyon', environment: 'preprod' as const, baseUrl: psaBaseUrls.preprod, clientId: 'abc-123', login: 'MZP123456' }

describe('profiles', () => {
  test('with no profile yet, the default says how to add one or try the simulator', () =>
    withStore((profiles) => {
      assert.deepEqual(profiles.list(), [])
      assert.throws(() => profiles.getDefault(), vkError('config.no-profile', /vkey profile add.*Try the simulator/))
      assert.throws(() => profiles.get('Depot Lyon'), vkError('config.no-profile', /"Depot Lyon".*vkey profile add/))
    }))

  test('the first profile becomes the default and survives a reopen of the file', () =>
    withStore((profiles, _conf, dir) => {
      const saved = profiles.save(depot)
      assert.equal(saved.createdAt, saved.updatedAt)
      assert.equal(profiles.getDefault().name, 'Depot Lyon')
      const reopened = new ProfileStore(new Conf({ cwd: dir, configName: 'profiles' }))
      assert.deepEqual(reopened.get('Depot Lyon'), saved)
      ProfileSchema.parse(reopened.get('Depot Lyon'))
    }))

  test('names with dots and spaces are stored as they are, not as nested keys', () =>
    withStore((profiles) => {
      profiles.save({ ...depot, name: 'site.v2 prod' })
      profiles.save({ ...depot, name: '__proto__' })
      assert.deepEqual(
        profiles.list().map((profile) => profile.name),
        ['__proto__', 'site.v2 prod'],
      )
      assert.equal(profiles.get('site.v2 prod').clientId, 'abc-123')
    }))

  test('saving again updates the profile and keeps createdAt; makeDefault switches the default', () =>
    withStore((profiles, conf) => {
      let clock = new Date('2030-01-01T00:00:00Z')
      const timed = new ProfileStore(conf, () => clock)
      const first = timed.save(depot)
      timed.save({ ...depot, name: 'Depot Paris', environment: 'prod', baseUrl: psaBaseUrls.prod })
      assert.equal(timed.getDefault().name, 'Depot Lyon')
      clock = new Date('2030-02-01T00:00:00Z')
      const updated = timed.save({ ...depot, clientId: 'new-client' }, { makeDefault: false })
      assert.equal(updated.createdAt, first.createdAt)
      assert.equal(updated.updatedAt, '2030-02-01T00:00:00.000Z')
      assert.equal(profiles.get('Depot Lyon').clientId, 'new-client')
      timed.save({ ...depot, name: 'Depot Nice' }, { makeDefault: true })
      assert.equal(timed.getDefault().name, 'Depot Nice')
      timed.setDefault('Depot Paris')
      assert.equal(timed.getDefault().name, 'Depot Paris')
    }))

  test('an unknown profile is named, with the known ones', () =>
    withStore((profiles) => {
      profiles.save(depot)
      assert.throws(() => profiles.get('Depot Lille'), vkError('config.profile', /"Depot Lille".*"Depot Lyon".*`vkey help profile` says how to add one/))
      assert.throws(
        () => profiles.get('Depot Lyno'),
        vkError('config.profile', /There is no profile "Depot Lyno" \(known: "Depot Lyon"\)\. Did you mean "Depot Lyon"\?/),
      )
      assert.throws(() => profiles.setDefault('Depot Lille'), vkError('config.profile'))
    }))

  test('removing the default leaves the only remaining profile as default, or none', () =>
    withStore((profiles) => {
      profiles.save(depot)
      profiles.save({ ...depot, name: 'B' })
      profiles.save({ ...depot, name: 'C' })
      assert.equal(profiles.remove('Depot Lyon'), true)
      assert.equal(profiles.remove('Depot Lyon'), false)
      assert.throws(() => profiles.getDefault(), vkError('config.profile', /vkey profile default/))
      profiles.remove('C')
      assert.equal(profiles.getDefault().name, 'B')
      profiles.remove('B')
      assert.throws(() => profiles.getDefault(), vkError('config.no-profile'))
    }))

  test('invalid profiles are refused with the field to fix', () =>
    withStore((profiles) => {
      for (const [bad, field] of [
        [{ ...depot, name: '' }, 'name'],
        [{ ...depot, name: 'x'.repeat(65) }, 'name'],
        [{ ...depot, name: 'a/b' }, 'name'],
        [{ ...depot, name: ' padded' }, 'name'],
        [{ ...depot, clientId: '  ' }, 'clientId'],
        [{ ...depot, login: '' }, 'login'],
        [{ ...depot, login: 'MZP:1' }, 'login'],
        [{ ...depot, baseUrl: 'http://api.example/connectedcar/v3' }, 'baseUrl'],
        [{ ...depot, environment: 'staging' }, 'environment'],
        [{ ...depot, caPem: 'not a pem' }, 'caPem'],
      ] as const) {
        assert.throws(
          () => profiles.save(bad as never),
          (error: unknown) => {
            assert.ok(error instanceof VkError)
            assert.equal(error.code, 'config.profile')
            assert.equal(error.details.field, field, error.message)
            return true
          },
        )
      }
      assert.equal(checkProfileName('Dépôt Lyon-2_b.c'), 'Dépôt Lyon-2_b.c')
      assert.deepEqual(profiles.list(), [])
    }))

  test('entries broken by hand edits are skipped, not fatal', () =>
    withStore((profiles, conf) => {
      profiles.save(depot)
      conf.set('profiles', [...(conf.get('profiles') as unknown[]), { name: 'broken' }, 42])
      assert.deepEqual(
        profiles.list().map((profile) => profile.name),
        ['Depot Lyon'],
      )
    }))
})

describe('--env', () => {
  test('preprod and prod map to the documented PSA addresses', () => {
    assert.deepEqual(resolveEnvironment('preprod'), { environment: 'preprod', baseUrl: 'https://api-cert-preprod.groupe-psa.com/connectedcar/v3' })
    assert.deepEqual(resolveEnvironment('PROD'), { environment: 'prod', baseUrl: 'https://api-cert.groupe-psa.com/connectedcar/v3' })
  })

  test('an https URL of the right shape is a custom environment, trailing slash trimmed', () => {
    assert.deepEqual(resolveEnvironment('https://gw.example:8443/psa/connectedcar/v3/'), {
      environment: 'custom',
      baseUrl: 'https://gw.example:8443/psa/connectedcar/v3',
    })
  })

  test('anything else names --env and the accepted values', () => {
    for (const value of [
      'staging',
      'simulator',
      'http://gw.example/connectedcar/v3',
      'https://u:p@gw.example/connectedcar/v3',
      'https://gw.example/connectedcar/v3?x=1',
      'https://gw.example/connectedcar/v3#f',
      'https://gw.example/v2',
    ]) {
      assert.throws(
        () => resolveEnvironment(value),
        (error: unknown) => {
          assert.ok(error instanceof VkError)
          assert.equal(error.code, 'usage')
          assert.equal(error.details.field, '--env')
          assert.match(error.message, /--env/)
          assert.match(error.message, /connectedcar\/v3/)
          return true
        },
      )
    }
  })
})
