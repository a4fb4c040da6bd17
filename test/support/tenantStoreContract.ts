import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { changeTenant } from '../../src/application/tenants/changeTenant.js'
import type { StoredTenant, TenantStore, TenantStoreError } from '../../src/application/tenants/ports.js'
import type { TenantId } from '../../src/domain/streams/ids.js'
import { type IsoTimestamp, type Limit, type Tenant, activate, changeQuotas, newTenant, softDelete, suspend } from '../../src/domain/tenants/tenant.js'

/** A fresh, empty store, and a way to write raw bytes under a key behind its back. */
export interface OpenedTenantStore {
  readonly store: TenantStore
  putRaw(key: string, bytes: Uint8Array): Promise<void>
}

const at = '2026-12-04T13:00:00.000Z' as IsoTimestamp
const id = (s: string) => s as TenantId
const tenant = (s: string, opts: Parameters<typeof newTenant>[2] = {}): Tenant => newTenant(id(s), at, opts)

const right = <A>(r: E.Either<unknown, A>): A => {
  if (E.isLeft(r)) throw new Error(`expected a value, got ${JSON.stringify(r.left)}`)
  return r.right
}
const left = <A>(r: E.Either<TenantStoreError | { _tag: string }, A>): { _tag: string } => {
  if (E.isRight(r)) throw new Error(`expected an error, got ${JSON.stringify(r.right)}`)
  return r.left
}

const ids = (stored: readonly StoredTenant[]) => stored.map((s) => s.record.tenant as string)

/** Every page of a listing, following `next`. */
const listAll = async (store: TenantStore, limit: number, includeDeleted = false): Promise<string[][]> => {
  const pages: string[][] = []
  let after: TenantId | undefined
  for (;;) {
    const page = right(await store.list({ limit, includeDeleted, ...(after !== undefined ? { after } : {}) })())
    pages.push(ids(page.tenants))
    if (page.next === undefined) return pages
    expect(page.tenants.length).toBe(limit)
    after = page.next
  }
}

const plusOneProjection = (rec: Tenant) => changeQuotas(rec, { quotas: { projections: ((rec.quotas.projections ?? 0) + 1) as Limit } })

/**
 * The contract every {@link TenantStore} keeps, and `changeTenant` over it. `open` gives a fresh,
 * empty store (its own bucket); the tests use only the port, plus `putRaw` for corrupt records.
 */
export const tenantStoreContract = (name: string, open: () => Promise<OpenedTenantStore>): void => {
  describe(`TenantStore contract: ${name}`, () => {
    it('an id never created is undefined; a created record is answered as written, with its revision', async () => {
      const { store } = await open()
      expect(right(await store.get(id('acme'))())).toBeUndefined()
      const rec = tenant('acme', { tier: 'pro', quotas: { projections: 200 as Limit } })
      const created = right(await store.create(rec)())
      expect(created.revision).toBeGreaterThan(0)
      expect(created.record).toEqual(rec)
      expect(right(await store.get(id('acme'))())).toEqual(created)
    })

    it('create of an existing id is TenantExists and changes nothing, even for a deleted tenant', async () => {
      const { store } = await open()
      const first = right(await store.create(tenant('acme'))())
      expect(left(await store.create(tenant('acme', { tier: 'unlimited' }))())).toEqual({ _tag: 'TenantExists', tenant: 'acme' })
      expect(right(await store.get(id('acme'))())).toEqual(first)
      const deleted = right(await changeTenant(store, id('acme'), softDelete)())
      expect(left(await store.create(tenant('acme'))())._tag).toBe('TenantExists')
      expect(right(await store.get(id('acme'))())).toEqual(deleted)
    })

    it('update is compare-and-set: the current revision wins, a stale or unknown one is RevisionConflict and changes nothing', async () => {
      const { store } = await open()
      const first = right(await store.create(tenant('acme'))())
      const suspended = right(await store.update(right(suspend(first.record)), first.revision)())
      expect(suspended.revision).toBeGreaterThan(first.revision)
      expect(suspended.record.status).toBe('suspended')
      expect(left(await store.update(first.record, first.revision)())).toEqual({ _tag: 'RevisionConflict', tenant: 'acme', expected: first.revision })
      expect(left(await store.update(first.record, 0)())._tag).toBe('RevisionConflict')
      expect(left(await store.update(tenant('nobody'), 1)())._tag).toBe('RevisionConflict')
      expect(right(await store.get(id('acme'))())).toEqual(suspended)
      expect(right(await store.get(id('nobody'))())).toBeUndefined()
      // Of two writers racing from one revision, exactly one wins.
      const race = await Promise.all([
        store.update(right(activate(suspended.record)), suspended.revision)(),
        store.update(right(softDelete(suspended.record)), suspended.revision)(),
      ])
      expect(race.filter(E.isRight)).toHaveLength(1)
      const winner = race.find(E.isRight)
      expect(right(await store.get(id('acme'))())).toEqual(winner?.right)
    })

    it('lists in id order, page by page, with no repeat or gap; deleted tenants only when asked', async () => {
      const { store } = await open()
      expect(right(await store.list({ limit: 5 })())).toEqual({ tenants: [], corrupt: [] })
      const names = Array.from({ length: 23 }, (_, i) => `t-${String(i).padStart(2, '0')}`)
      const shuffled = [...names].sort((a, b) => (a.split('').reverse().join('') < b.split('').reverse().join('') ? -1 : 1))
      for (const n of shuffled) right(await store.create(tenant(n))())
      right(await store.create(tenant('A-upper'))())
      const deleted = new Set(['t-00', 't-07', 't-08', 't-22'])
      for (const n of deleted) right(await changeTenant(store, id(n), softDelete)())
      const all = ['A-upper', ...names]
      const live = all.filter((n) => !deleted.has(n))
      for (const limit of [1, 4, 5, 100]) {
        const pages = await listAll(store, limit)
        expect(pages.flat()).toEqual(live)
        expect((await listAll(store, limit, true)).flat()).toEqual(all)
      }
      // A page that ends exactly at the last record says so, with no next.
      const last = right(await store.list({ after: id('t-20'), limit: 1 })())
      expect(ids(last.tenants)).toEqual(['t-21'])
      expect(last.next).toBeUndefined()
    })

    it('a corrupt record is a typed error from get and changeTenant, and is reported, not fatal, in a listing', async () => {
      const { store, putRaw } = await open()
      right(await store.create(tenant('a-good'))())
      right(await store.create(tenant('z-good'))())
      const enc = (s: string) => new TextEncoder().encode(s)
      await putRaw('b-not-json', enc('{"tenant": "b-not-json", '))
      await putRaw('c-not-utf8', new Uint8Array([0xff, 0xfe, 0x7b]))
      await putRaw('d-bad-quota', enc(JSON.stringify({ ...tenant('d-bad-quota'), quotas: { ...tenant('x').quotas, streams: -1 } })))
      await putRaw('e-unknown-quota', enc(JSON.stringify({ ...tenant('e-unknown-quota'), quotas: { ...tenant('x').quotas, eventPerDay: 1 } })))
      await putRaw('f-other-id', enc(JSON.stringify(tenant('someone-else'))))
      const bad = ['b-not-json', 'c-not-utf8', 'd-bad-quota', 'e-unknown-quota', 'f-other-id']
      for (const k of bad) {
        const e = left(await store.get(id(k))())
        expect(e).toMatchObject({ _tag: 'CorruptTenantRecord', tenant: k })
        expect((e as unknown as { message: string }).message).not.toBe('')
        expect(left(await changeTenant(store, id(k), suspend)())._tag).toBe('CorruptTenantRecord')
      }
      const page = right(await store.list({ limit: 10 })())
      expect(ids(page.tenants)).toEqual(['a-good', 'z-good'])
      expect(page.corrupt.map((c) => c.tenant)).toEqual(bad)
      expect((await listAll(store, 1)).flat()).toEqual(['a-good', 'z-good'])
      // The error's revision lets an update repair the record.
      const broken = left(await store.get(id('d-bad-quota'))()) as unknown as { revision: number }
      const repaired = right(await store.update(tenant('d-bad-quota'), broken.revision)())
      expect(right(await store.get(id('d-bad-quota'))())).toEqual(repaired)
    })

    it('changeTenant applies a transition with compare-and-set; unknown, refused and already-applied changes write nothing', async () => {
      const { store } = await open()
      expect(left(await changeTenant(store, id('nobody'), suspend)())).toEqual({ _tag: 'TenantNotFound', tenant: 'nobody' })
      expect(right(await store.get(id('nobody'))())).toBeUndefined()
      const created = right(await store.create(tenant('acme'))())
      const suspended = right(await changeTenant(store, id('acme'), suspend)())
      expect(suspended.record.status).toBe('suspended')
      expect(right(await changeTenant(store, id('acme'), suspend)())).toEqual(suspended)
      const pro = right(await changeTenant(store, id('acme'), (r) => changeQuotas(r, { tier: 'pro' }))())
      expect(pro.record).toMatchObject({ status: 'suspended', tier: 'pro' })
      expect(pro.revision).toBeGreaterThan(suspended.revision)
      const deleted = right(await changeTenant(store, id('acme'), softDelete)())
      expect(left(await changeTenant(store, id('acme'), activate)())).toMatchObject({ _tag: 'IllegalTransition', target: 'acme', status: 'deleted' })
      expect(right(await store.get(id('acme'))())).toEqual(deleted)
      expect(created.record.createdAt).toBe(deleted.record.createdAt)
    })

    it('many concurrent transitions on one tenant are each applied exactly once (CAS retry)', async () => {
      const { store } = await open()
      const n = 24
      right(await store.create(tenant('busy', { quotas: { projections: 0 as Limit } }))())
      let conflicts = 0
      const counting: TenantStore = {
        ...store,
        update: (record, expected) => async () => {
          const r = await store.update(record, expected)()
          if (E.isLeft(r) && r.left._tag === 'RevisionConflict') conflicts++
          return r
        },
      }
      const results = await Promise.all(Array.from({ length: n }, () => changeTenant(counting, id('busy'), plusOneProjection, { maxAttempts: n })()))
      // All load before any writes (one connection, in order), so the retry path is what is tested.
      expect(conflicts).toBeGreaterThan(0)
      const revisions = results.map((r) => right(r).revision)
      expect(new Set(revisions).size).toBe(n)
      const final = right(await store.get(id('busy'))())
      expect(final?.record.quotas.projections).toBe(n)
      expect(final?.revision).toBe(Math.max(...revisions))
    })
  })
}
