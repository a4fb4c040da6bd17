import { describe, expect, it } from 'vitest'
import { createRefusalAuditor } from '../../../src/application/audit/refusalAudit.js'
import type { AuditDraft } from '../../../src/domain/security/audit.js'
import { badRequest, forbidden, tenantSuspended } from '../../../src/domain/streams/errors.js'
import type { AppendError } from '../../../src/application/streams/errors.js'

const quota = (limit: number): AppendError => ({ _tag: 'QuotaExceeded', quota: 'appendsPerSecond', limit, retryAfterMs: 100 }) as AppendError

describe('the data path refusal auditor', () => {
  it('records the first refusal of a window per tenant and code, counts the rest into the next entry, and ignores client mistakes', () => {
    const out: AuditDraft[] = []
    let t = 0
    const audit = createRefusalAuditor((d) => void out.push(d), { windowMs: 1_000, now: () => t })
    audit({ tenant: 'acme', principal: 'AbCdEfGhIj12', operation: 'append', error: forbidden('policy', 'denied', { rule: 'no-deletes' }) })
    audit({ tenant: 'acme', principal: 'AbCdEfGhIj12', operation: 'append', error: forbidden('policy', 'denied', { rule: 'no-deletes' }) })
    audit({ tenant: 'acme', principal: 'u_ann~lee', operation: 'append', error: quota(10) })
    audit({ tenant: 'globex', operation: 'ingest', error: tenantSuspended('globex') })
    audit({ tenant: 'acme', principal: 'AbCdEfGhIj12', operation: 'append', error: badRequest('nope') })
    expect(out.map((d) => [d.tenant, d.reason, d.details?.refused])).toEqual([
      ['acme', 'FORBIDDEN', 1],
      ['acme', 'QUOTA_EXCEEDED', 1],
      ['globex', 'TENANT_SUSPENDED', 1],
    ])
    expect(out[0]?.who).toEqual({ kind: 'key', id: 'AbCdEfGhIj12', tenant: 'acme' })
    expect(out[1]?.who).toEqual({ kind: 'user', id: 'ann.lee', tenant: 'acme' })
    expect(out[1]?.details).toMatchObject({ quota: 'appendsPerSecond', limit: 10 })
    expect(out[2]?.who).toEqual({ kind: 'anonymous' })
    t = 1_000
    audit({ tenant: 'acme', principal: '_op', operation: 'append', error: forbidden('policy', 'denied', { rule: 'no-deletes' }) })
    expect(out[3]).toMatchObject({ reason: 'FORBIDDEN', who: { kind: 'operator' }, details: { refused: 2 } })
  })

  it('keeps at most maxKeys tenants, flushing the oldest one\'s pending count', () => {
    const out: AuditDraft[] = []
    const audit = createRefusalAuditor((d) => void out.push(d), { windowMs: 60_000, maxKeys: 2, now: () => 0 })
    for (const t of ['a', 'a', 'b', 'c']) audit({ tenant: t, operation: 'append', error: quota(1) })
    expect(out.map((d) => [d.tenant, d.details?.refused])).toEqual([
      ['a', 1],
      ['b', 1],
      ['c', 1],
      ['a', 1],
    ])
  })
})
