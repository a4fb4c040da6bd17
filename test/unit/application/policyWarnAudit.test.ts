import { describe, expect, it } from 'vitest'
import { createPolicyWarnAuditor } from '../../../src/application/audit/policyWarnAudit.js'
import type { AuditDraft } from '../../../src/domain/security/audit.js'

describe('policy.warned audit', () => {
  it('records the first warning of a tenant and rule at once, counts the rest of the minute, and carries the count in the next entry', () => {
    const drafts: AuditDraft[] = []
    const clock = { ms: 0 }
    const warn = createPolicyWarnAuditor((d) => drafts.push(d), { now: () => clock.ms })
    const w = { tenant: 'acme', rule: 'big', operation: 'append', stream: 'doc-1', principal: 'AbCdEfGhIjKl' }
    warn(w)
    warn(w)
    warn(w)
    warn({ ...w, rule: 'other' })
    warn({ ...w, tenant: 'globex' })
    expect(drafts).toHaveLength(3)
    expect(drafts[0]).toMatchObject({ tenant: 'acme', action: 'policy.warned', outcome: 'allowed', target: 'stream:doc-1', who: { kind: 'key', id: 'AbCdEfGhIjKl', tenant: 'acme' }, details: { rule: 'big', operation: 'append', warned: 1 } })
    clock.ms = 60_000
    warn({ ...w, principal: undefined as unknown as string, operation: 'ingest' })
    expect(drafts[3]).toMatchObject({ action: 'policy.warned', who: { kind: 'anonymous' }, details: { rule: 'big', operation: 'ingest', warned: 3 } })
  })

  it('bounds memory: past maxKeys the oldest key is flushed with its pending count', () => {
    const drafts: AuditDraft[] = []
    const warn = createPolicyWarnAuditor((d) => drafts.push(d), { now: () => 0, maxKeys: 2 })
    const w = { tenant: 'acme', rule: 'a', operation: 'append', stream: 's' }
    warn(w)
    warn(w)
    warn({ ...w, rule: 'b' })
    warn({ ...w, rule: 'c' })
    expect(drafts.map((d) => [d.details?.rule, d.details?.warned])).toEqual([
      ['a', 1],
      ['b', 1],
      ['c', 1],
      ['a', 1],
    ])
  })
})
