import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { createPolicy, deletePolicy, listPolicies, startPolicyCache } from '../../src/application/policies/index.js'
import type { PolicyChange, PolicyStore } from '../../src/application/policies/ports.js'
import { type PolicyRule, evaluate } from '../../src/domain/security/policies.js'
import type { StreamId, TenantId } from '../../src/domain/streams/ids.js'

/** A fresh, empty store, and a way to write raw bytes under a key behind its back. */
export interface OpenedPolicyStore {
  readonly store: PolicyStore
  putRaw(key: string, bytes: Uint8Array): Promise<void>
}

const acme = 'acme' as TenantId
const globex = 'globex' as TenantId
const deny = (id: string, eventType = '*.deleted'): PolicyRule => ({ id, effect: 'deny', match: { eventType } })

const right = <A>(r: E.Either<unknown, A>): A => {
  if (E.isLeft(r)) throw new Error(`expected a value, got ${JSON.stringify(r.left)}`)
  return r.right
}
const left = <A>(r: E.Either<{ _tag: string }, A>): { _tag: string } => {
  if (E.isRight(r)) throw new Error(`expected an error, got ${JSON.stringify(r.right)}`)
  return r.left
}

/** Wraps a store so a test can wait for the watch to deliver a change, instead of waiting for a time. */
const observed = (store: PolicyStore) => {
  const waiting: Array<{ readonly test: (c: PolicyChange) => boolean; readonly done: () => void }> = []
  const proxy: PolicyStore = {
    ...store,
    watch: (onChange, onError) =>
      store.watch((c) => {
        onChange(c)
        for (const w of [...waiting]) {
          if (w.test(c)) {
            waiting.splice(waiting.indexOf(w), 1)
            w.done()
          }
        }
      }, onError),
  }
  const until = (tenant: TenantId, revision: number): Promise<void> =>
    new Promise((done) =>
      waiting.push({ test: (c) => c.tenant === tenant && (E.isRight(c.policies) ? c.policies.right.revision : c.policies.left.revision) >= revision, done }),
    )
  return { proxy, until }
}

/**
 * The contract every {@link PolicyStore} keeps, and the policy use cases and cache over it.
 * `open` gives a fresh, empty store (its own bucket); the tests use only the port, plus `putRaw`.
 */
export const policyStoreContract = (name: string, open: () => Promise<OpenedPolicyStore>): void => {
  describe(`PolicyStore contract: ${name}`, () => {
    it('a tenant never written has no rules at revision 0; a put is answered by get, with a new revision', async () => {
      const { store } = await open()
      expect(right(await store.get(acme)())).toEqual({ rules: [], revision: 0 })
      const first = right(await store.put(acme, [deny('a')], 0)())
      expect(first.revision).toBeGreaterThan(0)
      expect(right(await store.get(acme)())).toEqual(first)
      const second = right(await store.put(acme, [deny('a'), deny('b')], first.revision)())
      expect(second.revision).toBeGreaterThan(first.revision)
      expect(right(await store.get(acme)())).toEqual(second)
      expect(right(await store.get(globex)())).toEqual({ rules: [], revision: 0 })
    })

    it('put is compare-and-set: a stale revision (or 0 on a written tenant) conflicts and changes nothing; of racers one wins', async () => {
      const { store } = await open()
      const first = right(await store.put(acme, [deny('a')], 0)())
      expect(left(await store.put(acme, [], 0)())).toEqual({ _tag: 'PolicyRevisionConflict', tenant: 'acme', expected: 0 })
      expect(left(await store.put(globex, [], 7)())._tag).toBe('PolicyRevisionConflict')
      const second = right(await store.put(acme, [], first.revision)())
      expect(left(await store.put(acme, [deny('x')], first.revision)())._tag).toBe('PolicyRevisionConflict')
      expect(right(await store.get(acme)())).toEqual(second)
      const race = await Promise.all([store.put(acme, [deny('r1')], second.revision)(), store.put(acme, [deny('r2')], second.revision)()])
      expect(race.filter(E.isRight)).toHaveLength(1)
      expect(right(await store.get(acme)())).toEqual(race.find(E.isRight)?.right)
    })

    it('a corrupt value is CorruptPolicySet with its revision, never a throw; a put at that revision repairs it', async () => {
      const { store, putRaw } = await open()
      const enc = (s: string) => new TextEncoder().encode(s)
      const cases: Array<readonly [string, Uint8Array]> = [
        ['bad-json', enc('{"rules": [')],
        ['not-utf8', new Uint8Array([0xff, 0xfe])],
        ['bad-rule', enc(JSON.stringify({ rules: [{ id: 'x', effect: 'block', match: {} }] }))],
        ['dup-ids', enc(JSON.stringify({ rules: [deny('x'), deny('x')] }))],
      ]
      for (const [key, bytes] of cases) {
        await putRaw(key, bytes)
        const e = left(await store.get(key as TenantId)()) as unknown as { _tag: string; tenant: string; message: string; revision: number }
        expect(e).toMatchObject({ _tag: 'CorruptPolicySet', tenant: key })
        expect(e.message).not.toBe('')
        expect(E.isLeft(await listPolicies(store)(key as TenantId))).toBe(true)
        const repaired = right(await store.put(key as TenantId, [], e.revision)())
        expect(right(await store.get(key as TenantId)())).toEqual(repaired)
      }
    })

    it('createPolicy, listPolicies, deletePolicy: validated, idempotent create, ordered list, NOT_FOUND delete', async () => {
      const { store } = await open()
      const rule = { id: 'no-deletes', effect: 'deny', match: { eventType: '*.deleted' } }
      expect(right(await createPolicy(store)(acme, rule))).toEqual(rule)
      expect(right(await createPolicy(store)(acme, rule))).toEqual(rule)
      expect(left(await createPolicy(store)(acme, { ...rule, effect: 'warn' }))._tag).toBe('BadRequest')
      expect(left(await createPolicy(store)(acme, { id: 'x', effect: 'deny', match: { eventtype: '*' } }))._tag).toBe('BadRequest')
      right(await createPolicy(store)(acme, { id: 'exception', effect: 'allow', priority: 5, match: { role: 'admin' } }))
      const listed = right(await listPolicies(store)(acme))
      expect(listed.rules.map((r) => r.id)).toEqual(['exception', 'no-deletes'])
      expect(right(await deletePolicy(store)(acme, { id: 'exception' }))).toEqual({ id: 'exception' })
      expect(left(await deletePolicy(store)(acme, { id: 'exception' }))._tag).toBe('NotFound')
      expect(left(await deletePolicy(store)(acme, { id: 'a b' }))._tag).toBe('InvalidId')
      expect(right(await listPolicies(store)(acme)).rules.map((r) => r.id)).toEqual(['no-deletes'])
      expect(right(await listPolicies(store)(globex))).toEqual({ rules: [], revision: 0 })
    })

    it('concurrent creates are each applied once, and the 101st rule is refused', async () => {
      const { store } = await open()
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => createPolicy(store)(acme, deny(`r${i}`))))
      expect(results.filter(E.isLeft)).toEqual([])
      expect(right(await listPolicies(store)(acme)).rules).toHaveLength(12)
      const { rules, revision } = right(await store.get(acme)())
      right(await store.put(acme, [...rules, ...Array.from({ length: 88 }, (_, i) => deny(`s${i}`))], revision)())
      const refused = left(await createPolicy(store)(acme, deny('one-too-many')))
      expect(refused).toMatchObject({ _tag: 'BadRequest', details: { limit: 100 } })
    })

    it('the cache starts with every stored set and follows writes (watch), with no restart', async () => {
      const { store } = await open()
      right(await store.put(acme, [deny('no-deletes')], 0)())
      const { proxy, until } = observed(store)
      const cache = right(await startPolicyCache(proxy)())
      try {
        const decide = (type: string, tenant: TenantId = acme) =>
          evaluate(right(cache.policiesOf(tenant)), { tenant, stream: 'order-1' as StreamId, role: 'service', events: [{ type, payloadBytes: 10 }] }).decision
        expect(decide('order.deleted')).toBe('deny')
        expect(decide('order.deleted', globex)).toBe('allow')
        const created = until(globex, 1)
        right(await createPolicy(store)(globex, deny('g', 'order.*')))
        await created
        expect(decide('order.created', globex)).toBe('deny')
        const rev = right(await store.get(acme)()).revision
        const deleted = until(acme, rev + 1)
        right(await deletePolicy(store)(acme, { id: 'no-deletes' }))
        await deleted
        expect(decide('order.deleted')).toBe('allow')
        expect(cache.revisionOf(acme)).toBe(right(await store.get(acme)()).revision)
      } finally {
        cache.stop()
      }
    })

    it('the cache fails closed for a tenant whose stored set is corrupt, and recovers when it is repaired', async () => {
      const { store, putRaw } = await open()
      const { proxy, until } = observed(store)
      const cache = right(await startPolicyCache(proxy)())
      try {
        const broken = until(acme, 1)
        await putRaw('acme', new TextEncoder().encode('nope'))
        await broken
        expect(left(cache.policiesOf(acme))._tag).toBe('Unavailable')
        expect(E.isRight(cache.policiesOf(globex))).toBe(true)
        const e = left(await store.get(acme)()) as unknown as { revision: number }
        const fixed = until(acme, e.revision + 1)
        right(await store.put(acme, [], e.revision)())
        await fixed
        expect(right(cache.policiesOf(acme)).rules).toEqual([])
      } finally {
        cache.stop()
      }
    })
  })
}
