import * as E from 'fp-ts/lib/Either.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  IsoTimestamp,
  QuotaOverrides,
  Quotas,
  Tenant,
  TenantName,
  activate,
  admit,
  changeQuotas,
  newTenant,
  softDelete,
  suspend,
  tierQuotas,
} from '../../../../src/domain/tenants/tenant.js'
import type { TenantId } from '../../../../src/domain/streams/ids.js'

const at = '2026-12-04T13:00:00.000Z' as IsoTimestamp
const acme = newTenant('acme' as TenantId, at)
const right = <A>(r: E.Either<unknown, A>): A => {
  if (E.isLeft(r)) throw new Error(`expected Right, got ${JSON.stringify(r.left)}`)
  return r.right
}

describe('tiers', () => {
  it('have the documented numbers (docs/security.md), each a valid Quotas', () => {
    expect(tierQuotas).toEqual({
      free: { eventsPerDay: 10_000, storedBytes: 104_857_600, streams: 1_000, projections: 5, appendsPerSecond: 10, connections: 5 },
      pro: { eventsPerDay: 1_000_000, storedBytes: 10_737_418_240, streams: 100_000, projections: 50, appendsPerSecond: 500, connections: 100 },
      unlimited: { eventsPerDay: null, storedBytes: null, streams: null, projections: null, appendsPerSecond: null, connections: null },
    })
    for (const q of Object.values(tierQuotas)) expect(Quotas.decode(q)).toEqual(E.right(q))
  })
})

describe('a new tenant', () => {
  it('is active, free by default, named after its id, and a valid record', () => {
    expect(acme).toEqual({ tenant: 'acme', name: 'acme', status: 'active', tier: 'free', quotas: tierQuotas.free, createdAt: at })
    expect(Tenant.decode(acme)).toEqual(E.right(acme))
  })

  it('takes a tier and overrides single quotas', () => {
    const t = newTenant('b' as TenantId, at, { name: 'Globex Inc.' as TenantName, tier: 'pro', quotas: { projections: 200 } as QuotaOverrides })
    expect(t).toMatchObject({ name: 'Globex Inc.', tier: 'pro', quotas: { ...tierQuotas.pro, projections: 200 } })
  })
})

describe('transitions', () => {
  const suspended = right(suspend(acme))
  const deleted = right(softDelete(acme))

  it('suspend and activate move between active and suspended; repeating one changes nothing', () => {
    expect(suspended.status).toBe('suspended')
    expect(right(suspend(suspended))).toBe(suspended)
    expect(right(activate(suspended))).toEqual(acme)
    expect(right(activate(acme))).toBe(acme)
  })

  it('soft delete works from active and suspended, keeps the record, and is idempotent', () => {
    expect(deleted).toEqual({ ...acme, status: 'deleted' })
    expect(right(softDelete(suspended))).toEqual({ ...acme, status: 'deleted' })
    expect(right(softDelete(deleted))).toBe(deleted)
  })

  it.each([
    ['activate', activate],
    ['suspend', suspend],
    ['change the quotas of', (t: Tenant) => changeQuotas(t, { quotas: { streams: 1 } as QuotaOverrides })],
  ] as const)('a deleted tenant cannot be changed: %s', (action, f) => {
    expect(f(deleted)).toEqual(
      E.left({ _tag: 'IllegalTransition', target: 'acme', status: 'deleted', action, message: `cannot ${action} tenant acme: it is deleted` }),
    )
  })

  it('changeQuotas: a new tier replaces every quota, then overrides apply; without a tier only overrides change', () => {
    const pro = right(changeQuotas(acme, { tier: 'pro', quotas: { connections: 7 } as QuotaOverrides }))
    expect(pro).toMatchObject({ tier: 'pro', quotas: { ...tierQuotas.pro, connections: 7 } })
    const more = right(changeQuotas(pro, { quotas: { streams: null } }))
    expect(more).toMatchObject({ tier: 'pro', quotas: { ...tierQuotas.pro, connections: 7, streams: null } })
    expect(right(changeQuotas(suspended, {}))).toEqual(suspended)
  })

  it('property: any sequence of transitions keeps a valid record, and deleted is final', () => {
    const step = fc.constantFrom(
      (t: Tenant) => suspend(t),
      (t: Tenant) => activate(t),
      (t: Tenant) => softDelete(t),
      (t: Tenant) => changeQuotas(t, { tier: 'unlimited' }),
    )
    fc.assert(
      fc.property(fc.array(step, { maxLength: 12 }), (steps) => {
        let t: Tenant = acme
        for (const f of steps) {
          const r = f(t)
          if (E.isLeft(r)) {
            expect(t.status).toBe('deleted')
            continue
          }
          if (t.status === 'deleted') expect(r.right).toBe(t)
          t = r.right
          expect(Tenant.decode(t)).toEqual(E.right(t))
        }
      }),
    )
  })
})

describe('admit', () => {
  it('refuses an unknown or deleted tenant as not found and a suspended one as suspended', () => {
    const id = 'acme' as TenantId
    expect(admit(id, undefined)).toEqual(E.left({ _tag: 'TenantNotFound', tenant: 'acme' }))
    expect(admit(id, right(softDelete(acme)))).toEqual(E.left({ _tag: 'TenantNotFound', tenant: 'acme' }))
    expect(admit(id, right(suspend(acme)))).toEqual(E.left({ _tag: 'TenantSuspended', tenant: 'acme' }))
    expect(admit(id, acme)).toEqual(E.right(acme))
  })
})

describe('tenant codec', () => {
  it.each([
    ['a bad tenant id', { tenant: 'a.b' }],
    ['a wildcard tenant id', { tenant: '>' }],
    ['an unknown status', { status: 'paused' }],
    ['an unknown tier', { tier: 'gold' }],
    ['a negative quota', { quotas: { ...tierQuotas.free, streams: -1 } }],
    ['a fractional quota', { quotas: { ...tierQuotas.free, streams: 1.5 } }],
    ['an infinite quota', { quotas: { ...tierQuotas.free, streams: Infinity } }],
    ['a missing quota', { quotas: { ...tierQuotas.free, streams: undefined } }],
    ['a misspelt quota', { quotas: { ...tierQuotas.free, eventPerDay: 5 } }],
    ['an empty name', { name: '  ' }],
    ['a name with a newline', { name: 'a\nb' }],
    ['a name too long', { name: 'x'.repeat(201) }],
    ['a local time', { createdAt: '2026-12-04T13:00:00' }],
    ['30 February', { createdAt: '2026-02-30T00:00:00Z' }],
    ['24:00', { createdAt: '2026-12-04T24:00:00Z' }],
    ['a Date object', { createdAt: new Date(0) }],
  ])('rejects %s', (_, change) => {
    expect(E.isLeft(Tenant.decode({ ...acme, ...change }))).toBe(true)
  })

  it('rejects unknown quota keys in overrides instead of dropping them', () => {
    expect(E.isLeft(QuotaOverrides.decode({ eventPerDay: 5 }))).toBe(true)
    expect(QuotaOverrides.decode({ eventsPerDay: 5 })).toEqual(E.right({ eventsPerDay: 5 }))
    expect(QuotaOverrides.is({ eventPerDay: 5 })).toBe(false)
  })

  it('property: decoding a valid record gives it back unchanged (the codec does not transform)', () => {
    const limit = fc.option(fc.nat(), { nil: null })
    const record = fc.record({
      tenant: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
      name: fc.string({ minLength: 1, maxLength: 200 }).filter((s) => s.trim() !== '' && !/[\u0000-\u001f\u007f]/.test(s)),
      status: fc.constantFrom('active', 'suspended', 'deleted'),
      tier: fc.constantFrom('free', 'pro', 'unlimited'),
      quotas: fc.record({ eventsPerDay: limit, storedBytes: limit, streams: limit, projections: limit, appendsPerSecond: limit, connections: limit }),
      createdAt: fc.date({ min: new Date(0), max: new Date('9999-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
    })
    fc.assert(
      fc.property(record, (r) => {
        expect(Tenant.decode(r)).toEqual(E.right(r))
      }),
    )
  })

  it('property: any mutation of one field to a junk value is rejected', () => {
    const junk = fc.oneof(fc.constant(null), fc.constant(undefined), fc.integer({ max: -1 }), fc.constant(''), fc.constant('*'.repeat(201)), fc.object(), fc.boolean())
    const field = fc.constantFrom('tenant', 'name', 'status', 'tier', 'quotas', 'createdAt')
    fc.assert(
      fc.property(field, junk, (k, v) => {
        expect(E.isLeft(Tenant.decode({ ...acme, [k]: v }))).toBe(true)
      }),
    )
  })
})
