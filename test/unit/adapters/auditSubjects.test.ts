import { describe, expect, it } from 'vitest'
import { subjects } from '../../../src/adapters/nats/subjects.js'

describe('audit subjects', () => {
  const s = subjects('allsource')
  it('puts the tenant and the action tokens in the subject, the platform under its own fixed token', () => {
    expect(s.audit('acme', 'auth.login.failed')).toBe('allsource.audit.tenant.acme.auth.login.failed')
    expect(s.audit(undefined, 'tenant.create')).toBe('allsource.audit.platform.tenant.create')
    // A tenant named like the platform token stays under `tenant.`.
    expect(s.audit('_platform', 'key.create')).toBe('allsource.audit.tenant._platform.key.create')
    expect(s.auditWildcard).toBe('allsource.audit.>')
  })

  it('turns scope and action into subject filters', () => {
    expect(s.auditFilters({ tenant: 'acme' }, '>')).toEqual(['allsource.audit.tenant.acme.>'])
    expect(s.auditFilters({ tenant: 'acme' }, 'key.>')).toEqual(['allsource.audit.tenant.acme.key.>'])
    expect(s.auditFilters('platform', 'tenant.create')).toEqual(['allsource.audit.platform.tenant.create'])
    expect(s.auditFilters('all', '>')).toEqual(['allsource.audit.>'])
    expect(s.auditFilters('all', 'auth.login')).toEqual(['allsource.audit.tenant.*.auth.login', 'allsource.audit.platform.auth.login'])
  })
})
