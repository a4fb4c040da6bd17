import { describe, expect, it } from 'vitest'
import { grantFor, invitationGrant, type NatsGrant, sessionSubjects, tenantConnectOptions, tenantInboxPrefix } from '../../../../src/adapters/nats/auth/natsGrants.js'
import { may, permissions } from '../../../../src/domain/security/permissions.js'
import { type Identity, type Operation, type Role, operations, roles } from '../../../../src/domain/security/roles.js'
import type { TenantId } from '../../../../src/domain/streams/ids.js'

/*
 * A small model of how nats-server applies a grant (docs/security.md, "Who can reach which
 * subject"): subjects are compared token by token; in a pattern `*` matches one token and `>` one
 * or more trailing tokens. A subject is allowed when an allow pattern covers it and no deny pattern
 * does (deny beats allow); with no matching allow, it is refused. A wildcard in the *subject*
 * (a wildcard subscription, or the filter inside a consumer-create subject) is covered only by a
 * pattern at least as wide (`*` by `*` or `>`, a trailing `>` only by `>`), so `_INBOX.>` is not
 * covered by `_INBOX.acme.k.>`.
 */
const covers = (pattern: string, subject: string): boolean => {
  const p = pattern.split('.')
  const s = subject.split('.')
  for (let i = 0; i < p.length; i++) {
    const pt = p[i] as string
    if (pt === '>') return s.length > i
    const st = s[i]
    if (st === undefined) return false
    if (st === '>') return false
    if (pt === '*') continue
    if (pt !== st) return false
  }
  return p.length === s.length
}

type Direction = 'pub' | 'sub'
const allowed = (grant: NatsGrant, dir: Direction, subject: string): boolean => {
  const { allow, deny } = grant.permissions[dir]
  return allow.some((a) => covers(a, subject)) && !deny.some((d) => covers(d, subject))
}

describe('the subject matcher of this test', () => {
  it('matches token-wise, with * one token and > the rest, and wildcard subjects only by wider patterns', () => {
    expect(covers('a.*.c', 'a.b.c')).toBe(true)
    expect(covers('a.*.c', 'a.b.d')).toBe(false)
    expect(covers('a.*', 'a.b.c')).toBe(false)
    expect(covers('a.>', 'a.b.c')).toBe(true)
    expect(covers('a.>', 'a')).toBe(false)
    expect(covers('>', 'a')).toBe(true)
    expect(covers('a.b', 'a.b')).toBe(true)
    expect(covers('a.b', 'a.b.c')).toBe(false)
    expect(covers('a.b.c', 'a.b')).toBe(false)
    expect(covers('_INBOX.acme.k.>', '_INBOX.>')).toBe(false)
    expect(covers('a.*', 'a.>')).toBe(false)
    expect(covers('a.>', 'a.>')).toBe(true)
    expect(covers('a.*', 'a.*')).toBe(true)
    const g: NatsGrant = { permissions: { pub: { allow: ['a.>'], deny: ['a.b'] }, sub: { allow: [], deny: [] } }, inboxPrefix: '' }
    expect(allowed(g, 'pub', 'a.c')).toBe(true)
    expect(allowed(g, 'pub', 'a.b')).toBe(false)
    expect(allowed(g, 'sub', 'a.c')).toBe(false)
  })
})

const acme = 'acme' as TenantId
const PRINCIPAL = 'k1AbCdEfGhIj'
const OWN_INBOX = tenantInboxPrefix('acme', PRINCIPAL)
const identityOf = (role: Role): Identity => (role === 'operator' ? { role: 'operator' } : { tenant: acme, role })

/**
 * What a subject needs: an operation of the table (allowed to a role of tenant acme iff
 * `may(role, op)`; for a platform-wide operation, never to a tenant role, since `authorize`
 * confines a tenant identity to its own tenant whatever the table says), `always` (every tenant
 * role), or `never` (no tenant role). The operator is allowed everything but `$SYS.>` whatever
 * the row says.
 */
type Need = { readonly op: Operation; readonly platformWide?: true } | 'always' | 'never'
interface Row {
  readonly dir: Direction
  readonly subject: string
  readonly need: Need
}
const row = (dir: Direction, subject: string, need: Need | Operation): Row => ({
  dir,
  subject,
  need: need === 'always' || need === 'never' ? need : typeof need === 'string' ? { op: need } : need,
})

const CREATE = '$JS.API.CONSUMER.CREATE.ALLSOURCE_EVENTS'

/** Every subject family, for tenant acme (own) and globex (other), under the prefix `p`. */
const rowsFor = (p: string): readonly Row[] => [
  row('pub', `${p}.append.acme.s1`, 'append'),
  row('pub', `${p}.append.globex.s1`, 'never'),
  row('pub', `${p}.append.acme`, 'never'),
  row('pub', `${p}.append.acme.s1.x`, 'never'),
  // What the server's append mapping makes of an append (checked against the grant after mapping).
  row('pub', `${p}.routed.acme.s1.7`, 'append'),
  row('pub', `${p}.routed.globex.s1.7`, 'never'),
  row('pub', `${p}.routed.acme.s1`, 'never'),
  row('pub', `${p}.ingest.acme.s1`, 'ingest'),
  row('pub', `${p}.ingest.globex.s1`, 'never'),
  row('pub', `${p}.read.acme.s1`, 'read'),
  row('pub', `${p}.read.globex.s1`, 'never'),
  row('pub', `${p}.query.acme`, 'query'),
  row('pub', `${p}.query.globex`, 'never'),
  row('pub', `${p}.analytics.acme.frequency`, 'query'),
  row('pub', `${p}.analytics.acme.funnel`, 'query'),
  row('pub', `${p}.analytics.globex.frequency`, 'never'),
  row('pub', `${p}.analytics.acme.frequency.x`, 'never'),
  row('pub', `${p}.projection.acme.p`, 'read'),
  row('pub', `${p}.projection.globex.p`, 'never'),
  row('sub', `${p}.projections.acme.p.k`, 'subscribe'),
  row('sub', `${p}.projections.acme.>`, 'subscribe'),
  row('sub', `${p}.projections.globex.p.k`, 'never'),
  row('sub', `${p}.projections.>`, 'never'),
  row('pub', `${p}.projections.acme.p.k`, 'never'),
  row('pub', `${p}.admin.acme.keys.create`, 'manageUsersAndKeys'),
  row('pub', `${p}.admin.acme.users.create`, 'manageUsersAndKeys'),
  row('pub', `${p}.admin.globex.keys.create`, 'never'),
  row('pub', `${p}.admin.acme.policies.create`, 'managePolicies'),
  row('pub', `${p}.admin.globex.policies.create`, 'never'),
  row('pub', `${p}.admin.acme.pipelines.create`, 'manageProjections'),
  row('pub', `${p}.admin.acme.pipelines.rebuild`, 'manageProjections'),
  row('pub', `${p}.admin.globex.pipelines.create`, 'never'),
  row('pub', `${p}.admin.acme.stats`, 'readStats'),
  row('pub', `${p}.admin.globex.stats`, 'never'),
  row('pub', `${p}.admin.acme.audit.query`, 'readAudit'),
  row('pub', `${p}.admin.globex.audit.query`, 'never'),
  row('pub', `${p}.admin.tenants.create`, { op: 'manageTenants', platformWide: true }),
  row('pub', `${p}.admin.projections`, 'never'),
  row('pub', `${p}.admin.projection.p.rebuild`, 'never'),
  // Access-token exchange (login, refresh): open to every tenant connection.
  row('pub', `${p}.auth.token`, 'always'),
  // The log: only through consumers, never by a direct publish or subscription.
  row('pub', `${p}.events.acme.s`, 'never'),
  row('sub', `${p}.events.acme.s`, 'never'),
  row('sub', `${p}.events.acme.>`, 'never'),
  row('pub', `${p}.dlq.acme.s`, 'never'),
  // JetStream: consumers whose filter lies in the tenant's log, and their info/next/delete/ack.
  row('pub', `${CREATE}.x.${p}.events.acme.>`, 'read'),
  row('pub', `${CREATE}.x.${p}.events.acme.s1`, 'read'),
  row('pub', `${CREATE}.x.${p}.events.globex.>`, 'never'),
  row('pub', `${CREATE}.x.${p}.events.>`, 'never'),
  row('pub', `${CREATE}.x.>`, 'never'),
  row('pub', `${CREATE}.x`, 'never'),
  row('pub', '$JS.API.CONSUMER.CREATE.ALLSOURCE_INGEST.x', 'never'),
  row('pub', '$JS.API.CONSUMER.DURABLE.CREATE.ALLSOURCE_EVENTS.x', 'never'),
  row('pub', '$JS.API.CONSUMER.INFO.ALLSOURCE_EVENTS.x', 'read'),
  row('pub', '$JS.API.CONSUMER.MSG.NEXT.ALLSOURCE_EVENTS.x', 'read'),
  row('pub', '$JS.API.CONSUMER.DELETE.ALLSOURCE_EVENTS.x', 'read'),
  row('pub', '$JS.ACK.ALLSOURCE_EVENTS.x.1.5.5.1700000000000000000.0', 'read'),
  row('pub', '$JS.API.CONSUMER.INFO.ALLSOURCE_INGEST.x', 'never'),
  row('pub', '$JS.API.CONSUMER.PAUSE.ALLSOURCE_EVENTS.x', 'never'),
  row('pub', '$JS.API.CONSUMER.RESET.ALLSOURCE_EVENTS.x', 'never'),
  row('pub', '$JS.API.STREAM.INFO.ALLSOURCE_EVENTS', 'never'),
  row('pub', '$JS.API.STREAM.CREATE.ALLSOURCE_EVENTS', 'never'),
  row('pub', '$JS.API.STREAM.NAMES', 'never'),
  row('pub', '$JS.API.STREAM.MSG.GET.ALLSOURCE_EVENTS', 'never'),
  row('pub', '$JS.API.DIRECT.GET.ALLSOURCE_EVENTS', 'never'),
  row('pub', '$JS.API.CONSUMER.LIST.ALLSOURCE_EVENTS', 'never'),
  row('pub', '$JS.API.CONSUMER.NAMES.ALLSOURCE_EVENTS', 'never'),
  row('pub', '$JS.API.INFO', 'never'),
  row('sub', '$JS.EVENT.ADVISORY.CONSUMER.CREATED.ALLSOURCE_EVENTS.x', 'never'),
  row('pub', '$KV.ALLSOURCE_TENANTS.acme', 'never'),
  row('sub', '$KV.ALLSOURCE_TENANTS.acme', 'never'),
  row('pub', '$SYS.REQ.SERVER.PING', 'never'),
  row('sub', '$SYS.REQ.USER.AUTH', 'never'),
  // Replies: only under the connection's own inbox.
  row('sub', `${OWN_INBOX}.x`, 'always'),
  row('sub', `${OWN_INBOX}.>`, 'always'),
  row('sub', '_INBOX.>', 'never'),
  row('sub', '_INBOX.acme.>', 'never'),
  row('sub', '_INBOX.acme.otherkey0000.x', 'never'),
  row('sub', '_INBOX.globex.k.x', 'never'),
  row('pub', `${OWN_INBOX}.x`, 'never'),
  row('sub', '>', 'never'),
  row('pub', '>', 'never'),
]

const expected = (role: Role, r: Row): boolean => {
  if (role === 'operator') return !r.subject.startsWith('$SYS.')
  if (r.need === 'always') return true
  if (r.need === 'never' || r.need.platformWide === true) return false
  return may(role, r.need.op)
}

const verdicts = (grant: NatsGrant, rows: readonly Row[]): readonly string[] =>
  rows.map((r) => `${r.dir} ${r.subject}: ${allowed(grant, r.dir, r.subject) ? 'allow' : 'deny'}`)
const expectedVerdicts = (role: Role, rows: readonly Row[]): readonly string[] =>
  rows.map((r) => `${r.dir} ${r.subject}: ${expected(role, r) ? 'allow' : 'deny'}`)

describe('grantFor: each role × each subject family, as the permission table says', () => {
  for (const role of roles) {
    it(`${role}`, () => {
      const rows = rowsFor('allsource')
      expect(verdicts(grantFor(identityOf(role), PRINCIPAL), rows)).toEqual(expectedVerdicts(role, rows))
    })
  }

  it('follows the table entry by entry: flipping any one (role, operation) in it moves exactly those subjects', () => {
    // Roles share many entries (readStats and readAudit go together today), so agreeing with the
    // table as it stands would not show which entry a grant reads. Flip each entry in turn.
    const rows = rowsFor('allsource')
    for (const role of roles.filter((r) => r !== 'operator')) {
      const set = permissions[role] as Set<Operation>
      for (const op of operations) {
        const had = set.has(op)
        if (had) set.delete(op)
        else set.add(op)
        try {
          expect(verdicts(grantFor(identityOf(role), PRINCIPAL), rows), `${role} with ${op} ${had ? 'removed' : 'added'}`).toEqual(expectedVerdicts(role, rows))
        } finally {
          if (had) set.add(op)
          else set.delete(op)
        }
      }
      expect(set).toEqual(new Set(operations.filter((op) => may(role, op))))
    }
  })

  it('every operation but manageSubscriptions (no NATS subject of its own yet) has a subject row', () => {
    const covered = new Set(rowsFor('allsource').flatMap((r) => (typeof r.need === 'object' ? [r.need.op] : [])))
    expect(operations.filter((op) => !covered.has(op))).toEqual(['manageSubscriptions'])
  })

  it('hand-written spot checks, so the derivation above is not vacuous', () => {
    const g = (role: Role) => grantFor(identityOf(role), PRINCIPAL)
    expect(allowed(g('reader'), 'pub', 'allsource.append.acme.s1')).toBe(false)
    expect(allowed(g('reader'), 'pub', 'allsource.read.acme.s1')).toBe(true)
    expect(allowed(g('reader'), 'sub', 'allsource.projections.acme.p.k')).toBe(true)
    expect(allowed(g('service'), 'pub', 'allsource.append.acme.s1')).toBe(true)
    expect(allowed(g('service'), 'sub', 'allsource.projections.acme.p.k')).toBe(false)
    expect(allowed(g('developer'), 'pub', 'allsource.admin.acme.keys.create')).toBe(false)
    expect(allowed(g('developer'), 'pub', 'allsource.admin.acme.pipelines.create')).toBe(true)
    expect(allowed(g('reader'), 'pub', 'allsource.admin.acme.pipelines.create')).toBe(false)
    expect(allowed(g('admin'), 'pub', 'allsource.admin.acme.keys.create')).toBe(true)
    expect(allowed(g('admin'), 'pub', 'allsource.admin.tenants.create')).toBe(false)
    expect(allowed(g('admin'), 'pub', 'allsource.append.globex.s1')).toBe(false)
    expect(allowed(g('operator'), 'pub', 'allsource.admin.tenants.create')).toBe(true)
    expect(allowed(g('operator'), 'pub', 'allsource.append.globex.s1')).toBe(true)
  })

  it('the inbox prefix is _INBOX.<tenant>.<principal>, and the grant subscribes nothing else under _INBOX', () => {
    for (const role of roles.filter((r) => r !== 'operator')) {
      const g = grantFor(identityOf(role), PRINCIPAL)
      expect(g.inboxPrefix).toBe(`_INBOX.acme.${PRINCIPAL}`)
      expect(g.permissions.sub.allow.filter((s) => s.startsWith('_INBOX'))).toEqual([`_INBOX.acme.${PRINCIPAL}.>`])
      expect(g.permissions.pub.allow.some((s) => s.startsWith('_INBOX'))).toBe(false)
    }
  })

  it('a tenant grant names no other tenant and no wildcard in a tenant position', () => {
    for (const role of roles.filter((r) => r !== 'operator')) {
      const { pub, sub } = grantFor(identityOf(role), PRINCIPAL).permissions
      for (const s of [...pub.allow, ...sub.allow]) {
        // The session subjects carry no tenant: the endpoint takes it from the reply inbox, which is the principal's own.
        if (s.startsWith('allsource.') && !sessionSubjects('allsource').includes(s)) expect(s.split('.')[2]).toBe('acme')
        expect(s).not.toBe('>')
      }
    }
  })
})

describe('invitationGrant', () => {
  it('allows publishing accept-invite only, and subscribing to the user\'s own inbox only', () => {
    const g = invitationGrant('acme', 'u_newbie')
    expect(g).toEqual({
      permissions: { pub: { allow: ['allsource.auth.accept-invite'], deny: [] }, sub: { allow: ['_INBOX.acme.u_newbie.>'], deny: [] } },
      inboxPrefix: '_INBOX.acme.u_newbie',
    })
    expect(invitationGrant('acme', 'u_newbie', { prefix: 'xs' }).permissions.pub.allow).toEqual(['xs.auth.accept-invite'])
  })

  it('every tenant role may reach auth.token, refresh, logout and me, and none accept-invite', () => {
    for (const role of roles.filter((r) => r !== 'operator')) {
      const { pub } = grantFor(identityOf(role), PRINCIPAL).permissions
      for (const s of ['allsource.auth.token', 'allsource.auth.refresh', 'allsource.auth.logout', 'allsource.auth.me']) expect(pub.allow).toContain(s)
      expect(pub.allow).not.toContain('allsource.auth.accept-invite')
    }
  })
})

describe('grantFor: the processor consumers', () => {
  const procs = ['proc_fold', 'proc_ingest']
  const verbs = ['CREATE', 'DURABLE.CREATE', 'INFO', 'MSG.NEXT', 'DELETE', 'PAUSE', 'UNPIN', 'RESET']

  it('every verb on a processor consumer is denied, though the allow list covers it (deny wins)', () => {
    for (const role of roles.filter((r) => r !== 'operator')) {
      const open = grantFor(identityOf(role), PRINCIPAL)
      const g = grantFor(identityOf(role), PRINCIPAL, { processorConsumers: procs })
      for (const name of procs) {
        for (const v of verbs) expect(allowed(g, 'pub', `$JS.API.CONSUMER.${v}.ALLSOURCE_EVENTS.${name}`)).toBe(false)
        for (const subject of [
          `$JS.API.CONSUMER.INFO.ALLSOURCE_EVENTS.${name}`,
          `$JS.API.CONSUMER.MSG.NEXT.ALLSOURCE_EVENTS.${name}`,
          `$JS.API.CONSUMER.DELETE.ALLSOURCE_EVENTS.${name}`,
          `${CREATE}.${name}.allsource.events.acme.>`,
          `$JS.ACK.ALLSOURCE_EVENTS.${name}.1.5.5.1700000000000000000.0`,
        ]) {
          // The allow list alone would let a reading role through: the deny is what refuses it.
          expect(allowed(open, 'pub', subject)).toBe(may(role, 'read'))
          expect(allowed(g, 'pub', subject)).toBe(false)
        }
      }
      // Other consumers are untouched.
      expect(allowed(g, 'pub', '$JS.API.CONSUMER.MSG.NEXT.ALLSOURCE_EVENTS.mine')).toBe(may(role, 'read'))
      expect(allowed(g, 'pub', `${CREATE}.mine.allsource.events.acme.>`)).toBe(may(role, 'read'))
    }
  })

  it('without processor consumers there is no deny list; the operator gets no processor deny', () => {
    expect(grantFor(identityOf('reader'), PRINCIPAL).permissions.pub.deny).toEqual([])
    const op = grantFor({ role: 'operator' }, PRINCIPAL, { processorConsumers: procs })
    expect(op.permissions.pub.deny).toEqual(['$SYS.>'])
  })
})

describe('grantFor: the subject prefix', () => {
  it('moves every subject: the same verdicts under xs.*, and nothing under allsource.*', () => {
    for (const role of roles.filter((r) => r !== 'operator')) {
      const g = grantFor(identityOf(role), PRINCIPAL, { prefix: 'xs' })
      const moved = rowsFor('xs')
      expect(verdicts(g, moved)).toEqual(expectedVerdicts(role, moved))
      for (const r of rowsFor('allsource').filter((x) => x.subject.includes('allsource'))) {
        expect(allowed(g, r.dir, r.subject), `${r.dir} ${r.subject}`).toBe(false)
      }
      const { pub, sub } = g.permissions
      expect([...pub.allow, ...sub.allow].filter((s) => s.includes('allsource'))).toEqual([])
    }
  })

  it('the default prefix is allsource', () => {
    expect(grantFor(identityOf('admin'), PRINCIPAL, { prefix: 'allsource' })).toEqual(grantFor(identityOf('admin'), PRINCIPAL))
  })
})

describe('grantFor: the operator', () => {
  it('gets every subject but $SYS.>, publish and subscribe, with its own inbox prefix', () => {
    const g = grantFor({ role: 'operator' }, 'opkey0000000')
    expect(g.permissions).toEqual({ pub: { allow: ['>'], deny: ['$SYS.>'] }, sub: { allow: ['>'], deny: ['$SYS.>'] } })
    expect(g.inboxPrefix).toBe('_INBOX._operator.opkey0000000')
    for (const dir of ['pub', 'sub'] as const) {
      expect(allowed(g, dir, '$SYS.REQ.SERVER.PING')).toBe(false)
      expect(allowed(g, dir, '$SYS.REQ.USER.AUTH')).toBe(false)
      expect(allowed(g, dir, 'allsource.admin.tenants.create')).toBe(true)
      expect(allowed(g, dir, '_INBOX.globex.k.x')).toBe(true)
      expect(allowed(g, dir, '$KV.ALLSOURCE_TENANTS.acme')).toBe(true)
    }
  })
})

describe('tenantConnectOptions', () => {
  const key = `as_AbCdEfGhIj12_${'s'.repeat(43)}_abcdef`

  it('passes the key as the token and sets the inbox prefix its grant allows', () => {
    const o = tenantConnectOptions('acme', key)
    expect(o).toEqual({ token: key, inboxPrefix: '_INBOX.acme.AbCdEfGhIj12' })
    const g = grantFor({ tenant: acme, role: 'reader' }, 'AbCdEfGhIj12')
    expect(g.inboxPrefix).toBe(o.inboxPrefix)
    expect(allowed(g, 'sub', `${o.inboxPrefix}.reply1`)).toBe(true)
  })

  it('refuses a value that is not an AllSource key, without echoing it', () => {
    const secretish = 'hunter2-super-secret-password'
    for (const bad of ['', secretish, `Bearer ${secretish}`, `as_short_${secretish}`, `AS_AbCdEfGhIj12_${secretish}`, `as_AbCdEfGhI!12_${secretish}`, ` ${key}`]) {
      let message = ''
      expect(() => {
        try {
          tenantConnectOptions('acme', bad)
        } catch (e) {
          message = e instanceof Error ? e.message : String(e)
          throw e
        }
      }).toThrow(/not an AllSource API key/)
      if (bad !== '') expect(message).not.toContain(bad)
      expect(message).not.toContain(secretish)
    }
  })
})
