import { describe, expect, it } from 'vitest'
import { actorFromReply, replyRootOf } from '../../../src/adapters/nats/admin/replyActor.js'
import { connectionAudit } from '../../../src/adapters/nats/auth/connectionAudit.js'
import { toWireError } from '../../../src/adapters/nats/service/errorCodes.js'

describe('actorFromReply', () => {
  it('reads who can read the reply from the inbox', () => {
    expect(actorFromReply('_INBOX.acme.AbC123xyZ789.x1', 'acme')).toEqual({ kind: 'key', id: 'AbC123xyZ789', tenant: 'acme' })
    expect(actorFromReply('_INBOX.acme._op.nuid', 'acme')).toEqual({ kind: 'operator' })
    expect(actorFromReply('_INBOX.acme.u_ann~lee.x1', 'acme')).toEqual({ kind: 'user', id: 'ann.lee', tenant: 'acme' })
    expect(actorFromReply('_INBOX._operator.OpKey0000000.x', undefined)).toEqual({ kind: 'operator', id: 'OpKey0000000' })
    expect(actorFromReply('_INBOX.globex.AbC123xyZ789.x', 'acme')).toEqual({ kind: 'anonymous' })
    expect(actorFromReply('allsource.append.acme.x', 'acme')).toEqual({ kind: 'anonymous' })
    expect(actorFromReply(undefined, 'acme')).toEqual({ kind: 'anonymous' })
    expect(actorFromReply('_INBOX.whatever', undefined, true)).toEqual({ kind: 'operator' })
  })

  it('keeps two tokens of a dropped reply', () => {
    expect(replyRootOf(`_INBOX.globex.${'k'.repeat(100)}.x`)).toBe('_INBOX.globex')
    expect(replyRootOf(`a${'b'.repeat(100)}`)).toHaveLength(64)
  })
})

describe('connectionAudit', () => {
  it('a granted key is auth.connect in its tenant; the operator a platform entry', () => {
    expect(connectionAudit({ outcome: 'granted', identity: { tenant: 'acme', role: 'admin' } as never, principal: 'AbC123xyZ789', client: { host: '127.0.0.1' }, ms: 1 })).toEqual({
      who: { kind: 'key', id: 'AbC123xyZ789', tenant: 'acme', role: 'admin' },
      tenant: 'acme',
      action: 'auth.connect',
      outcome: 'allowed',
      details: { host: '127.0.0.1' },
    })
    expect(connectionAudit({ outcome: 'granted', identity: { role: 'operator' }, principal: 'OpKey0000000', client: {}, ms: 1 })).toEqual({
      who: { kind: 'operator', id: 'OpKey0000000' },
      action: 'auth.connect',
      outcome: 'allowed',
      details: {},
    })
  })

  it('a refusal is anonymous, with its code, in the tenant only when the refusal names one', () => {
    expect(connectionAudit({ outcome: 'refused', code: 'UNAUTHORIZED', client: { host: 'h', name: 'n' }, ms: 1 })).toEqual({
      who: { kind: 'anonymous' },
      action: 'auth.connect.refused',
      outcome: 'denied',
      reason: 'UNAUTHORIZED',
      details: { host: 'h', clientName: 'n' },
    })
    expect(connectionAudit({ outcome: 'refused', code: 'TENANT_SUSPENDED', tenant: 'acme', client: {}, ms: 1 })).toMatchObject({ tenant: 'acme', outcome: 'denied' })
    expect(connectionAudit({ outcome: 'refused', code: 'UNAVAILABLE', client: {}, ms: 1 })).toMatchObject({ outcome: 'failed' })
  })
})

describe('the wire table', () => {
  it('answers AuditLogUnavailable as UNAVAILABLE with its retry hint', () => {
    expect(toWireError({ _tag: 'AuditLogUnavailable', message: 'budget spent', retryAfterMs: 500 })).toEqual({ code: 'UNAVAILABLE', message: 'budget spent', retryAfterMs: 500 })
    expect(toWireError({ _tag: 'AuditLogUnavailable', message: 'down' })).toEqual({ code: 'UNAVAILABLE', message: 'down' })
  })
})
