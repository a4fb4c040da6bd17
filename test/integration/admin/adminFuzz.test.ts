import { jetstreamManager } from '@nats-io/jetstream'
import { connect, headers, type NatsConnection } from '@nats-io/transport-node'
import * as fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeMsgpack, encodeMsgpack } from '../../../src/adapters/codec/msgpack.js'
import { statusOf, type ErrorCode } from '../../../src/adapters/nats/service/errorCodes.js'
import { subjects } from '../../../src/adapters/nats/subjects.js'
import { type AdminFixture, startAdminFixture } from '../../support/adminFixture.js'
import { withNatsServer } from '../../support/natsServer.js'
import { fuzzRuns, fuzzSeed, fuzzTimeout } from '../../support/fuzzBudget.js'

const s = subjects()

/**
 * Not `projection`: `allsource.admin.projection.keys.*` is the projection endpoint's to answer, and it
 * does not run here. Subject tokens are never empty here: `a..b` is not a NATS subject (the server answers no responders itself). */
/** Tenant ids: the seeded ones (active, suspended, deleted), fresh ones, and tokens no id may be. */
const tenantValue = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('acme', 'sus', 'gone', 'f1', 'f2') },
  { weight: 2, arbitrary: fc.constantFrom('', 'a b', '*', '>', 'a.b', 'x'.repeat(65), 'tenants', 'é', 'A_-9') },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 1 }) },
)
const subjectToken = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('acme', 'sus', 'gone', 'f1', 'nobody') },
  { weight: 2, arbitrary: fc.constantFrom('*', 'a$b', 'tenants', 'projections', 'x'.repeat(70)) },
)
const anything = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(null, -1, 0, 1.5, 1e308, '', true))
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 })
const rec = (fields: Record<string, fc.Arbitrary<unknown>>) =>
  fc.record(Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, opt(v)]))).map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)))
const quotas = fc.oneof(rec({ projections: fc.oneof(fc.integer({ min: -1, max: 500 }), fc.constant(null), anything), eventPerDay: fc.constant(1), streams: fc.nat() }), anything)
const time = fc.oneof(fc.constantFrom('2030-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z', '2027-02-30T00:00:00Z', 'soon'), anything)

const tenantCommand = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('create', 'get', 'list', 'update', 'suspend', 'activate', 'delete') },
  { weight: 1, arbitrary: fc.constantFrom('Create', 'purge', 'list.x') },
)
const keyCommand = fc.oneof({ weight: 8, arbitrary: fc.constantFrom('create', 'list', 'revoke') }, { weight: 1, arbitrary: fc.constantFrom('rotate', 'list.x') })

const tenantBody = rec({
  tenant: tenantValue,
  name: fc.oneof(fc.constantFrom('Acme', ' ', 'a\nb'), anything),
  tier: fc.oneof(fc.constantFrom('free', 'pro', 'unlimited', 'gold'), anything),
  quotas,
  after: tenantValue,
  limit: fc.oneof(fc.integer({ min: -1, max: 1001 }), anything),
  includeDeleted: fc.oneof(fc.boolean(), anything),
  extra: anything,
})
const keyBody = rec({
  role: fc.oneof(fc.constantFrom('admin', 'developer', 'reader', 'service', 'operator'), anything),
  name: fc.oneof(fc.constantFrom('ci', ''), anything),
  expiresAt: time,
  keyId: fc.oneof(fc.constantFrom('AAAAAAAAAAAA', 'short'), anything),
  extra: anything,
})

type Body = { readonly t: 'json' | 'msgpack'; readonly value: unknown; readonly flips: readonly number[] } | { readonly t: 'bytes'; readonly bytes: Uint8Array } | { readonly t: 'empty' }
const bodyOf = (value: fc.Arbitrary<unknown>): fc.Arbitrary<Body> =>
  fc.oneof(
    { weight: 7, arbitrary: fc.record({ t: fc.constantFrom<'json' | 'msgpack'>('json', 'msgpack'), value, flips: fc.constant([] as number[]) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constantFrom<'json' | 'msgpack'>('json', 'msgpack'), value, flips: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 3 }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant<'bytes'>('bytes'), bytes: fc.uint8Array({ maxLength: 64 }) }) },
    { weight: 1, arbitrary: fc.constant<Body>({ t: 'empty' }) },
  )

const validTenant = fc.constantFrom('acme', 'sus', 'gone', 'f1', 'f2')
/** Almost-right bodies per command (so requests get past the first check), and the wild ones. */
const plausibleTenantBody = (command: string): fc.Arbitrary<unknown> => {
  switch (command) {
    case 'create':
      return rec({ tenant: validTenant, tier: fc.constantFrom('free', 'pro'), quotas: fc.constant({ projections: 9 }) }).map((b) => ({ tenant: 'f1', ...b }))
    case 'update':
      return rec({ tier: fc.constantFrom('free', 'pro', 'unlimited'), quotas: fc.constant({ streams: 3 }) }).chain((b) => validTenant.map((tenant) => ({ tenant, ...b })))
    case 'list':
      return rec({ after: validTenant, limit: fc.integer({ min: 1, max: 3 }), includeDeleted: fc.boolean() })
    default:
      return validTenant.map((tenant) => ({ tenant }))
  }
}
const plausibleKeyBody = (command: string): fc.Arbitrary<unknown> =>
  command === 'create'
    ? rec({ name: fc.constantFrom('ci', 'ops'), expiresAt: fc.constant('2030-01-01T00:00:00.000Z') }).chain((b) => fc.constantFrom('admin', 'reader').map((role) => ({ role, ...b })))
    : command === 'revoke'
      ? fc.constant({ keyId: 'AAAAAAAAAAAA' })
      : fc.constant({})

const request = fc.oneof(
  tenantCommand.chain((c) =>
    fc.record({ subject: fc.constant(s.adminTenants(c)), body: bodyOf(fc.oneof({ weight: 3, arbitrary: plausibleTenantBody(c) }, { weight: 2, arbitrary: tenantBody })) }),
  ),
  fc.tuple(subjectToken, keyCommand).chain(([t, c]) =>
    fc.record({ subject: fc.constant(s.adminKeys(t, c)), body: bodyOf(fc.oneof({ weight: 3, arbitrary: plausibleKeyBody(c) }, { weight: 2, arbitrary: keyBody })) }),
  ),
)

const encode = (b: Body): { data: Uint8Array; json: boolean } => {
  if (b.t === 'empty') return { data: new Uint8Array(0), json: false }
  if (b.t === 'bytes') return { data: b.bytes, json: false }
  const data = b.t === 'json' ? new TextEncoder().encode(JSON.stringify(b.value) ?? 'null') : encodeMsgpack(b.value)
  const out = Uint8Array.from(data)
  for (const f of b.flips) if (out.length > 0) {
    const i = Math.min(out.length - 1, Math.floor(f * out.length))
    out[i] = (out[i] ?? 0) ^ 0x5a
  }
  return { data: out, json: b.t === 'json' }
}

describe('admin endpoints: fuzzed subjects and bodies', () => {
  const server = withNatsServer()
  let nc: NatsConnection
  let fx: AdminFixture

  beforeAll(async () => {
    nc = await connect({ servers: server().url })
    fx = await startAdminFixture(nc, 'allsource')
    for (const t of ['acme', 'sus', 'gone']) await fx.call(s.adminTenants('create'), { tenant: t })
    await fx.call(s.adminKeys('acme', 'create'), { role: 'admin' })
    await fx.call(s.adminKeys('sus', 'create'), { role: 'reader' })
    await fx.call(s.adminTenants('suspend'), { tenant: 'sus' })
    await fx.call(s.adminTenants('delete'), { tenant: 'gone' })
  })
  afterAll(async () => {
    await fx?.stop()
    await nc?.close()
  })

  it('every request gets one well-formed reply; a rejected one writes nothing; no reply holds a hash or a key', async () => {
    const jsm = await jetstreamManager(nc)
    const buckets = (await jsm.streams.names().next()).filter((n) => n.startsWith('KV_T_') || n.startsWith('KV_K_'))
    expect(buckets).toHaveLength(2)
    const lastSeqs = async () => Promise.all(buckets.map(async (b) => (await jsm.streams.info(b)).state.last_seq))
    const codes = new Set(Object.keys(statusOf))
    const keysRevealed: string[] = []
    let hashes = (await fx.snapshot()).keys.map((k) => k.hash)
    expect(hashes).toHaveLength(2)
    let accepted = 0
    let rejected = 0

    await fc.assert(
      fc.asyncProperty(request, async ({ subject, body }) => {
        const before = await lastSeqs()
        const { data, json } = encode(body)
        const m = await nc.request(subject, data, { timeout: 5_000, ...(json ? { headers: jsonHeaders() } : {}) })
        const isJson = m.headers?.get('Content-Type') === 'application/json'
        const text = new TextDecoder().decode(m.data)
        const reply = (isJson ? JSON.parse(text) : decodeMsgpack(m.data)) as Record<string, unknown>
        const status = m.headers?.get('Nats-Service-Error-Code') ?? ''
        const error = reply.error as { code: ErrorCode; message: string } | undefined
        if (error !== undefined) {
          rejected++
          expect(codes.has(error.code)).toBe(true)
          expect(typeof error.message).toBe('string')
          expect(status).toBe(String(statusOf[error.code]))
          expect(error.code).not.toBe('INTERNAL')
          expect(await lastSeqs()).toEqual(before)
        } else {
          accepted++
          expect(status).toBe('')
          if (typeof reply.key === 'string') keysRevealed.push(reply.key)
        }
        if (typeof reply.key === 'string') hashes = (await fx.snapshot()).keys.map((k) => k.hash)
        for (const h of hashes) expect(text).not.toContain(h)
        // A key shows in its own create reply only.
        for (const k of keysRevealed.slice(0, error === undefined && typeof reply.key === 'string' ? -1 : undefined)) expect(text).not.toContain(k.slice(16, 59))
      }),
      { numRuns: fuzzRuns(150), ...fuzzSeed(42) },
    )
    expect(accepted).toBeGreaterThan(10)
    expect(rejected).toBeGreaterThan(10)
    // What the fuzz left is still a readable store: every record decodes (a corrupt one would be skipped).
    const after = await fx.snapshot()
    expect(after.tenants.map((t) => t.tenant)).toEqual(expect.arrayContaining(['acme', 'gone', 'sus']))
    expect(after.keys.length).toBeGreaterThanOrEqual(2)
  }, fuzzTimeout(150, 300, 60_000))
})

const jsonHeaders = () => {
  const h = headers()
  h.set('Content-Type', 'application/json')
  return h
}
