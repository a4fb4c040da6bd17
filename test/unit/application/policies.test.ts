import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { msgpackPayloadBytes } from '../../../src/adapters/codec/payloadSize.js'
import { createInMemoryPolicyStore } from '../../../src/adapters/memory/inMemoryPolicyStore.js'
import { checkAppendPolicy, createPolicy, evaluatePolicy, startPolicyCache } from '../../../src/application/policies/index.js'
import { validateAppendRequest } from '../../../src/domain/streams/appendRequest.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'

const acme = 'acme' as TenantId
const right = <A>(r: E.Either<unknown, A>): A => {
  if (E.isLeft(r)) throw new Error(`expected a value, got ${JSON.stringify(r.left)}`)
  return r.right
}

const setup = async () => {
  const store = createInMemoryPolicyStore()
  right(await createPolicy(store)(acme, { id: 'no-deletes', effect: 'deny', match: { eventType: '*.deleted' }, description: 'use a tombstone' }))
  right(await createPolicy(store)(acme, { id: 'admins', effect: 'allow', priority: 1, match: { role: 'admin' } }))
  right(await createPolicy(store)(acme, { id: 'big', effect: 'warn', match: { payloadBytes: { min: 100 } } }))
  return store
}

describe('evaluatePolicy (dry run)', () => {
  it('answers { decision, rule, event, reason } for an append body, as the caller or as another role', async () => {
    const evaluate = evaluatePolicy({ store: await setup(), payloadBytes: msgpackPayloadBytes })
    const body = { stream: 'order-1', events: [{ type: 'order.created', payload: { id: 1 } }, { type: 'order.deleted', payload: { id: 1 } }] }
    expect(right(await evaluate(acme, 'service', body))).toEqual({
      decision: 'deny',
      rule: 'no-deletes',
      event: 1,
      reason: 'event 1 (order.deleted) is denied by rule "no-deletes" (use a tombstone)',
    })
    expect(right(await evaluate(acme, 'service', { ...body, role: 'admin' }))).toMatchObject({ decision: 'allow', rule: 'admins' })
    expect(right(await evaluate(acme, 'service', { stream: 'x', events: [{ type: 'a', payload: 'x'.repeat(200) }] }))).toMatchObject({ decision: 'warn', rule: 'big' })
    expect(right(await evaluate('globex' as TenantId, 'service', body)).decision).toBe('allow')
  })

  it('validates the body as an append, plus stream and role', async () => {
    const evaluate = evaluatePolicy({ store: await setup(), payloadBytes: msgpackPayloadBytes })
    const tags = async (body: unknown) => {
      const r = await evaluate(acme, 'admin', body)
      return E.isLeft(r) ? r.left._tag : 'ok'
    }
    expect(await tags('x')).toBe('BadRequest')
    expect(await tags({ events: [{ type: 'a', payload: 1 }] })).toBe('InvalidId')
    expect(await tags({ stream: 's', events: [] })).toBe('BadRequest')
    expect(await tags({ stream: 's', events: [{ type: 'a', payload: null }] })).toBe('BadRequest')
    expect(await tags({ stream: 's', role: 'root', events: [{ type: 'a', payload: 1 }] })).toBe('BadRequest')
  })
})

describe('checkAppendPolicy (the append path, from the cache)', () => {
  it('a deny is FORBIDDEN with reason policy, the rule and the event; allow and warn go ahead', async () => {
    const store = await setup()
    const cache = right(await startPolicyCache(store)())
    const check = checkAppendPolicy({ cache, payloadBytes: msgpackPayloadBytes })
    const command = (events: unknown[]) => right(validateAppendRequest('acme', 'order-1', { events }))
    expect(check(command([{ type: 'a', payload: 1 }, { type: 'order.deleted', payload: 1 }]), 'service')).toEqual(
      E.left({
        _tag: 'Forbidden',
        reason: 'policy',
        operation: 'append',
        rule: 'no-deletes',
        event: 1,
        message: 'event 1 (order.deleted) is denied by rule "no-deletes" (use a tombstone)',
      }),
    )
    expect(right(check(command([{ type: 'order.deleted', payload: 1 }]), 'admin')).decision).toBe('allow')
    expect(right(check(command([{ type: 'a', payload: 'x'.repeat(200) }]), 'service')).decision).toBe('warn')
    // A corrupt stored set fails closed.
    store.putRaw('acme', new TextEncoder().encode('{}'))
    expect(check(command([{ type: 'a', payload: 1 }]), 'service')).toMatchObject(E.left({ _tag: 'Unavailable' }))
    cache.stop()
  })
})
