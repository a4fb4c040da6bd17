import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { queryAudit } from '../../src/application/audit/queryAudit.js'
import type { AuditLog, AuditPage, AuditWriterOptions, DropReason } from '../../src/application/audit/ports.js'
import type { AuditAction, AuditDraft, AuditEntry } from '../../src/domain/security/audit.js'
import { type AuditQuery, type AuditScope, parseActionFilter } from '../../src/domain/security/auditQuery.js'
import type { Identity } from '../../src/domain/security/roles.js'
import type { TenantId } from '../../src/domain/streams/ids.js'

/** A fresh, empty log, and ways to break it, repair it and look behind it. */
export interface OpenedAuditLog {
  readonly log: AuditLog
  /** Makes the store refuse writes and queries until `restore` (JetStream: deletes the stream). */
  outage(): Promise<void>
  restore(): Promise<void>
  /** Stores a raw value behind the log's back; `tenant` picks the subject where the store has subjects. */
  putRaw(json: string, tenant?: string, action?: string): Promise<void>
  /** Every value the store holds, as text, in store order. */
  rawStored(): Promise<string[]>
}

export type OpenAuditLog = (options?: Partial<AuditWriterOptions>) => Promise<OpenedAuditLog>

const right = <A>(r: E.Either<unknown, A>): A => {
  if (E.isLeft(r)) throw new Error(`expected a value, got ${JSON.stringify(r.left)}`)
  return r.right
}

const all: AuditScope = { _tag: 'All' }
const tenantScope = (t: string): AuditScope => ({ _tag: 'Tenant', tenant: t as TenantId })
const q = (over: Partial<AuditQuery> = {}): AuditQuery => ({ limit: 1000, ...over })
const action = (s: string) => right(parseActionFilter(s))

// Entries are dated a little before now: the JetStream log reads by store time, give or take its slack.
const base = Date.now() - 120_000
const at = (i: number) => new Date(base + i * 1_000)

let n = 0
const draft = (over: Partial<AuditDraft> & { i?: number } = {}): AuditDraft => {
  const i = over.i ?? 0
  const { i: _ignored, ...rest } = over
  return { id: `e-${++n}`, at: at(i), who: { kind: 'key', id: 'AbC123xyZ789', tenant: 'acme', role: 'admin' }, tenant: 'acme', action: 'key.create', outcome: 'succeeded', ...rest }
}

const ids = (p: AuditPage) => p.entries.map((e) => e.id as string)

const recordAll = async (log: AuditLog, drafts: readonly AuditDraft[]): Promise<string[]> => {
  const out = drafts.map((d) => {
    const r = log.record(d)
    if (!r.accepted) throw new Error(`not accepted: ${r.reason}`)
    return r.id as string
  })
  expect(await log.flush()).toBe(true)
  return out
}

const pageAll = async (log: AuditLog, scope: AuditScope, filter: AuditQuery): Promise<string[][]> => {
  const pages: string[][] = []
  let after: number | undefined
  for (;;) {
    const page = right(await log.query(scope, { ...filter, ...(after !== undefined ? { after } : {}) })())
    pages.push(ids(page))
    if (page.next === undefined) return pages
    expect(page.entries).toHaveLength(filter.limit)
    after = page.next
  }
}

const API_KEY = 'as_AbC123xyZ789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ_0a1B2c'
const REFRESH = 'asr_Zq8WbX3mN5pL2kJ7hG4fD1sA9oI6uY0t'
const JWT = 'eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJzdWIiOiJhY21lIn0.c2lnbmF0dXJlc2lnbmF0dXJl'

/**
 * The contract every {@link AuditLog} keeps, and `queryAudit` over it. `open` gives a fresh, empty
 * log; the tests use the port, plus the hooks of {@link OpenedAuditLog}.
 */
export const auditLogContract = (name: string, open: OpenAuditLog): void => {
  describe(`AuditLog contract: ${name}`, () => {
    it('stores what record accepted, in order, as the redacted entry', async () => {
      const { log } = await open()
      const drafts = [draft({ i: 1 }), draft({ i: 2, action: 'key.revoke', target: 'key:XyZ987abC321' }), draft({ i: 3, tenant: undefined, who: { kind: 'operator' }, action: 'tenant.create' })]
      const recorded = await recordAll(log, drafts)
      expect(recorded).toEqual(drafts.map((d) => d.id))
      const page = right(await log.query(all, q())())
      expect(ids(page)).toEqual(recorded)
      expect(page.next).toBeUndefined()
      expect(page.entries[1]).toEqual({
        id: drafts[1]?.id,
        at: at(2).toISOString(),
        who: { kind: 'key', id: 'AbC123xyZ789', tenant: 'acme', role: 'admin' },
        tenant: 'acme',
        action: 'key.revoke',
        target: 'key:XyZ987abC321',
        outcome: 'succeeded',
      })
      expect(log.stats()).toMatchObject({ pending: 0, written: 3, dropped: 0 })
    })

    it('filters by scope: a tenant sees its own entries only, the platform scope those with no tenant, all sees everything', async () => {
      const { log } = await open()
      const a = await recordAll(log, [draft({ i: 1 }), draft({ i: 3 })])
      const g = await recordAll(log, [draft({ i: 2, tenant: 'globex' })])
      const p = await recordAll(log, [draft({ i: 4, tenant: undefined, who: { kind: 'operator' }, action: 'tenant.create' })])
      // A tenant whose id looks like the platform token is still just a tenant.
      const x = await recordAll(log, [draft({ i: 5, tenant: '_platform' })])
      expect(ids(right(await log.query(tenantScope('acme'), q())()))).toEqual(a)
      expect(ids(right(await log.query(tenantScope('globex'), q())()))).toEqual(g)
      expect(ids(right(await log.query({ _tag: 'Platform' }, q())()))).toEqual(p)
      expect(ids(right(await log.query(tenantScope('_platform'), q())()))).toEqual(x)
      expect(ids(right(await log.query(all, q())())).sort()).toEqual([...a, ...g, ...p, ...x].sort())
      expect(ids(right(await log.query(tenantScope('nobody'), q())()))).toEqual([])
    })

    it('filters by user (who.id) and by action, exactly or by prefix', async () => {
      const { log } = await open()
      const acts: AuditAction[] = ['auth.login', 'auth.login.failed', 'auth.connect', 'key.create', 'key.revoke', 'auth.login', 'user.create']
      const recorded = await recordAll(
        log,
        acts.map((a, i) => draft({ i, action: a, who: { kind: 'user', id: i % 2 === 0 ? 'alice' : 'bob', tenant: 'acme', role: 'admin' } })),
      )
      const pick = (pred: (i: number) => boolean) => recorded.filter((_, i) => pred(i))
      const got = async (filter: Partial<AuditQuery>, scope = tenantScope('acme')) => ids(right(await log.query(scope, q(filter))()))
      expect(await got({ action: action('auth.login') })).toEqual(pick((i) => acts[i] === 'auth.login'))
      expect(await got({ action: action('auth.login.>') })).toEqual(pick((i) => acts[i] === 'auth.login.failed'))
      expect(await got({ action: action('auth.>') })).toEqual(pick((i) => (acts[i] as string).startsWith('auth.')))
      expect(await got({ action: action('key.>') }, all)).toEqual(pick((i) => (acts[i] as string).startsWith('key.')))
      expect(await got({ action: action('auth.login') }, all)).toEqual(pick((i) => acts[i] === 'auth.login'))
      expect(await got({ user: 'alice' })).toEqual(pick((i) => i % 2 === 0))
      expect(await got({ user: 'bob', action: action('auth.>') })).toEqual(pick((i) => i % 2 === 1 && (acts[i] as string).startsWith('auth.')))
      expect(await got({ user: 'carol' })).toEqual([])
    })

    it('filters by time, both bounds inclusive on at', async () => {
      const { log } = await open()
      const recorded = await recordAll(log, Array.from({ length: 30 }, (_, i) => draft({ i })))
      const got = async (filter: Partial<AuditQuery>) => ids(right(await log.query(tenantScope('acme'), q(filter))()))
      expect(await got({ since: at(10), until: at(20) })).toEqual(recorded.slice(10, 21))
      expect(await got({ since: at(25) })).toEqual(recorded.slice(25))
      expect(await got({ until: at(4) })).toEqual(recorded.slice(0, 5))
      expect(await got({ since: new Date(at(7).getTime() + 1), until: new Date(at(8).getTime() - 1) })).toEqual([])
      // Paging inside a time range.
      expect((await pageAll(log, tenantScope('acme'), q({ since: at(3), until: at(17), limit: 4 }))).flat()).toEqual(recorded.slice(3, 18))
    })

    it('pages without gaps or repeats, and says next exactly when more entries match', async () => {
      const { log } = await open()
      const recorded = await recordAll(log, Array.from({ length: 23 }, (_, i) => draft({ i, tenant: i % 3 === 0 ? 'globex' : 'acme' })))
      const acme = recorded.filter((_, i) => i % 3 !== 0)
      for (const limit of [1, 4, 5, acme.length, 100]) {
        const pages = await pageAll(log, tenantScope('acme'), q({ limit }))
        expect(pages.flat()).toEqual(acme)
        expect(pages.length).toBe(Math.max(1, Math.ceil(acme.length / limit)))
      }
      expect((await pageAll(log, all, q({ limit: 7 }))).flat()).toEqual(recorded)
      // after past the end: an empty page, no next.
      expect(right(await log.query(all, q({ after: 10_000 }))())).toEqual({ entries: [] })
    })

    it('confines a tenant admin to its tenant; the operator reads any tenant or all', async () => {
      const { log } = await open()
      const a = await recordAll(log, [draft({ i: 1 }), draft({ i: 2, action: 'user.create' })])
      const g = await recordAll(log, [draft({ i: 3, tenant: 'globex' })])
      const p = await recordAll(log, [draft({ i: 4, tenant: undefined, who: { kind: 'operator' }, action: 'tenant.create' })])
      const run = queryAudit(log)
      const acmeAdmin: Identity = { tenant: 'acme' as TenantId, role: 'admin' }
      const operator: Identity = { role: 'operator' }
      expect(ids(right(await run(acmeAdmin, {}, 'acme' as TenantId)()))).toEqual(a)
      expect(ids(right(await run(acmeAdmin, {})()))).toEqual(a)
      expect(ids(right(await run(acmeAdmin, { tenant: 'acme' })()))).toEqual(a)
      for (const denied of [await run(acmeAdmin, {}, 'globex' as TenantId)(), await run(acmeAdmin, { tenant: 'globex' })()]) {
        expect(E.isLeft(denied) && denied.left).toMatchObject({ _tag: 'Forbidden', reason: 'tenant' })
      }
      const reader = await run({ tenant: 'acme' as TenantId, role: 'reader' }, {}, 'acme' as TenantId)()
      expect(E.isLeft(reader) && reader.left).toMatchObject({ _tag: 'Forbidden', reason: 'role' })
      const mismatch = await run(acmeAdmin, { tenant: 'globex' }, 'acme' as TenantId)()
      expect(E.isLeft(mismatch) && mismatch.left._tag).toBe('BadRequest')
      expect(ids(right(await run(operator, {}, 'globex' as TenantId)()))).toEqual(g)
      expect(ids(right(await run(operator, {})())).sort()).toEqual([...a, ...g, ...p].sort())
      // With `who`, the query is itself recorded, in the tenant it was about.
      expect(E.isRight(await run(acmeAdmin, {}, 'acme' as TenantId, { kind: 'key', id: 'AbC123xyZ789', tenant: 'acme', role: 'admin' })())).toBe(true)
      expect(E.isLeft(await run(acmeAdmin, {}, 'globex' as TenantId, { kind: 'key', id: 'AbC123xyZ789', tenant: 'acme', role: 'admin' })())).toBe(true)
      expect(await log.flush()).toBe(true)
      const trail = right(await log.query(all, q({ action: action('audit.query') }))()).entries
      expect(trail.map((e) => [e.tenant, e.outcome, e.reason])).toEqual([
        ['acme', 'succeeded', undefined],
        ['globex', 'denied', 'Forbidden'],
      ])
    })

    it('skips and counts a stored value that is not an entry, or sits under another tenant, and never answers it', async () => {
      const { log, putRaw } = await open()
      const good = await recordAll(log, [draft({ i: 1 })])
      await putRaw('{"not": "an entry"', 'acme', 'key.create')
      const forged: AuditEntry = { id: 'forged-1', at: at(2).toISOString(), who: { kind: 'system' }, tenant: 'globex', action: 'key.create', outcome: 'succeeded' } as AuditEntry
      await putRaw(JSON.stringify(forged), 'acme', 'key.create')
      const later = await recordAll(log, [draft({ i: 3 })])
      const page = right(await log.query(tenantScope('acme'), q())())
      expect(ids(page)).toEqual([...good, ...later])
      expect(page.skipped ?? 0).toBeGreaterThanOrEqual(1)
      expect(ids(right(await log.query(tenantScope('globex'), q())()))).not.toContain('forged-1')
    })

    it('never stores a secret, wherever the caller put it', async () => {
      const { log, rawStored } = await open()
      await recordAll(log, [
        draft({
          i: 1,
          who: { kind: 'key', id: API_KEY, tenant: 'acme', role: 'admin' },
          requestId: `req ${JWT}`,
          target: `key:${API_KEY}`,
          reason: `refresh ${REFRESH} was reused`,
          details: { key: API_KEY, refreshToken: REFRESH, password: 'hunter2-hunter2', note: `Bearer ${JWT}`, list: ['ok', API_KEY], keyId: 'AbC123xyZ789' },
        }),
        draft({ i: 2, tenant: REFRESH, action: 'auth.connect.refused', outcome: 'denied' }),
      ])
      const raw = (await rawStored()).join('\n')
      const answered = JSON.stringify(right(await log.query(all, q())()))
      for (const text of [raw, answered]) {
        for (const s of [API_KEY, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJ', REFRESH, 'Zq8WbX3mN5pL2kJ7hG4f', JWT, 'eyJzdWIiOiJhY21lIn0', 'hunter2']) expect(text).not.toContain(s)
        expect(text).toContain('AbC123xyZ789')
      }
    })

    it('retries writes while the store is down, and stores each accepted entry once it is back', async () => {
      const { log, outage, restore } = await open({ retryMinMs: 10, retryMaxMs: 100 })
      await outage()
      const accepted = [draft({ i: 1 }), draft({ i: 2 }), draft({ i: 3, tenant: 'globex' })].map((d) => log.record(d))
      expect(accepted.every((r) => r.accepted)).toBe(true)
      await expect.poll(() => log.stats().failedAttempts, { timeout: 30_000 }).toBeGreaterThan(0)
      expect(log.stats().pending).toBe(3)
      const during = await log.query(all, q())()
      expect(E.isLeft(during) && during.left._tag).toBe('AuditLogUnavailable')
      await restore()
      expect(await log.flush()).toBe(true)
      const page = right(await log.query(all, q())())
      expect(page.entries.map((e) => e.id).sort()).toEqual(accepted.map((r) => (r.accepted ? r.id : '')).sort())
      expect(log.stats()).toMatchObject({ pending: 0, written: 3, dropped: 0 })
    })

    it('bounds the buffer: past capacity an entry is refused and reported, never silently lost; close gives up the rest, reported', async () => {
      const dropped: [string | undefined, DropReason][] = []
      const { log, outage } = await open({ capacity: 2, retryMinMs: 10, retryMaxMs: 100, onDropped: (e, reason) => dropped.push([e?.id, reason]) })
      await outage()
      expect(log.record(draft({ id: 'b-1' })).accepted).toBe(true)
      expect(log.record(draft({ id: 'b-2' })).accepted).toBe(true)
      expect(log.record(draft({ id: 'b-3' }))).toEqual({ accepted: false, reason: 'full' })
      expect(log.record({ ...draft({ id: 'b-4' }), action: 'no.such' as never })).toEqual({ accepted: false, reason: 'invalid' })
      expect(dropped).toEqual([
        ['b-3', 'full'],
        [undefined, 'invalid'],
      ])
      expect(await log.flush(50)).toBe(false)
      await log.close(50)
      expect(log.record(draft({ id: 'b-5' }))).toEqual({ accepted: false, reason: 'closed' })
      expect(dropped.slice(2).sort()).toEqual([
        ['b-1', 'closed'],
        ['b-2', 'closed'],
        ['b-5', 'closed'],
      ])
      expect(log.stats()).toMatchObject({ pending: 0, dropped: 5 })
    })
  })
}
