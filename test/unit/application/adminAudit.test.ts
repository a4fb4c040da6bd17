import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { keyCommandAudit, tenantCommandAudit } from '../../../src/application/admin/adminAudit.js'
import { createDropAuditor } from '../../../src/application/audit/dropAudit.js'
import { unavailable } from '../../../src/application/streams/errors.js'
import type { AuditDraft } from '../../../src/domain/security/audit.js'
import type { ApiKeyId } from '../../../src/domain/security/apiKey.js'
import { secret } from '../../../src/domain/security/secret.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'

const acme = 'acme' as TenantId
const op: AuditDraft['who'] = { kind: 'operator', id: 'OpKey0000000' }

describe('tenantCommandAudit', () => {
  it('one draft per changing command, none for reads; outcome from the result', () => {
    expect(tenantCommandAudit({ _tag: 'Get', tenant: acme }, E.right({}), op)).toBeUndefined()
    expect(tenantCommandAudit({ _tag: 'List', limit: 10, includeDeleted: false }, E.right({}), op)).toBeUndefined()
    expect(tenantCommandAudit({ _tag: 'Suspend', tenant: acme }, E.right({}), op)).toEqual({ who: op, tenant: 'acme', action: 'tenant.suspend', target: 'tenant:acme', outcome: 'succeeded' })
    expect(tenantCommandAudit({ _tag: 'Create', tenant: acme, tier: 'pro' }, E.left(unavailable('down')), op)).toMatchObject({
      action: 'tenant.create',
      outcome: 'failed',
      reason: 'Unavailable',
      details: { tier: 'pro' },
    })
    expect(tenantCommandAudit({ _tag: 'Delete', tenant: acme }, E.left({ _tag: 'Forbidden', reason: 'role', message: 'no' } as never), op)).toMatchObject({ outcome: 'denied', reason: 'Forbidden' })
  })
})

describe('keyCommandAudit', () => {
  it('names the created key by id, never the key', () => {
    const key = 'as_AbC123xyZ789_s3cr3ts3cr3ts3cr3ts3cr3t_abcd'
    const d = keyCommandAudit(acme, { _tag: 'Create', role: 'reader' }, E.right({ _tag: 'Created', created: { keyId: 'AbC123xyZ789' as ApiKeyId, key: secret(key) } }), { kind: 'key', id: 'Admin0000000', tenant: 'acme' })
    expect(d).toMatchObject({ action: 'key.create', tenant: 'acme', target: 'key:AbC123xyZ789', outcome: 'succeeded', details: { role: 'reader' } })
    expect(JSON.stringify(d)).not.toContain('s3cr3t')
    expect(keyCommandAudit(acme, { _tag: 'List' }, E.right({ _tag: 'Listed', keys: [] }), op)).toBeUndefined()
    expect(keyCommandAudit(acme, { _tag: 'Revoke', keyId: 'AAAAAAAAAAAA' as ApiKeyId }, E.left({ _tag: 'NotFound', message: 'x' }), op)).toMatchObject({
      action: 'key.revoke',
      target: 'key:AAAAAAAAAAAA',
      outcome: 'failed',
      reason: 'NotFound',
    })
  })
})

describe('createDropAuditor', () => {
  it('records the first drop of a window per tenant and counts the rest into the next entry', () => {
    const drafts: AuditDraft[] = []
    let now = 0
    const drop = createDropAuditor((d) => void drafts.push(d), { windowMs: 1_000, now: () => now })
    drop({ reason: 'FOREIGN_REPLY', endpoint: 'append', tenant: 'acme', replyRoot: '_INBOX.globex' })
    drop({ reason: 'FOREIGN_REPLY', endpoint: 'append', tenant: 'acme' })
    drop({ reason: 'FOREIGN_REPLY', endpoint: 'read', tenant: 'acme' })
    drop({ reason: 'BAD_SUBJECT', endpoint: 'key-admin' })
    expect(drafts.map((d) => [d.tenant, d.details?.dropped])).toEqual([
      ['acme', 1],
      [undefined, 1],
    ])
    now = 1_000
    drop({ reason: 'FOREIGN_REPLY', endpoint: 'append', tenant: 'acme' })
    expect(drafts[2]).toMatchObject({ tenant: 'acme', action: 'request.denied', outcome: 'denied', reason: 'FOREIGN_REPLY', who: { kind: 'anonymous' }, details: { endpoint: 'append', dropped: 3 } })
  })

  it('stays bounded: evicting a tenant records what it had counted', () => {
    const drafts: AuditDraft[] = []
    const drop = createDropAuditor((d) => void drafts.push(d), { windowMs: 1_000, maxTenants: 2, now: () => 0 })
    drop({ reason: 'FOREIGN_REPLY', endpoint: 'e', tenant: 'a' })
    drop({ reason: 'FOREIGN_REPLY', endpoint: 'e', tenant: 'a' })
    drop({ reason: 'FOREIGN_REPLY', endpoint: 'e', tenant: 'b' })
    drop({ reason: 'FOREIGN_REPLY', endpoint: 'e', tenant: 'c' })
    const counted = drafts.reduce((n, d) => n + (d.details?.dropped as number), 0)
    expect(counted).toBe(4)
  })
})
