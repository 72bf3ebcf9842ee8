/**
 * The IPC contract, from the three places that use it: every channel has a handler in
 * the core and a method on `window.vkey`; no output can carry a secret; wrong inputs are
 * refused before any handler runs; and thousands of arbitrary inputs through the real
 * handlers (real keychain, temporary data folder) always come back as a result.
 */
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { after, before, describe, it } from 'node:test'
import fc from 'fast-check'
import type * as z from 'zod'
import { errorCodes } from '../../shared/errors'
import { channelMethods, eventMethods } from '../../shared/ipc/channels'
import { channels, contract, ErrorViewSchema, eventChannels, events, type Channel, type InputOf, type ProfileView } from '../../shared/ipc/contract'
import { openStore } from '../../electron/core/settings-store'
import type { HandlerDeps } from '../../electron/app/app-deps'
import { createHandlers } from '../../electron/app/handlers'
import { dispatch, type Handlers } from '../../electron/app/ipc-dispatch'
import { buildApi } from '../../electron/preload/api'
import { defaultSimulatorDir } from '../../electron/core/simulator-registration'
import { tempFolder } from '../helpers/depot-env'
import { seedSimulatorDir } from '../helpers/sim-material'

/** A key that names a secret. `hasPassword`-style booleans only say whether one exists. */
const secretKey = /password|passphrase|private|keyPem|secret|bundle|pkcs12|p12/i

/** One valid input per channel (type-checked against the contract). */
const validInputs: { [C in Channel]: InputOf<C> } = {
  'app:info': undefined,
  'settings:get': undefined,
  'settings:set': { locale: 'en', clipboardClearSeconds: 30 },
  'profiles:list': undefined,
  'profiles:save': { name: 'Depot', environment: 'preprod', clientId: 'client', login: 'login', password: 'pw', makeDefault: true },
  'profiles:remove': { name: 'Depot' },
  'profiles:activate': { name: 'Depot' },
  'simulator:try': undefined,
  'files:choose': { purpose: 'certificate', multiple: false },
  'certificate:import': { profile: 'Depot', certificate: 'grant-1', key: 'grant-2', passphrase: 'pp' },
  'ca:import': { profile: 'Depot', ca: 'grant-3' },
  'certificate:requests': { profile: 'Depot' },
  'certificate:request': {
    profile: 'Depot',
    fields: { email: 'fleet@depot.example', country: 'FR', state: 'Bretagne', locality: 'Rennes', organization: 'Depot Ouest' },
  },
  'vehicles:import-files': { grants: ['grant-4'] },
  'vehicles:import-text': { name: 'cars.json', text: '{}' },
  'handovers:list': { vin: 'VF3', status: 'issued', from: '2026-01-01', to: '2026-12-31' },
  'handovers:get': { id: 'handover-1' },
  'handovers:update': { id: 'handover-1', vin: 'VF3TEST0000000001', label: 'Blue car' },
  'handovers:remove': { id: 'handover-1' },
  'handovers:mark-handed-over': { id: 'handover-1' },
  'handovers:qr': { id: 'handover-1', format: 'png' },
  'handovers:export': { id: 'handover-1', format: 'json' },
  'token:request': { handoverId: 'handover-1', duration: { kind: 'seconds', seconds: 3600 }, requestId: 'request-1' },
  'token:cancel': { requestId: 'request-1' },
  'clipboard:copy-token': { id: 'handover-1' },
  'batch:start': { handoverIds: ['handover-1'], duration: { kind: 'until', until: '2030-01-01T00:00:00Z' }, concurrency: 2 },
  'batch:cancel': { batchId: 'batch-1' },
  'queue:flush': undefined,
  'queue:cancel': { id: 'abcdef123' },
  'pack:export': { ids: ['handover-1'] },
  'audit:export': undefined,
  'vault:reset': { confirm: true },
  'vault:repair': undefined,
  'ledger:new': { confirm: true },
  'fleet:status': undefined,
  'fleet:join': { url: 'postgres://fleet.example:5432/vkey_fleet', laptop: 'DEPOT-1', user: 'vkey_depot_1', password: 'pw', ca: 'grant-5' },
  'fleet:leave': undefined,
  'fleet:view': undefined,
}

/** A value of another type than the one given (what a confused or hostile page might send). */
function wrongTypeFor(value: unknown): unknown {
  if (typeof value === 'string') return 12345
  if (typeof value === 'number') return 'twelve'
  if (typeof value === 'boolean') return 'yes'
  if (Array.isArray(value)) return 'not-a-list'
  return 'not-an-object'
}

type Def = {
  type: string
  shape?: Record<string, z.ZodType>
  innerType?: z.ZodType
  element?: z.ZodType
  options?: z.ZodType[]
  in?: z.ZodType
  out?: z.ZodType
  valueType?: z.ZodType
  keyType?: z.ZodType
  left?: z.ZodType
  right?: z.ZodType
  items?: z.ZodType[]
  rest?: z.ZodType | null
  getter?: () => z.ZodType
}
const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def

/** Every object key reachable in a zod 4 schema, with the schema of its value and its path. */
function keysOf(schema: z.ZodType, path: string, seen = new Set<z.ZodType>()): { key: string; path: string; schema: z.ZodType }[] {
  if (seen.has(schema)) return []
  seen.add(schema)
  const def = defOf(schema)
  const children: [string, z.ZodType][] = []
  switch (def.type) {
    case 'object':
      for (const [key, value] of Object.entries(def.shape ?? {})) children.push([key, value])
      break
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'nonoptional':
    case 'catch':
    case 'promise':
      if (def.innerType) children.push(['', def.innerType])
      break
    case 'array':
      if (def.element) children.push(['', def.element])
      break
    case 'union':
      for (const option of def.options ?? []) children.push(['', option])
      break
    case 'intersection':
      if (def.left) children.push(['', def.left])
      if (def.right) children.push(['', def.right])
      break
    case 'pipe':
      if (def.in) children.push(['', def.in])
      if (def.out) children.push(['', def.out])
      break
    case 'record':
    case 'map':
      if (def.keyType) children.push(['', def.keyType])
      if (def.valueType) children.push(['', def.valueType])
      break
    case 'tuple':
      for (const item of def.items ?? []) children.push(['', item])
      if (def.rest) children.push(['', def.rest])
      break
    case 'lazy':
      if (def.getter) children.push(['', def.getter()])
      break
  }
  return children.flatMap(([key, child]) => [
    ...(key ? [{ key, path: `${path}.${key}`, schema: child }] : []),
    ...keysOf(child, key ? `${path}.${key}` : path, seen),
  ])
}

const isBooleanSchema = (schema: z.ZodType): boolean => {
  const def = defOf(schema)
  if (def.type === 'boolean') return true
  return (def.type === 'optional' || def.type === 'nullable') && def.innerType !== undefined && isBooleanSchema(def.innerType)
}

describe('the IPC contract', () => {
  it('names each channel and event once, with the same keys as the method lists', () => {
    assert.deepEqual([...channels].sort(), Object.keys(channelMethods).sort())
    assert.deepEqual([...eventChannels].sort(), Object.keys(eventMethods).sort())
    const methods = [...Object.values(channelMethods), ...Object.values(eventMethods)]
    assert.equal(new Set(methods).size, methods.length, 'two channels share a window.vkey method name')
    assert.ok(!Object.values(channelMethods).includes('on' as never), '`on` is reserved for event subscriptions')
  })

  it('has a valid sample input for every channel (the samples the refusal tests start from)', () => {
    for (const channel of channels) {
      const parsed = contract[channel].input.safeParse(validInputs[channel])
      assert.ok(parsed.success, `${channel}: ${parsed.success ? '' : parsed.error.message}`)
    }
  })

  it('has no output or event field that can carry a password, passphrase, private key or bundle', () => {
    const schemas: [string, z.ZodType][] = [
      ...channels.map((channel): [string, z.ZodType] => [channel, contract[channel].output]),
      ...eventChannels.map((event): [string, z.ZodType] => [event, events[event].payload]),
      ['error', ErrorViewSchema],
    ]
    let seen = 0
    for (const [name, schema] of schemas) {
      for (const found of keysOf(schema, name)) {
        seen++
        // A boolean cannot carry a secret: `hasPassword` only says one is stored in the keychain.
        if (isBooleanSchema(found.schema)) continue
        assert.doesNotMatch(found.key, secretKey, `${found.path} looks like a secret in an output schema`)
      }
    }
    // The walk must really reach nested fields (a walker that saw nothing would pass vacuously).
    assert.ok(seen > 80, `only ${seen} output fields were walked`)
    assert.ok(keysOf(contract['handovers:get'].output, 'x').some((k) => k.path === 'x.token.accessToken'))
  })

  it('strips a password or private key that a handler returns by mistake', async () => {
    const leaky = {
      'profiles:activate': async () => ({
        name: 'Depot',
        environment: 'preprod',
        baseUrl: 'https://example.invalid',
        clientId: 'client',
        login: 'login',
        hasPassword: true,
        hasCa: false,
        certificate: null,
        isDefault: true,
        password: 'hunter2-secret',
        privateKeyPem: '-----BEGIN PRIVATE KEY-----',
      }),
    } as unknown as Handlers
    const result = await dispatch(leaky, 'profiles:activate', { name: 'Depot' })
    assert.equal(result.ok, true)
    const value = (result as { ok: true; value: ProfileView & Record<string, unknown> }).value
    assert.equal(value.password, undefined)
    assert.equal(value.privateKeyPem, undefined)
    assert.equal(value.hasPassword, true)
    assert.doesNotMatch(JSON.stringify(result), /hunter2|PRIVATE KEY/)
  })
})

describe('the preload bridge', () => {
  it('has one method per channel, each invoking its own channel with the input unchanged', async () => {
    const calls: [string, unknown][] = []
    const api = buildApi(
      async (channel, input) => {
        calls.push([channel, input])
        return { ok: true, value: channel }
      },
      () => () => {},
    ) as unknown as Record<string, unknown>
    assert.deepEqual(
      Object.keys(api)
        .filter((k) => k !== 'on')
        .sort(),
      Object.values(channelMethods).sort(),
    )
    for (const channel of channels) {
      const method = api[channelMethods[channel]] as (input: unknown) => Promise<unknown>
      const input = validInputs[channel]
      const result = await method(input)
      assert.deepEqual(calls.at(-1), [channel, input], `${channelMethods[channel]} invoked the wrong channel`)
      assert.deepEqual(result, { ok: true, value: channel })
    }
    assert.equal(calls.length, channels.length)
  })

  it('subscribes each event, passes the payload only, and returns an unsubscribe function', () => {
    const listeners = new Map<string, (payload: unknown) => void>()
    const unsubscribed: string[] = []
    const api = buildApi(
      async () => undefined,
      (channel, listener) => {
        listeners.set(channel, listener)
        return () => unsubscribed.push(channel)
      },
    )
    const on = api.on as unknown as Record<string, (listener: (...args: unknown[]) => void) => () => void>
    assert.deepEqual(Object.keys(on).sort(), Object.values(eventMethods).sort())
    for (const event of eventChannels) {
      const received: unknown[][] = []
      const unsubscribe = on[eventMethods[event]]!((...args) => received.push(args))
      listeners.get(event)!({ ids: ['a'] })
      assert.deepEqual(received, [[{ ids: ['a'] }]], `${event}: the listener must get exactly one argument, the payload`)
      unsubscribe()
      assert.equal(unsubscribed.at(-1), event)
    }
    assert.throws(() => on.onBatchProgress!('not a function' as never), TypeError)
  })

  it('is frozen, so the page cannot swap a method for another channel', () => {
    const api = buildApi(
      async () => undefined,
      () => () => {},
    )
    assert.ok(Object.isFrozen(api))
    assert.ok(Object.isFrozen(api.on))
  })
})

/** Values a handler may plausibly meet: ids, names, formats, duration plans, numbers, short texts. */
const plausible = fc.oneof(
  fc.constantFrom('handover-1', 'Simulator', 'VF3TEST0000000001', 'png', 'svg', 'json', 'csv', 'certificate', 'cardata', 'en', 'fr', 'preprod', 'issued', ''),
  fc.constantFrom({ kind: 'seconds', seconds: 60 }, { kind: 'until', until: '2030-01-01T00:00:00Z' }, { kind: 'plan', start: 'soon', seconds: -1 }),
  fc.integer({ min: -5, max: 700 }),
  fc.boolean(),
  fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
  fc.string({ maxLength: 80 }),
)

describe('the real handlers', () => {
  let dataDir: string
  let handlers: Awaited<ReturnType<typeof createHandlers>>
  const emitted: string[] = []

  before(async () => {
    dataDir = await tempFolder(undefined, 'vkey-contract-')
    const deps: HandlerDeps = {
      dataDir,
      store: openStore(dataDir),
      // A dialog double: the user cancels every dialog, so no path is ever chosen.
      dialogs: { chooseFiles: async () => [], chooseSavePath: async () => undefined },
      clipboard: { writeText: () => {}, readText: () => '', clear: () => {} },
      events: { emit: (event) => void emitted.push(event) },
      log: () => undefined,
      systemLocale: 'en-GB',
      version: '0.0.0-test',
      platform: process.platform,
    }
    // "Try the simulator" finds this run's demo material beside the data folder (made once: sim-material.ts).
    await seedSimulatorDir(defaultSimulatorDir(dataDir))
    handlers = await createHandlers(deps)
  })

  after(async () => {
    await handlers?.dispose()
    await rm(dataDir, { recursive: true, force: true })
    // "Try the simulator" (fuzzed like every channel) keeps its demo keys beside the data folder.
    await rm(defaultSimulatorDir(dataDir), { recursive: true, force: true })
  })

  it('has a handler for every channel in the contract, and none for a channel it lacks', () => {
    const channelKeys = Object.keys(handlers).filter((key) => key.includes(':'))
    assert.deepEqual(channelKeys.sort(), [...channels].sort())
    for (const channel of channels) assert.equal(typeof handlers[channel], 'function', channel)
  })

  it('refuses wrong-type inputs on every channel with a usage error, before the handler runs', async () => {
    const called: string[] = []
    const spied = Object.fromEntries(
      channels.map((channel) => [
        channel,
        (input: unknown) => {
          called.push(channel)
          return (handlers[channel] as (input: unknown) => Promise<unknown>)(input)
        },
      ]),
    ) as unknown as Handlers
    for (const channel of channels) {
      const valid = validInputs[channel]
      const wrong: { input: unknown; field?: string }[] = [
        { input: null },
        { input: 42 },
        { input: 'text' },
        { input: true },
        { input: [] },
        { input: [valid] },
      ]
      if (valid === undefined) wrong.push({ input: {} }, { input: { extra: 1 } })
      else {
        for (const [key, value] of Object.entries(valid)) wrong.push({ input: { ...valid, [key]: wrongTypeFor(value) }, field: key })
      }
      for (const { input, field } of wrong) {
        const result = await dispatch(spied, channel, input)
        const label = `${channel} with ${JSON.stringify(input)}`
        assert.equal(result.ok, false, `${label} was accepted`)
        if (result.ok) continue
        assert.equal(result.error.code, 'usage', `${label}: ${result.error.code}`)
        if (field) assert.equal(result.error.details.field?.split('.')[0], field, `${label} blamed ${result.error.details.field}`)
      }
    }
    assert.deepEqual(called, [], 'a handler ran on an input its schema refuses')
    const unknown = await dispatch(spied, 'vault:dump', undefined)
    assert.equal(unknown.ok, false)
    assert.equal(!unknown.ok && unknown.error.code, 'usage')
  })

  it('answers 1,000 arbitrary inputs per channel with a result, never a throw or a hang', { timeout: 10 * 60_000 }, async () => {
    for (const channel of channels) {
      const sample = validInputs[channel]
      const keys = sample === undefined ? [] : Object.keys(sample)
      const anything = fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withNullPrototype: true })
      // Half the inputs have the channel's own shape. A channel that takes no input has one
      // shape only, `undefined`: it gets 1 in 20 (about 50 real calls, "Try the simulator"
      // among them, instead of the same call 500 times), the rest arbitrary values.
      const inputs = keys.length
        ? fc.oneof(anything, fc.record(Object.fromEntries(keys.map((key) => [key, fc.oneof(plausible, fc.anything())])), { requiredKeys: [] }))
        : fc.oneof({ arbitrary: anything, weight: 19 }, { arbitrary: fc.constant(undefined), weight: 1 })
      await fc.assert(
        fc.asyncProperty(inputs, async (input) => {
          let timer: NodeJS.Timeout | undefined
          const hang = new Promise<'hang'>((resolve) => {
            timer = setTimeout(() => resolve('hang'), 15_000)
          })
          const result = await Promise.race([dispatch(handlers, channel, input), hang])
          clearTimeout(timer)
          assert.notEqual(result, 'hang', `${channel} did not answer within 15 s`)
          if (result === 'hang') return
          assert.equal(typeof result.ok, 'boolean')
          if (!result.ok) {
            assert.ok((errorCodes as readonly string[]).includes(result.error.code), `${channel}: unknown error code ${result.error.code}`)
            assert.equal(typeof result.error.message, 'string')
            // 'internal' is still a result, but it means a handler threw something unexpected: a failure.
            assert.notEqual(
              result.error.code,
              'internal',
              `${channel} answered 'internal' (${result.error.message}) to ${JSON.stringify(input, (_key, value: unknown) => (value === undefined ? '<undefined>' : typeof value === 'bigint' ? `${value}n` : value))?.slice(0, 200)}`,
            )
          }
        }),
        { numRuns: 1000 },
      )
    }
  })
})
