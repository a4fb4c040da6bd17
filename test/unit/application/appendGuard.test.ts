import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { msgpackPayloadBytes } from '../../../src/adapters/codec/payloadSize.js'
import { createInMemoryPolicyStore } from '../../../src/adapters/memory/inMemoryPolicyStore.js'
import { createInMemoryRateLimiter } from '../../../src/adapters/memory/inMemoryRateLimiter.js'
import { checkAppendPolicy, startPolicyCache } from '../../../src/application/policies/index.js'
import type { AppendResult } from '../../../src/application/streams/appendResult.js'
import { APPENDING_ROLES, createAppendGuard } from '../../../src/application/tenants/appendGuard.js'
import { createDailyEventCounter } from '../../../src/application/tenants/dailyEvents.js'
import type { PolicyRule } from '../../../src/domain/security/policies.js'
import type { Role } from '../../../src/domain/security/roles.js'
import { validateAppendRequest } from '../../../src/domain/streams/appendRequest.js'
import { internal } from '../../../src/application/streams/errors.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'
import { type IsoTimestamp, type QuotaOverrides, newTenant } from '../../../src/domain/tenants/tenant.js'
import { MS_PER_DAY, msUntilNextUtcDay, utcDayOf } from '../../../src/domain/tenants/utcDay.js'

const at = (ms: number) => ({ now: () => new Date(ms) })

describe('UTC days', () => {
  it('the wait reaches the next UTC midnight exactly', () => {
    for (const ms of [0, 1, MS_PER_DAY - 1, MS_PER_DAY, Date.UTC(2030, 5, 1, 23, 59, 59, 999)]) {
      const wait = msUntilNextUtcDay(ms)
      expect(wait).toBeGreaterThanOrEqual(1)
      expect(utcDayOf(ms + wait)).toBe(utcDayOf(ms) + 1)
      expect(utcDayOf(ms + wait - 1)).toBe(utcDayOf(ms))
    }
  })
})

describe('the day counter', () => {
  it('reserves up to the limit, refuses past it until midnight, releases, and starts again the next day', () => {
    let now = Date.UTC(2030, 0, 1, 22, 0, 0)
    const daily = createDailyEventCounter({ now: () => new Date(now) })
    const limit = 5 as never
    const first = daily.reserve('t', 3, limit)
    expect(E.isRight(first)).toBe(true)
    const refused = daily.reserve('t', 3, limit)
    expect(E.isLeft(refused) && refused.left).toMatchObject({ _tag: 'QuotaExceeded', quota: 'eventsPerDay', limit: 5, retryAfterMs: 2 * 3600_000 })
    expect(daily.today('t')).toBe(3)
    if (E.isRight(first)) daily.release(first.right)
    expect(daily.today('t')).toBe(0)
    expect(E.isRight(daily.reserve('t', 5, limit))).toBe(true)
    expect(E.isRight(daily.reserve('t', 1000, null))).toBe(true)
    now += 2 * 3600_000
    expect(daily.today('t')).toBe(0)
    expect(E.isRight(daily.reserve('t', 5, limit))).toBe(true)
  })
})

const setup = async (rules: readonly PolicyRule[], quotas: QuotaOverrides, now = Date.UTC(2030, 0, 1), roleOf?: (t: string, p: string) => Role | undefined | Promise<Role | undefined>) => {
  const store = createInMemoryPolicyStore()
  if (rules.length > 0) await store.put('acme' as TenantId, rules, 0)()
  const cache = await startPolicyCache(store)()
  if (E.isLeft(cache)) throw new Error('cache')
  const daily = createDailyEventCounter(at(now))
  const roles: Record<string, Role> = { k1: 'service', k2: 'developer' }
  const guard = createAppendGuard({
    policy: checkAppendPolicy({ cache: cache.right, payloadBytes: msgpackPayloadBytes }),
    limiter: createInMemoryRateLimiter({ clock: at(now) }),
    daily,
    roleOf: roleOf ?? (async (_t, p) => roles[p]),
    onFailed: (_c, error) => failures.push(error._tag),
  })
  const failures: string[] = []
  const tenant = newTenant('acme' as TenantId, new Date(now).toISOString() as IsoTimestamp, { quotas })
  const calls: string[] = []
  const append = (type: string, principal?: string, fail = false) => {
    const cmd = validateAppendRequest('acme', 'order-1', { events: [{ type, payload: {} }] })
    if (E.isLeft(cmd)) throw new Error('cmd')
    return guard(tenant, cmd.right, principal === undefined ? undefined : { principal }, async () => {
      calls.push(type)
      return fail ? E.left(internal('boom')) : E.right({} as AppendResult)
    })
  }
  return { append, calls, daily, failures }
}

describe('the append guard', () => {
  it('a deny refuses before the append; a role-scoped deny binds the resolved role only; an unknown role is evaluated as every appending role', async () => {
    const { append, calls } = await setup([{ id: 'svc', effect: 'deny', match: { eventType: 'audit.*', role: 'service' } }], { appendsPerSecond: null } as QuotaOverrides)
    expect(await append('audit.x', 'k1')).toMatchObject({ _tag: 'Left', left: { _tag: 'Forbidden', rule: 'svc', event: 0 } })
    expect(E.isRight(await append('audit.x', 'k2'))).toBe(true)
    expect(await append('audit.x')).toMatchObject({ _tag: 'Left', left: { rule: 'svc' } })
    expect(await append('audit.x', 'unknown')).toMatchObject({ _tag: 'Left', left: { rule: 'svc' } })
    expect(E.isRight(await append('order.x'))).toBe(true)
    expect(calls).toEqual(['audit.x', 'order.x'])
    expect(APPENDING_ROLES).not.toContain('reader')
  })

  it('rates: past the burst QUOTA_EXCEEDED, nothing appended, the day not counted; a failed append gives the day back', async () => {
    const { append, calls, daily } = await setup([], { appendsPerSecond: 2, eventsPerDay: 100 } as QuotaOverrides)
    expect(E.isRight(await append('a.b', 'k1'))).toBe(true)
    expect(E.isLeft(await append('a.b', 'k1', true))).toBe(true)
    const refused = await append('a.b', 'k2')
    expect(refused).toMatchObject({ _tag: 'Left', left: { _tag: 'QuotaExceeded', quota: 'appendsPerSecond', limit: 2 } })
    expect(calls).toEqual(['a.b', 'a.b'])
    expect(daily.today('acme')).toBe(1)
  })

  it('answers from memory take no promise hop: the append starts in the same tick as the call (a role given as a promise still works)', async () => {
    const sync = await setup([], { appendsPerSecond: null } as QuotaOverrides, undefined, () => 'developer')
    const pending = sync.append('a.b', 'k1')
    expect(sync.calls).toEqual(['a.b'])
    expect(E.isRight(await pending)).toBe(true)
    const later = await setup([], { appendsPerSecond: null } as QuotaOverrides)
    const p = later.append('a.b', 'k1')
    expect(later.calls).toEqual([])
    expect(E.isRight(await p)).toBe(true)
    expect(later.calls).toEqual(['a.b'])
  })

  it('tells onFailed of every failure once: a refusal and a failed append; never of a success', async () => {
    const { append, failures } = await setup([{ id: 'no', effect: 'deny', match: { eventType: 'bad.*' } }], { appendsPerSecond: null } as QuotaOverrides)
    expect(E.isLeft(await append('bad.x', 'k1'))).toBe(true)
    expect(E.isLeft(await append('a.b', 'k1', true))).toBe(true)
    expect(E.isRight(await append('a.b', 'k1'))).toBe(true)
    expect(failures).toEqual(['Forbidden', 'Internal'])
  })
})
