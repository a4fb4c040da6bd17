import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { actionMatches, auditScopeFor, parseActionFilter, validateAuditQuery } from '../../../../src/domain/security/auditQuery.js'
import type { TenantId } from '../../../../src/domain/streams/ids.js'

const tag = (r: E.Either<{ _tag: string }, unknown>) => (E.isLeft(r) ? r.left._tag : 'ok')

describe('audit query request', () => {
  it('decodes a full request and defaults the limit', () => {
    expect(validateAuditQuery(undefined)).toEqual(E.right({ limit: 100 }))
    expect(
      validateAuditQuery({ tenant: 'acme', since: '2026-12-01T00:00:00Z', until: '2026-12-02T00:00:00Z', action: 'key.>', user: 'alice', limit: 5, after: 12 }),
    ).toEqual(
      E.right({
        tenant: 'acme',
        since: new Date('2026-12-01T00:00:00Z'),
        until: new Date('2026-12-02T00:00:00Z'),
        action: { kind: 'prefix', prefix: 'key' },
        user: 'alice',
        limit: 5,
        after: 12,
      }),
    )
  })

  it('refuses what it cannot honour', () => {
    for (const bad of [
      'x',
      { since: 'yesterday' },
      { since: '2026-12-02T00:00:00Z', until: '2026-12-01T00:00:00Z' },
      { action: 'key.*' },
      { action: 'nothing.>' },
      { action: '>' },
      { limit: 0 },
      { limit: 1001 },
      { after: -1 },
      { user: '' },
      { user: 'as_AbC123xyZ789_abcdefghijk' },
    ]) {
      expect(tag(validateAuditQuery(bad)), JSON.stringify(bad)).toBe('BadRequest')
    }
    expect(tag(validateAuditQuery({ tenant: 'a.b' }))).toBe('InvalidId')
  })

  it('matches actions exactly or by prefix, with NATS wildcard semantics', () => {
    const f = (s: string) => (E.isRight(parseActionFilter(s)) ? (parseActionFilter(s) as E.Right<Parameters<typeof actionMatches>[0]>).right : undefined)
    expect(actionMatches(f('auth.login')!, 'auth.login')).toBe(true)
    expect(actionMatches(f('auth.login')!, 'auth.login.failed')).toBe(false)
    expect(actionMatches(f('auth.login.>')!, 'auth.login.failed')).toBe(true)
    expect(actionMatches(f('auth.login.>')!, 'auth.login')).toBe(false)
    expect(actionMatches(f('auth.>')!, 'auth.connect.refused')).toBe(true)
  })
})

describe('who may read which entries', () => {
  const acme = 'acme' as TenantId
  it('confines a tenant identity to its own tenant, and needs readAudit', () => {
    expect(auditScopeFor({ tenant: acme, role: 'admin' })).toEqual(E.right({ _tag: 'Tenant', tenant: 'acme' }))
    expect(auditScopeFor({ tenant: acme, role: 'admin' }, acme)).toEqual(E.right({ _tag: 'Tenant', tenant: 'acme' }))
    expect(auditScopeFor({ tenant: acme, role: 'admin' }, 'globex' as TenantId)).toMatchObject(E.left({ _tag: 'Forbidden', reason: 'tenant' }))
    for (const role of ['developer', 'reader', 'service'] as const) {
      expect(auditScopeFor({ tenant: acme, role }, acme)).toMatchObject(E.left({ _tag: 'Forbidden', reason: 'role' }))
    }
  })
  it('lets the operator read one tenant or everything', () => {
    expect(auditScopeFor({ role: 'operator' })).toEqual(E.right({ _tag: 'All' }))
    expect(auditScopeFor({ role: 'operator' }, acme)).toEqual(E.right({ _tag: 'Tenant', tenant: 'acme' }))
  })
})
