import { connect, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { subjects } from '../../../src/adapters/nats/subjects.js'
import { verifyKey } from '../../../src/application/auth/apiKeys.js'
import { tierQuotas } from '../../../src/domain/tenants/tenant.js'
import { type AdminFixture, startAdminFixture } from '../../support/adminFixture.js'
import { withNatsServer } from '../../support/natsServer.js'

const s = subjects()
const T = (command: string) => s.adminTenants(command)
const K = (tenant: string, command: string) => s.adminKeys(tenant, command)

describe('admin endpoints on NATS', () => {
  const server = withNatsServer()
  let nc: NatsConnection
  let fx: AdminFixture

  beforeAll(async () => {
    nc = await connect({ servers: server().url })
    fx = await startAdminFixture(nc)
  })
  afterAll(async () => {
    await fx?.stop()
    await nc?.close()
  })

  it('the key lifecycle: create tenant, create key, list (no key, no hash), verify, revoke, verify refused', async () => {
    const created = await fx.call(T('create'), { tenant: 'acme', name: 'Acme Inc.', tier: 'pro' })
    expect(created.status).toBeUndefined()
    expect(created.body).toEqual({ tenant: 'acme', name: 'Acme Inc.', status: 'active', tier: 'pro', quotas: tierQuotas.pro, createdAt: '2026-12-04T13:00:00.000Z' })

    const made = await fx.call(K('acme', 'create'), { role: 'developer', name: 'ci' }, 'msgpack')
    expect(made.status).toBeUndefined()
    const { keyId, key } = made.body as { keyId: string; key: string }
    expect(Object.keys(made.body as object).sort()).toEqual(['key', 'keyId'])
    expect(key).toMatch(/^as_[0-9A-Za-z]{12}_[0-9A-Za-z]{43}_[0-9A-Za-z]{6}$/)
    expect(key.slice(3, 15)).toBe(keyId)

    const listed = await fx.call(K('acme', 'list'), {})
    expect(listed.body).toEqual({ keys: [{ keyId, tenant: 'acme', role: 'developer', name: 'ci', createdAt: '2026-12-04T13:00:00.000Z' }] })
    const stored = await fx.keys.get(keyId as never)
    const raw = new TextDecoder().decode(listed.raw)
    expect(raw).not.toContain(key.slice(16, 59))
    expect(raw).not.toContain(stored?.hash)
    expect(raw).not.toContain('hash')

    const verified = await verifyKey(fx.keyDeps)(key, new Date('2026-12-04T13:05:00.000Z'))
    expect(verified).toEqual(E.right({ tenant: 'acme', role: 'developer', keyId }))
    // An empty body lists too; lastUsedAt is now recorded.
    expect(((await fx.call(K('acme', 'list'), new Uint8Array(0), 'raw')).body as { keys: { lastUsedAt?: string }[] }).keys[0]?.lastUsedAt).toBe('2026-12-04T13:05:00.000Z')

    fx.clock.set('2026-12-04T14:00:00.000Z')
    const revoked = await fx.call(K('acme', 'revoke'), { keyId })
    expect(revoked.body).toEqual({ keyId, revokedAt: '2026-12-04T14:00:00.000Z' })
    fx.clock.set('2026-12-04T15:00:00.000Z')
    expect((await fx.call(K('acme', 'revoke'), { keyId })).body).toEqual({ keyId, revokedAt: '2026-12-04T14:00:00.000Z' })
    expect(E.isLeft(await verifyKey(fx.keyDeps)(key, new Date('2026-12-04T15:00:00.000Z')))).toBe(true)
    fx.clock.set('2026-12-04T13:00:00.000Z')

    // The key never appears in any later reply, error or list.
    const others = [
      await fx.call(K('acme', 'list'), {}),
      await fx.call(K('acme', 'revoke'), { keyId: 'AAAAAAAAAAAA' }),
      await fx.call(K('acme', 'create'), { role: 'operator' }),
      await fx.call(K('acme', 'create'), { role: 'reader', key }),
      await fx.call(K('acme', 'revoke'), { keyId: key }),
      await fx.call(K('acme', 'create'), { role: key }),
      await fx.call(K('acme', 'create'), { role: 'reader', name: key.repeat(4) }),
    ]
    for (const r of others) {
      const text = new TextDecoder().decode(r.raw)
      expect(text).not.toContain(key.slice(16, 59))
      expect(text).not.toContain(stored?.hash)
    }
    expect(others.slice(1).map((r) => (r.body as { error: { code: string } }).error.code)).toEqual(['NOT_FOUND', 'BAD_REQUEST', 'BAD_REQUEST', 'INVALID_ID', 'BAD_REQUEST', 'BAD_REQUEST'])
    expect(others.slice(1).map((r) => r.status)).toEqual(['404', '400', '400', '400', '400', '400'])
  })

  it('keys need an existing, admitted tenant; a keyId of another tenant is NOT_FOUND', async () => {
    const code = (r: { body: unknown }) => (r.body as { error?: { code: string } }).error?.code
    expect(code(await fx.call(K('nobody', 'create'), { role: 'reader' }))).toBe('TENANT_NOT_FOUND')
    expect(code(await fx.call(K('nobody', 'list'), {}))).toBe('TENANT_NOT_FOUND')
    await fx.call(T('create'), { tenant: 'sus' })
    await fx.call(T('create'), { tenant: 'gone' })
    await fx.call(T('create'), { tenant: 'other' })
    const other = (await fx.call(K('other', 'create'), { role: 'reader' })).body as { keyId: string }
    const sus = (await fx.call(K('sus', 'create'), { role: 'admin', expiresAt: '2027-01-01T00:00:00.000Z' })).body as { keyId: string }
    await fx.call(T('suspend'), { tenant: 'sus' })
    await fx.call(T('delete'), { tenant: 'gone' })
    const r = await fx.call(K('sus', 'create'), { role: 'reader' })
    expect(r.status).toBe('403')
    expect(code(r)).toBe('TENANT_SUSPENDED')
    // A suspended tenant's keys can still be reviewed and revoked.
    expect(((await fx.call(K('sus', 'list'), {})).body as { keys: unknown[] }).keys).toHaveLength(1)
    expect((await fx.call(K('sus', 'revoke'), { keyId: sus.keyId })).body).toMatchObject({ keyId: sus.keyId })
    expect(code(await fx.call(K('gone', 'create'), { role: 'reader' }))).toBe('TENANT_NOT_FOUND')
    expect(code(await fx.call(K('gone', 'list'), {}))).toBe('TENANT_NOT_FOUND')
    expect(code(await fx.call(K('sus', 'revoke'), { keyId: other.keyId }))).toBe('NOT_FOUND')
    expect((await fx.keys.get(other.keyId as never))?.revokedAt).toBeUndefined()
    expect(code(await fx.call(K('other', 'create'), { role: 'reader', expiresAt: '2020-01-01T00:00:00.000Z' }))).toBe('BAD_REQUEST')
  })

  it('every tenant command, and the lifecycle table', async () => {
    const body = (r: { body: unknown }) => r.body as Record<string, unknown> & { error?: { code: string; message: string } }
    expect(body(await fx.call(T('create'), { tenant: 'life', quotas: { projections: 200 } })).quotas).toEqual({ ...tierQuotas.free, projections: 200 })
    expect(body(await fx.call(T('create'), { tenant: 'life' })).error?.code).toBe('BAD_REQUEST')
    expect(body(await fx.call(T('get'), { tenant: 'life' })).status).toBe('active')
    expect(body(await fx.call(T('get'), { tenant: 'never' })).error?.code).toBe('TENANT_NOT_FOUND')
    const updated = body(await fx.call(T('update'), { tenant: 'life', tier: 'pro', quotas: { streams: 7 } }))
    expect(updated).toMatchObject({ tier: 'pro', quotas: { ...tierQuotas.pro, streams: 7 } })
    expect(body(await fx.call(T('update'), { tenant: 'life' }))).toEqual(updated)
    // active: suspend → suspended, activate unchanged
    expect(body(await fx.call(T('activate'), { tenant: 'life' })).status).toBe('active')
    expect(body(await fx.call(T('suspend'), { tenant: 'life' })).status).toBe('suspended')
    // suspended: suspend unchanged, quotas may change, activate → active
    expect(body(await fx.call(T('suspend'), { tenant: 'life' })).status).toBe('suspended')
    expect(body(await fx.call(T('update'), { tenant: 'life', quotas: { streams: 8 } })).quotas).toMatchObject({ streams: 8 })
    expect(body(await fx.call(T('activate'), { tenant: 'life' })).status).toBe('active')
    // → deleted: final
    expect(body(await fx.call(T('delete'), { tenant: 'life' })).status).toBe('deleted')
    expect(body(await fx.call(T('delete'), { tenant: 'life' })).status).toBe('deleted')
    for (const [command, b] of [['suspend', {}], ['activate', {}], ['update', { tier: 'free' }], ['update', {}]] as const) {
      const r = await fx.call(T(command), { tenant: 'life', ...b })
      expect(r.status).toBe('400')
      expect(body(r).error).toMatchObject({ code: 'BAD_REQUEST', target: 'life', status: 'deleted' })
    }
    expect(body(await fx.call(T('get'), { tenant: 'life' })).status).toBe('deleted')
    for (const c of ['suspend', 'activate', 'delete', 'update']) expect(body(await fx.call(T(c), { tenant: 'never' })).error?.code).toBe('TENANT_NOT_FOUND')
  })

  it('lists tenants page by page, deleted ones only when asked', async () => {
    const fresh = await startAdminFixture(nc, 'paged')
    try {
      const names = Array.from({ length: 13 }, (_, i) => `p${String(i).padStart(2, '0')}`)
      for (const t of [...names].reverse()) await fresh.call(subjects('paged').adminTenants('create'), { tenant: t })
      await fresh.call(subjects('paged').adminTenants('delete'), { tenant: 'p03' })
      const all = async (limit: number, includeDeleted: boolean) => {
        const seen: string[] = []
        let after: string | undefined
        for (;;) {
          const page = (await fresh.call(subjects('paged').adminTenants('list'), { limit, includeDeleted, ...(after !== undefined ? { after } : {}) }, 'msgpack')).body as { tenants: { tenant: string }[]; next?: string }
          seen.push(...page.tenants.map((t) => t.tenant))
          if (page.next === undefined) return seen
          expect(page.tenants).toHaveLength(limit)
          after = page.next
        }
      }
      for (const limit of [1, 5, 13, 1000]) {
        expect(await all(limit, false)).toEqual(names.filter((n) => n !== 'p03'))
        expect(await all(limit, true)).toEqual(names)
      }
      const defaults = (await fresh.call(subjects('paged').adminTenants('list'), new Uint8Array(0), 'raw')).body as { tenants: unknown[]; next?: string }
      expect(defaults.tenants).toHaveLength(12)
      expect(defaults.next).toBeUndefined()
    } finally {
      await fresh.stop()
    }
  })

  it('bad input answers BAD_REQUEST or INVALID_ID with a clear message', async () => {
    const err = async (subject: string, b: unknown, format: 'json' | 'msgpack' | 'raw' = 'json') => (await fx.call(subject, b, format)).body as { error: { code: string; message: string; field?: string } }
    expect((await err(T('frobnicate'), {})).error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('create, get, list') })
    expect((await err(T('create'), { tenant: 'a b' })).error).toMatchObject({ code: 'INVALID_ID', field: 'tenant' })
    expect((await err(T('create'), { tenant: 'tenants' })).error).toMatchObject({ code: 'INVALID_ID', message: expect.stringContaining('reserved') })
    expect((await err(T('create'), { tenant: 'x1', tier: 'gold' })).error).toMatchObject({ code: 'BAD_REQUEST', field: 'tier' })
    expect((await err(T('create'), { tenant: 'x1', quotas: { eventPerDay: 1 } })).error).toMatchObject({ code: 'BAD_REQUEST', field: 'quotas' })
    expect((await err(T('create'), { tenant: 'x1', teir: 'pro' })).error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('unknown field') })
    expect((await err(T('create'), [1, 2])).error.code).toBe('BAD_REQUEST')
    expect((await err(T('create'), new TextEncoder().encode('{"tenant": '), 'raw')).error.code).toBe('BAD_REQUEST')
    expect((await err(T('list'), { limit: 0 })).error).toMatchObject({ code: 'BAD_REQUEST', field: 'limit' })
    expect((await err(T('list'), { after: '*' })).error).toMatchObject({ code: 'INVALID_ID', field: 'after' })
    expect((await err(`${T('get')}.extra`, { tenant: 'acme' })).error.code).toBe('INVALID_ID')
    expect((await err(s.adminTenants('').slice(0, -1), { tenant: 'acme' })).error.code).toBe('INVALID_ID')
    expect((await err(K('acme', 'rotate'), {})).error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('create, list, revoke') })
    expect((await err(`${K('acme', 'create')}.x`, { role: 'reader' })).error.code).toBe('INVALID_ID')
    expect((await err('allsource.admin.acme.keys', { role: 'reader' })).error.code).toBe('INVALID_ID')
    expect((await err(K('ac$me', 'list'), {})).error).toMatchObject({ code: 'INVALID_ID', field: 'tenant' })
    expect((await err(K('acme', 'list'), { all: true })).error.code).toBe('BAD_REQUEST')
    expect((await err(K('acme', 'create'), { role: 'reader', expiresAt: '2027-02-30T00:00:00Z' })).error).toMatchObject({ code: 'BAD_REQUEST', field: 'expiresAt' })
  })

  it('key requests on the admin words are left to the endpoints those subjects belong to', async () => {
    // allsource.admin.tenants.keys: the tenant endpoint answers (an unknown command), once.
    const replies: string[] = []
    const inbox = nc.subscribe('_INBOX.words.>', {
      callback: (_e, m) => {
        replies.push(m.subject)
      },
    })
    const keyErrors = () => fx.endpoints[1]?.stats.num_errors ?? -1
    const before = keyErrors()
    nc.publish(`${T('keys')}.create`, new TextEncoder().encode('{}'), { reply: '_INBOX.words.1' })
    nc.publish(T('keys'), new TextEncoder().encode('{}'), { reply: '_INBOX.words.2' })
    // tenant "projections" has no wildcard listener of its own: the key endpoint answers.
    const r = await fx.call(K('projections', 'list'), {})
    expect((r.body as { error: { code: string } }).error.code).toBe('TENANT_NOT_FOUND')
    await nc.flush()
    await expect.poll(() => replies.length).toBe(2)
    // Requests on both key listeners, answered after the ones above were handled (callbacks run in
    // arrival order): the key endpoint counted these three errors and nothing for the words.
    await fx.call('allsource.admin.x1.keys', {})
    await fx.call(K('x1', 'list'), {})
    expect(keyErrors() - before).toBe(3)
    inbox.unsubscribe()
    expect(replies.sort()).toEqual(['_INBOX.words.1', '_INBOX.words.2'])
  })
})
