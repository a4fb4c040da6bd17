import * as E from 'fp-ts/lib/Either.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { globMatches } from '../../../../src/domain/security/glob.js'
import {
  MAX_RULES_PER_TENANT,
  type PolicyRequest,
  type PolicyResult,
  type PolicyRule,
  PolicySet,
  compilePolicies,
  enforce,
  evaluate,
  orderRules,
  policyDenied,
  validateRule,
} from '../../../../src/domain/security/policies.js'
import { type Role, roles } from '../../../../src/domain/security/roles.js'
import type { StreamId, TenantId } from '../../../../src/domain/streams/ids.js'

const req = (events: ReadonlyArray<readonly [string, number]>, over: Partial<PolicyRequest> = {}): PolicyRequest => ({
  tenant: 'acme' as TenantId,
  stream: 'order-42' as StreamId,
  role: 'service',
  events: events.map(([type, payloadBytes]) => ({ type, payloadBytes })),
  ...over,
})
const rule = (r: Omit<PolicyRule, 'match'> & { match?: PolicyRule['match'] }): PolicyRule => ({ match: {}, ...r })
const badRequestOf = (u: unknown): string => {
  const r = validateRule(u)
  if (E.isRight(r)) throw new Error(`expected a refusal of ${JSON.stringify(u)}`)
  expect(r.left._tag).toBe('BadRequest')
  return r.left._tag === 'BadRequest' ? r.left.message : ''
}

describe('policy rules: the codec', () => {
  it('accepts a full rule and gives it back untransformed', () => {
    const full = {
      id: 'no-big-deletes',
      effect: 'deny',
      description: 'deletes carry ids only',
      priority: 10,
      match: { eventType: ['*.deleted', 'order.cancelled'], category: 'order', tenant: 'acme', role: ['service', 'developer'], payloadBytes: { min: 1024 } },
    }
    expect(validateRule(full)).toEqual(E.right(full))
    expect(validateRule({ id: 'all', effect: 'warn', match: {} })).toEqual(E.right({ id: 'all', effect: 'warn', match: {} }))
  })

  it.each([
    [{ effect: 'deny', match: {} }, /^rule\.id is required$/],
    [{ id: 'a b', effect: 'deny', match: {} }, /^rule\.id must be 1–64/],
    [{ id: 'x', effect: 'block', match: {} }, /^rule\.effect must be "allow", "deny" or "warn"$/],
    [{ id: 'x', effect: 'deny' }, /^rule\.match is required$/],
    [{ id: 'x', effect: 'deny', match: { eventtype: 'a.*' } }, /^rule\.match\.eventtype is not a known field \(known: eventType, category/],
    [{ id: 'x', effect: 'deny', match: {}, extra: 1 }, /^rule\.extra is not a known field/],
    [{ id: 'x', effect: 'deny', match: { eventType: ['a.*', 'a b'] } }, /^rule\.match\.eventType\[1\] must start with a letter or \*/],
    [{ id: 'x', effect: 'deny', match: { eventType: [] } }, /^rule\.match\.eventType must be a value or a list of 1 to 16 values \(got 0\)$/],
    [{ id: 'x', effect: 'deny', match: { eventType: 'a'.repeat(201) } }, /at most 200 characters/],
    [{ id: 'x', effect: 'deny', match: { eventType: Array(17).fill('a') } }, /got 17/],
    [{ id: 'x', effect: 'deny', match: { category: 'order-x' } }, /^rule\.match\.category must be 1–200 characters of A–Z a–z 0–9 _ =/],
    [{ id: 'x', effect: 'deny', match: { role: 'root' } }, /^rule\.match\.role must be one of admin, developer, reader, service, operator$/],
    [{ id: 'x', effect: 'deny', match: { tenant: 'a.b' } }, /^rule\.match\.tenant must be a tenant id/],
    [{ id: 'x', effect: 'deny', match: { payloadBytes: {} } }, /^rule\.match\.payloadBytes must give min, max or both$/],
    [{ id: 'x', effect: 'deny', match: { payloadBytes: { min: 5, max: 4 } } }, /min \(5\) must not exceed max \(4\)/],
    [{ id: 'x', effect: 'deny', match: { payloadBytes: { max: -1 } } }, /^rule\.match\.payloadBytes\.max must be an integer from 0/],
    [{ id: 'x', effect: 'deny', match: {}, priority: 1.5 }, /^rule\.priority must be an integer from -1000000 to 1000000$/],
    [{ id: 'x', effect: 'deny', match: {}, description: 'a\nb' }, /^rule\.description must be at most 500 characters, without control/],
    ['deny all', /^rule must be an object$/],
  ])('refuses %j with a message naming the field', (u, message) => {
    expect(badRequestOf(u)).toMatch(message)
  })

  it('a stored set holds at most 100 rules with unique ids', () => {
    const rules = Array.from({ length: MAX_RULES_PER_TENANT }, (_, i) => rule({ id: `r${i}`, effect: 'deny' }))
    expect(E.isRight(PolicySet.decode({ rules }))).toBe(true)
    expect(E.isLeft(PolicySet.decode({ rules: [...rules, rule({ id: 'one-more', effect: 'deny' })] }))).toBe(true)
    expect(E.isLeft(PolicySet.decode({ rules: [rule({ id: 'a', effect: 'deny' }), rule({ id: 'a', effect: 'allow' })] }))).toBe(true)
  })
})

describe('policy evaluation: examples', () => {
  const rules: PolicyRule[] = [
    rule({ id: 'no-deletes', effect: 'deny', match: { eventType: '*.deleted' } }),
    rule({ id: 'admins-may-delete', effect: 'allow', priority: 10, match: { eventType: '*.deleted', role: 'admin' } }),
    rule({ id: 'big-orders', effect: 'warn', match: { category: 'order', payloadBytes: { min: 1000 } } }),
    rule({ id: 'huge', effect: 'deny', match: { payloadBytes: { min: 100_000 } }, description: 'keep events small' }),
  ]

  it('no rule matching: allow by default, naming no rule', () => {
    expect(evaluate(rules, req([['order.created', 10]]))).toEqual({ decision: 'allow', reason: 'no rule matches event 0 (order.created): allowed by default' })
    expect(evaluate([], req([['x', 1]])).decision).toBe('allow')
  })

  it('deny names the rule and the first denied event; its error is FORBIDDEN reason policy', () => {
    const r = evaluate(rules, req([['order.created', 10], ['order.deleted', 10], ['user.deleted', 10]]))
    expect(r).toEqual({ decision: 'deny', rule: 'no-deletes', event: 1, reason: 'event 1 (order.deleted) is denied by rule "no-deletes"' })
    expect(policyDenied(r)).toEqual({ _tag: 'Forbidden', reason: 'policy', operation: 'append', rule: 'no-deletes', event: 1, message: r.reason })
    expect(enforce(rules, req([['order.deleted', 1]]))).toEqual(E.left(policyDenied(evaluate(rules, req([['order.deleted', 1]])))))
  })

  it('a higher-priority allow is an exception to a deny', () => {
    expect(evaluate(rules, req([['order.deleted', 10]], { role: 'admin' }))).toMatchObject({ decision: 'allow', rule: 'admins-may-delete' })
  })

  it('warn lets the append through and says which rule; a later deny still wins', () => {
    expect(evaluate(rules, req([['order.created', 5000]]))).toMatchObject({ decision: 'warn', rule: 'big-orders', event: 0 })
    expect(enforce(rules, req([['order.created', 5000]]))).toEqual(E.right(evaluate(rules, req([['order.created', 5000]]))))
    expect(evaluate(rules, req([['order.created', 5000], ['order.created', 200_000]]))).toMatchObject({ decision: 'deny', rule: 'huge', event: 1 })
    expect(evaluate(rules, req([['user.created', 5000]], { stream: 'user-1' as StreamId })).decision).toBe('allow')
  })

  it('payload bounds are inclusive; category is the stream id up to its first dash', () => {
    const r = [rule({ id: 'mid', effect: 'deny', match: { payloadBytes: { min: 10, max: 20 }, category: 'order' } })]
    expect([9, 10, 20, 21].map((n) => evaluate(r, req([['e', n]])).decision)).toEqual(['allow', 'deny', 'deny', 'allow'])
    expect(evaluate(r, req([['e', 15]], { stream: 'order' as StreamId })).decision).toBe('deny')
    expect(evaluate(r, req([['e', 15]], { stream: 'order-a-b' as StreamId })).decision).toBe('deny')
    expect(evaluate(r, req([['e', 15]], { stream: 'orders-1' as StreamId })).decision).toBe('allow')
  })

  it('tenant and role conditions', () => {
    const r = [rule({ id: 'globex-readers', effect: 'deny', match: { tenant: ['globex' as TenantId], role: ['developer', 'operator'] } })]
    expect(evaluate(r, req([['e', 1]], { tenant: 'globex' as TenantId, role: 'operator' })).decision).toBe('deny')
    expect(evaluate(r, req([['e', 1]], { tenant: 'globex' as TenantId, role: 'service' })).decision).toBe('allow')
    expect(evaluate(r, req([['e', 1]], { tenant: 'acme' as TenantId, role: 'developer' })).decision).toBe('allow')
  })

  it('lists rules in evaluation order: priority, then deny before warn before allow, then id', () => {
    const r = [
      rule({ id: 'b', effect: 'allow' }),
      rule({ id: 'a', effect: 'allow' }),
      rule({ id: 'w', effect: 'warn' }),
      rule({ id: 'z', effect: 'deny' }),
      rule({ id: 'low', effect: 'deny', priority: -1 }),
      rule({ id: 'high', effect: 'allow', priority: 3 }),
    ]
    expect(orderRules(r).map((x) => x.id)).toEqual(['high', 'z', 'w', 'a', 'b', 'low'])
  })
})

// Generators over a small world, so that rules and events collide often.
const types = ['order.created', 'order.deleted', 'user.deleted', 'user.created', 'order.line.added']
const globs = ['order.*', '*.deleted', '*', 'user.created', '*.*.*', 'order.*.added']
const categories = ['order', 'user']
const arbMatch: fc.Arbitrary<PolicyRule['match']> = fc.record(
  {
    eventType: fc.oneof(fc.constantFrom(...globs), fc.uniqueArray(fc.constantFrom(...globs), { minLength: 1, maxLength: 3 })),
    category: fc.constantFrom(...categories),
    role: fc.uniqueArray(fc.constantFrom<Role>(...roles), { minLength: 1, maxLength: 3 }),
    tenant: fc.constantFrom('acme', 'globex') as fc.Arbitrary<TenantId>,
    payloadBytes: fc.oneof(fc.record({ min: fc.integer({ min: 0, max: 50 }) }), fc.record({ max: fc.integer({ min: 0, max: 50 }) })),
  },
  { requiredKeys: [] },
)
const arbRule = (id: string): fc.Arbitrary<PolicyRule> =>
  fc.record(
    { id: fc.constant(id), effect: fc.constantFrom('allow', 'deny', 'warn') as fc.Arbitrary<PolicyRule['effect']>, match: arbMatch, priority: fc.integer({ min: -2, max: 2 }) },
    { requiredKeys: ['id', 'effect', 'match'] },
  )
const arbRules: fc.Arbitrary<PolicyRule[]> = fc
  .uniqueArray(fc.stringMatching(/^[a-z]{1,3}$/), { maxLength: 12 })
  .chain((ids) => (ids.length === 0 ? fc.constant([]) : fc.tuple(...ids.map(arbRule))))
const arbEvent = fc.tuple(fc.constantFrom(...types), fc.integer({ min: 0, max: 60 }))
const arbRequest: fc.Arbitrary<PolicyRequest> = fc
  .record({
    events: fc.array(arbEvent, { minLength: 1, maxLength: 5 }),
    tenant: fc.constantFrom('acme', 'globex'),
    stream: fc.constantFrom('order-1', 'user-7', 'order', 'audit'),
    role: fc.constantFrom<Role>(...roles),
  })
  .map(({ events, tenant, stream, role }) => req(events, { tenant: tenant as TenantId, stream: stream as StreamId, role }))

/** The definition, written out plainly: per event, every matching rule, the best by (priority, effect, id). */
const modelMatches = (r: PolicyRule, q: PolicyRequest, e: { type: string; payloadBytes: number }): boolean => {
  const list = <A>(v: A | readonly A[] | undefined): readonly A[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v as A])
  const m = r.match
  const category = q.stream.split('-')[0]
  return (
    (list(m.eventType)?.some((g) => globMatches(g, e.type)) ?? true) &&
    (list(m.category)?.includes(category as string) ?? true) &&
    (list(m.tenant)?.includes(q.tenant) ?? true) &&
    (list(m.role)?.includes(q.role) ?? true) &&
    e.payloadBytes >= (m.payloadBytes?.min ?? 0) &&
    e.payloadBytes <= (m.payloadBytes?.max ?? Infinity)
  )
}
const rank = { deny: 0, warn: 1, allow: 2 } as const
const modelDecision = (rules: readonly PolicyRule[], q: PolicyRequest, i: number): PolicyRule | undefined =>
  rules
    .filter((r) => modelMatches(r, q, q.events[i] as { type: string; payloadBytes: number }))
    .sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0) || rank[a.effect] - rank[b.effect] || (a.id < b.id ? -1 : 1))[0]

describe('policy evaluation: properties', () => {
  it('agrees with the plain model of the documented order, for every event and over the whole request', () => {
    fc.assert(
      fc.property(arbRules, arbRequest, (rules, q) => {
        const perEvent = q.events.map((_, i) => modelDecision(rules, q, i))
        const firstDeny = perEvent.findIndex((r) => r?.effect === 'deny')
        const firstWarn = perEvent.findIndex((r) => r?.effect === 'warn')
        const got = evaluate(rules, q)
        if (firstDeny >= 0) expect(got).toMatchObject({ decision: 'deny', event: firstDeny, rule: perEvent[firstDeny]?.id })
        else if (firstWarn >= 0) expect(got).toMatchObject({ decision: 'warn', event: firstWarn, rule: perEvent[firstWarn]?.id })
        else {
          expect(got.decision).toBe('allow')
          expect(got.rule).toBe(perEvent[0]?.id)
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('is deterministic and independent of the order of the rule list (compiled or not)', () => {
    fc.assert(
      fc.property(
        arbRules.chain((rules) => fc.tuple(fc.constant(rules), fc.shuffledSubarray(rules, { minLength: rules.length, maxLength: rules.length }))),
        arbRequest,
        ([rules, shuffled], q) => {
          const a: PolicyResult = evaluate(rules, q)
          expect(evaluate(rules, q)).toEqual(a)
          expect(evaluate(shuffled, q)).toEqual(a)
          expect(evaluate(compilePolicies(shuffled), q)).toEqual(a)
        },
      ),
      { numRuns: 1000 },
    )
  })

  it('deny beats allow: a matching deny at a priority no matching allow or warn exceeds denies', () => {
    fc.assert(
      fc.property(arbRules, arbRequest, fc.constantFrom('allow', 'warn') as fc.Arbitrary<'allow' | 'warn'>, (rules, q, other) => {
        const top = Math.max(0, ...rules.map((r) => r.priority ?? 0))
        // An allow (or warn) and a deny on everything, both at the top priority: the deny wins.
        const withBoth = [...rules, rule({ id: 'zz-other', effect: other, priority: top }), rule({ id: 'zz-deny', effect: 'deny', priority: top })]
        const got = evaluate(withBoth, q)
        expect(got.decision).toBe('deny')
        expect(got.event).toBe(0)
      }),
      { numRuns: 1000 },
    )
  })

  it('a request is denied exactly when one of its events alone is, naming the first', () => {
    fc.assert(
      fc.property(arbRules, arbRequest, (rules, q) => {
        const alone = q.events.map((e) => evaluate(rules, { ...q, events: [e] }))
        const first = alone.findIndex((r) => r.decision === 'deny')
        const got = evaluate(rules, q)
        expect(got.decision === 'deny').toBe(first >= 0)
        if (first >= 0) expect(got).toMatchObject({ event: first, rule: alone[first]?.rule })
      }),
      { numRuns: 1000 },
    )
  })

  it('every generated rule passes the codec unchanged (the generators stay inside the contract)', () => {
    fc.assert(
      fc.property(arbRules, (rules) => {
        for (const r of rules) expect(validateRule(r)).toEqual(E.right(r))
      }),
      { numRuns: 300 },
    )
  })
})
