/**
 * The session requests over NATS in auth mode (`allsource.auth.refresh|logout|me|accept-invite`),
 * connecting with an invitation token, and a bounded fuzz of them, against a real nats-server
 * with the real callout and processor.
 */
import { readFile } from 'node:fs/promises'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect, createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node'
import * as fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeMsgpack, encodeMsgpack } from '../../../src/adapters/codec/msgpack.js'
import { invitationConnectOptions, tenantConnectOptions, tokenConnectOptions, userConnectOptions } from '../../../src/adapters/nats/auth/natsGrants.js'
import { statusOf, type ErrorCode } from '../../../src/adapters/nats/service/errorCodes.js'
import { systemClock } from '../../../src/adapters/system/systemClock.js'
import { validateAuditQuery } from '../../../src/domain/security/auditQuery.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'
import { newTenant, type IsoTimestamp, type QuotaOverrides } from '../../../src/domain/tenants/tenant.js'
import type { AllSource } from '../../../src/main/allSource.js'
import type { AuthPlane } from '../../../src/main/auth/authPlane.js'
import { operatorKeyFile } from '../../../src/main/auth/operatorKey.js'
import type { AuthTestServer } from '../../support/authServer.js'
import { fuzzRuns, fuzzSeed, fuzzTimeout } from '../../support/fuzzBudget.js'
import { type AuthProcessor, startAuthProcessor } from '../../support/authProcessor.js'

const td = new TextDecoder()
const PW = { ann: 'ann has a long password', gus: 'globex gus password 1', newbie: 'newbie chose this one' }

let server: AuthTestServer
let processorNc: NatsConnection
let app: AllSource
let plane: AuthPlane
let dataDir: string
let ap: AuthProcessor
const keys: Record<string, { keyId: string; key: string }> = {}
const open: NatsConnection[] = []

const track = (nc: NatsConnection): NatsConnection => {
  open.push(nc)
  return nc
}
const connectWith = async (opts: Record<string, unknown>) => track(await connect({ servers: server.url, reconnect: false, ...opts }))
const refused = (opts: Record<string, unknown>) => expect(connect({ servers: server.url, reconnect: false, ...opts })).rejects.toThrow(/Authorization Violation/)

type Reply = Record<string, unknown> & { error?: { code: ErrorCode; message: string } & Record<string, unknown> }
const call = async (nc: NatsConnection, subject: string, body?: unknown, timeout = 5_000): Promise<Reply> => {
  const m = await nc.request(subject, body === undefined ? new Uint8Array() : encodeMsgpack(body), { timeout })
  return decodeMsgpack(m.data) as Reply
}
const ok = (r: Reply): Reply => {
  if (r.error !== undefined) throw new Error(`${r.error.code}: ${r.error.message}`)
  return r
}
const auditOf = async (tenant: string, action: string) => {
  expect(await plane.audit.flush(10_000)).toBe(true)
  const q = validateAuditQuery({ action, limit: 1000 })
  if (E.isLeft(q)) throw new Error('query')
  const page = await plane.audit.query({ _tag: 'Tenant', tenant: tenant as TenantId }, q.right)()
  if (E.isLeft(page)) throw new Error('audit')
  return page.right.entries
}

let admin: NatsConnection
let gAdmin: NatsConnection

beforeAll(async () => {
  ap = await startAuthProcessor({ dataDirPrefix: 'allsource-sessions-' })
  ;({ server, processorNc, app, plane, dataDir } = ap)
  const now = new Date().toISOString() as IsoTimestamp
  for (const t of ['acme', 'globex']) await plane.tenants.create(newTenant(t as TenantId, now, { quotas: { connections: null } as QuotaOverrides }))()
  Object.assign(keys, await ap.createKeys([
    ['acme-admin', 'acme', 'admin'],
    ['acme-service', 'acme', 'service'],
    ['globex-admin', 'globex', 'admin'],
  ] as const))
  admin = await connectWith(tenantConnectOptions('acme', keys['acme-admin']!.key))
  gAdmin = await connectWith(tenantConnectOptions('globex', keys['globex-admin']!.key))
  ok(await call(admin, 'allsource.admin.acme.users.create', { username: 'ann', password: PW.ann, role: 'developer' }))
  ok(await call(gAdmin, 'allsource.admin.globex.users.create', { username: 'gus', password: PW.gus, role: 'developer' }))
}, 60_000)

afterAll(() => ap?.stop(open))

describe('accepting an invitation over NATS', () => {
  it('the invitation token connects with a grant to accept-invite only; accepting sets the password once; audited as user.accept', async () => {
    const invited = ok(await call(admin, 'allsource.admin.acme.users.invite', { username: 'newbie', role: 'admin' }))
    const token = invited.inviteToken as string
    await refused(userConnectOptions('acme', 'newbie', 'no password set yet!')) // no password: nobody logs in
    await refused(invitationConnectOptions('globex', 'newbie', token)) // another tenant's name
    const nc = await connectWith(invitationConnectOptions('acme', 'newbie', token))
    // The invited role is admin, but this connection may do nothing else.
    for (const subject of ['allsource.append.acme.s-1', 'allsource.admin.acme.users.list', 'allsource.auth.token', 'allsource.auth.me']) {
      await expect(nc.request(subject, encodeMsgpack({}), { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/)
    }
    expect((await call(nc, 'allsource.auth.accept-invite', { inviteToken: token, password: 'short' })).error?.code).toBe('VALIDATION_FAILED')
    expect((await call(nc, 'allsource.auth.accept-invite', { inviteToken: `${token.slice(0, -1)}${token.endsWith('x') ? 'y' : 'x'}`, password: PW.newbie })).error?.code).toBe('UNAUTHORIZED')
    expect((await call(nc, 'allsource.auth.accept-invite', { inviteToken: token })).error?.code).toBe('BAD_REQUEST')
    const accepted = ok(await call(nc, 'allsource.auth.accept-invite', { inviteToken: token, password: PW.newbie }))
    expect(accepted).toMatchObject({ tenant: 'acme', username: 'newbie', role: 'admin', invitePending: false })
    expect(JSON.stringify(accepted)).not.toMatch(/argon2|passwordHash|asi_/)
    expect((await call(nc, 'allsource.auth.accept-invite', { inviteToken: token, password: PW.newbie })).error?.code).toBe('UNAUTHORIZED') // once
    await refused(invitationConnectOptions('acme', 'newbie', token)) // spent
    const user = await connectWith(userConnectOptions('acme', 'newbie', PW.newbie))
    expect(ok(await call(user, 'allsource.auth.me'))).toMatchObject({ tenant: 'acme', role: 'admin', subject: { kind: 'user', username: 'newbie' } })
    const entries = await auditOf('acme', 'user.accept')
    expect(entries.map((e) => e.outcome)).toEqual(['failed', 'denied', 'succeeded', 'denied'])
    expect(entries[2]).toMatchObject({ who: { kind: 'user', id: 'newbie', tenant: 'acme' }, target: 'user:newbie' })
    expect(JSON.stringify(entries)).not.toContain(token)
    const connects = await auditOf('acme', 'auth.connect')
    expect(connects.filter((e) => e.who.id === 'newbie').map((e) => e.details?.scope ?? null)).toEqual(['invitation', null])
  })
})

describe('me, refresh and logout over NATS', () => {
  it('me answers the caller (a user with its record, a key with its role); the operator is FORBIDDEN', async () => {
    const ann = await connectWith(userConnectOptions('acme', 'ann', PW.ann))
    const me = ok(await call(ann, 'allsource.auth.me', {}))
    expect(me).toMatchObject({ tenant: 'acme', role: 'developer', subject: { kind: 'user', username: 'ann' }, user: { username: 'ann', role: 'developer' } })
    expect(JSON.stringify(me)).not.toMatch(/argon2|passwordHash/)
    const svc = await connectWith(tenantConnectOptions('acme', keys['acme-service']!.key))
    expect(ok(await call(svc, 'allsource.auth.me'))).toEqual({ tenant: 'acme', role: 'service', subject: { kind: 'key', keyId: keys['acme-service']!.keyId } })
    expect((await call(ann, 'allsource.auth.me', { x: 1 })).error?.code).toBe('BAD_REQUEST')
    const operator = await connectWith({ token: (await readFile(operatorKeyFile(dataDir), 'utf8')).trim() })
    const m = await operator.request('allsource.auth.me', encodeMsgpack({}), { timeout: 5_000, reply: `_INBOX.acme._op.${Date.now()}`, noMux: true })
    expect((decodeMsgpack(m.data) as Reply).error?.code).toBe('FORBIDDEN')
  })

  it('refresh rotates the pair; logout of a session ends that family only; logout all ends every session; audited', async () => {
    const ann = await connectWith(userConnectOptions('acme', 'ann', PW.ann))
    const first = ok(await call(ann, 'allsource.auth.token', {}))
    const second = ok(await call(ann, 'allsource.auth.token', {}))
    const rotated = ok(await call(ann, 'allsource.auth.refresh', { refreshToken: first.refreshToken }))
    expect(typeof rotated.accessToken).toBe('string')
    expect(rotated.refreshToken).not.toBe(first.refreshToken)
    expect((await call(ann, 'allsource.auth.refresh', {})).error?.code).toBe('BAD_REQUEST')
    expect(ok(await call(ann, 'allsource.auth.logout', { refreshToken: rotated.refreshToken }))).toEqual({ revoked: 'session' })
    expect((await call(ann, 'allsource.auth.refresh', { refreshToken: rotated.refreshToken })).error?.code).toBe('UNAUTHORIZED')
    // The other session lives on, until logout of all.
    const third = ok(await call(ann, 'allsource.auth.refresh', { refreshToken: second.refreshToken }))
    expect(ok(await call(ann, 'allsource.auth.logout', { all: true }))).toEqual({ revoked: 'all' })
    expect((await call(ann, 'allsource.auth.refresh', { refreshToken: third.refreshToken })).error?.code).toBe('UNAUTHORIZED')
    // A new login after it works.
    const fresh = ok(await call(ann, 'allsource.auth.token', {}))
    expect(typeof ok(await call(ann, 'allsource.auth.refresh', { refreshToken: fresh.refreshToken })).refreshToken).toBe('string')
    const svc = await connectWith(tenantConnectOptions('acme', keys['acme-service']!.key))
    expect((await call(svc, 'allsource.auth.logout', { all: true })).error?.code).toBe('UNAUTHORIZED') // keys have no sessions
    expect((await call(ann, 'allsource.auth.logout', { all: false })).error?.code).toBe('BAD_REQUEST')
    const entries = await auditOf('acme', 'auth.logout')
    expect(entries.map((e) => [e.who.id ?? e.who.kind, e.outcome, e.details?.all])).toEqual([
      ['ann', 'succeeded', false],
      ['ann', 'succeeded', true],
      [keys['acme-service']!.keyId, 'denied', true],
    ])
    expect(JSON.stringify(entries)).not.toMatch(/asr_|eyJ/)
  })

  it('across tenants: globex cannot log acme out with acme\'s refresh token, nor read acme\'s me by naming acme\'s inbox', async () => {
    const ann = await connectWith(userConnectOptions('acme', 'ann', PW.ann))
    const session = ok(await call(ann, 'allsource.auth.token', {}))
    const gus = await connectWith(userConnectOptions('globex', 'gus', PW.gus))
    // The token is acme's: gus's logout answers the same success and revokes nothing.
    expect(ok(await call(gus, 'allsource.auth.logout', { refreshToken: session.refreshToken }))).toEqual({ revoked: 'session' })
    expect((await call(gus, 'allsource.auth.refresh', { refreshToken: session.refreshToken })).error?.code).toBe('UNAUTHORIZED')
    const still = ok(await call(ann, 'allsource.auth.refresh', { refreshToken: session.refreshToken }))
    expect(typeof still.refreshToken).toBe('string')
    // gus aims me's reply at ann's inbox: NATS lets gus publish, but only ann could read it; gus gets nothing.
    const seen: Msg[] = []
    const sub = gus.subscribe('_INBOX.globex.u_gus.>', {
      callback: (_e, m) => {
        seen.push(m)
      },
    })
    gus.publish('allsource.auth.me', encodeMsgpack({}), { reply: `_INBOX.acme.u_ann.${createInbox().split('.').pop() ?? 'x'}` })
    const own = ok(await call(gus, 'allsource.auth.me'))
    expect(own).toMatchObject({ tenant: 'globex', subject: { kind: 'user', username: 'gus' } })
    expect(JSON.stringify(own)).not.toMatch(/acme|ann/)
    sub.unsubscribe()
    expect(seen.every((m) => !td.decode(m.data).includes('ann'))).toBe(true)
  })
})

describe('signing key rotation', () => {
  const kidOf = (jwt: string): string => (JSON.parse(Buffer.from(jwt.split('.')[0] ?? '', 'base64url').toString('utf8')) as { kid: string }).kid

  it('the operator rotates; a token signed by the old key still connects and works; new tokens carry the new kid; audited; tenants cannot rotate', async () => {
    const ann = await connectWith(userConnectOptions('acme', 'ann', PW.ann))
    const before = ok(await call(ann, 'allsource.auth.token', {}))
    const oldKid = kidOf(before.accessToken as string)
    await expect(admin.request('allsource.admin.signing-keys.rotate', encodeMsgpack({}), { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/)
    const operator = await connectWith({ token: (await readFile(operatorKeyFile(dataDir), 'utf8')).trim() })
    expect((await call(operator, 'allsource.admin.signing-keys.rotate', { retainMs: 1 })).error?.code).toBe('BAD_REQUEST')
    const rotated = ok(await call(operator, 'allsource.admin.signing-keys.rotate'))
    expect(rotated.active).not.toBe(oldKid)
    expect(rotated.retired).toEqual([{ kid: oldKid, verifyUntil: expect.any(String) }])
    expect(Date.parse((rotated.retired as { verifyUntil: string }[])[0]!.verifyUntil)).toBeGreaterThan(Date.now() + 10 * 60_000)
    expect(JSON.stringify(rotated)).not.toMatch(/"d"|"x"/) // kids only, no key material
    // The old token, held by a client across the rotation, still connects and is served.
    const held = await connectWith(tokenConnectOptions('acme', before.accessToken as string))
    expect(ok(await call(held, 'allsource.auth.me'))).toMatchObject({ tenant: 'acme', subject: { kind: 'user', username: 'ann' } })
    const after = ok(await call(ann, 'allsource.auth.token', {}))
    expect(kidOf(after.accessToken as string)).toBe(rotated.active)
    const fresh = await connectWith(tokenConnectOptions('acme', after.accessToken as string))
    expect(ok(await call(fresh, 'allsource.auth.me'))).toMatchObject({ tenant: 'acme' })
    expect(await plane.audit.flush(10_000)).toBe(true)
    const q = validateAuditQuery({ action: 'signingkey.rotate' })
    if (E.isLeft(q)) throw new Error('query')
    const page = await plane.audit.query({ _tag: 'Platform' }, q.right)()
    if (E.isLeft(page)) throw new Error('audit')
    expect(page.right.entries.map((e) => [e.who.kind, e.outcome, e.target])).toEqual([['operator', 'succeeded', `signingkey:${rotated.active as string}`]])
    // The word is reserved: no tenant can be named after it.
    expect((await call(operator, 'allsource.admin.tenants.create', { tenant: 'signing-keys' })).error?.code).toBe('INVALID_ID')
  })
})

describe('login rate limits', () => {
  it('after 10 failed passwords for one username the callout refuses it, even the right password, and audits auth.connect.throttled; others still log in', async () => {
    ok(await call(admin, 'allsource.admin.acme.users.create', { username: 'tim', password: 'tim has a fine password', role: 'reader' }))
    for (let i = 0; i < 10; i++) await refused(userConnectOptions('acme', 'tim', `wrong password number ${i}`))
    await refused(userConnectOptions('acme', 'tim', 'tim has a fine password'))
    // Another user of the tenant is not held up.
    await connectWith(userConnectOptions('acme', 'ann', PW.ann))
    expect(await plane.audit.flush(10_000)).toBe(true)
    const q = validateAuditQuery({ action: 'auth.connect.throttled' })
    if (E.isLeft(q)) throw new Error('query')
    const page = await plane.audit.query({ _tag: 'Platform' }, q.right)()
    if (E.isLeft(page)) throw new Error('audit')
    expect(page.right.entries).toHaveLength(1)
    expect(page.right.entries[0]).toMatchObject({ who: { kind: 'anonymous' }, outcome: 'denied', reason: 'QUOTA_EXCEEDED', details: { quota: 'loginFailures', limit: 5, refused: 1 } })
    expect(JSON.stringify(page.right.entries)).not.toContain('fine password')
  })

  it('auth.token: 30 requests a minute per principal, then QUOTA_EXCEEDED (429) with retryAfterMs; another principal is not affected', async () => {
    const svc = await connectWith(tenantConnectOptions('acme', keys['acme-service']!.key))
    for (let i = 0; i < 30; i++) ok(await call(svc, 'allsource.auth.token', {}))
    const m = await svc.request('allsource.auth.token', encodeMsgpack({}), { timeout: 5_000 })
    const r = decodeMsgpack(m.data) as Reply
    expect(r.error).toMatchObject({ code: 'QUOTA_EXCEEDED', quota: 'tokenRequests', limit: 30 })
    expect(r.error?.retryAfterMs).toBeGreaterThan(0)
    expect(m.headers?.get('Nats-Service-Error-Code')).toBe('429')
    expect(typeof ok(await call(admin, 'allsource.auth.token', {})).accessToken).toBe('string')
  })
})

// ---- fuzz --------------------------------------------------------------------------------------

const anything = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(null, -1, 0, 1.5, '', true))
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 })
const rec = (fields: Record<string, fc.Arbitrary<unknown>>) =>
  fc.record(Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, opt(v)]))).map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)))
const tokenText = fc.oneof(fc.constantFrom('asr_AAAAAAAAAAAA_' + 'A'.repeat(43), 'asi_AAAAAAAAAAAA_' + 'A'.repeat(43), 'asr_', 'eyJ', ''), anything)
const fuzzRequest = fc.oneof(
  fc.record({ subject: fc.constant('allsource.auth.refresh'), body: fc.oneof(rec({ refreshToken: tokenText, extra: anything }), anything, fc.constant(undefined)) }),
  fc.record({ subject: fc.constant('allsource.auth.logout'), body: fc.oneof(rec({ refreshToken: tokenText, all: fc.oneof(fc.boolean(), anything), extra: anything }), anything, fc.constant(undefined)) }),
  fc.record({ subject: fc.constant('allsource.auth.me'), body: fc.oneof(fc.constant({}), anything, fc.constant(undefined)) }),
)

describe('session endpoints: fuzzed bodies', () => {
  it('every request gets one well-formed reply, never INTERNAL; a rejected one writes nothing; no reply holds a hash, a password or another reply\'s token', async () => {
    const ann = await connectWith(userConnectOptions('acme', 'ann', PW.ann))
    const jsm = await jetstreamManager(processorNc)
    const buckets = ['KV_ALLSOURCE_USERS', 'KV_ALLSOURCE_REFRESH_TOKENS']
    const lastSeqs = async () => Promise.all(buckets.map(async (b) => (await jsm.streams.info(b)).state.last_seq))
    const codes = new Set(Object.keys(statusOf))
    const issued: string[] = []
    let answered = 0
    await fc.assert(
      fc.asyncProperty(fuzzRequest, async ({ subject, body }) => {
        const before = await lastSeqs()
        const m = await ann.request(subject, body === undefined ? new Uint8Array() : encodeMsgpack(body), { timeout: 5_000 })
        const text = td.decode(m.data)
        const reply = decodeMsgpack(m.data) as Reply
        answered++
        if (reply.error !== undefined) {
          expect(codes.has(reply.error.code)).toBe(true)
          expect(m.headers?.get('Nats-Service-Error-Code')).toBe(String(statusOf[reply.error.code]))
          expect(reply.error.code).not.toBe('INTERNAL')
          expect(await lastSeqs()).toEqual(before)
        }
        expect(text).not.toMatch(/argon2|passwordHash|tokenHash/)
        expect(text).not.toContain(PW.ann)
        for (const s of issued) expect(text).not.toContain(s)
        for (const k of ['accessToken', 'refreshToken']) if (typeof reply[k] === 'string') issued.push(reply[k] as string)
      }),
      { numRuns: fuzzRuns(60), ...fuzzSeed(11) },
    )
    expect(answered).toBeGreaterThan(0)
  }, fuzzTimeout(60, 400, 120_000))
})

describe('accept-invite: fuzzed bodies', () => {
  it('from an invitation connection every body gets one well-formed reply, never INTERNAL; nothing is written but by the real token', async () => {
    const invited = ok(await call(admin, 'allsource.admin.acme.users.invite', { username: 'fuzzee', role: 'reader' }))
    const token = invited.inviteToken as string
    const nc = await connectWith(invitationConnectOptions('acme', 'fuzzee', token))
    const jsm = await jetstreamManager(processorNc)
    const lastSeq = async () => (await jsm.streams.info('KV_ALLSOURCE_USERS')).state.last_seq
    const codes = new Set(Object.keys(statusOf))
    const password = fc.oneof(fc.constantFrom('a fine long password', 'short', 'x'.repeat(1100), 'fuzzee'), anything)
    const wrong = `${token.slice(0, -1)}${token.endsWith('Z') ? 'Y' : 'Z'}`
    const inviteToken = fc.oneof(fc.constantFrom(wrong, 'asi_AAAAAAAAAAAA_' + 'A'.repeat(43), 'asi_', ''), anything)
    const body = fc.oneof(rec({ inviteToken, password, extra: anything }), anything, fc.constant(undefined))
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const before = await lastSeq()
        const m = await nc.request('allsource.auth.accept-invite', b === undefined ? new Uint8Array() : encodeMsgpack(b), { timeout: 5_000 })
        const reply = decodeMsgpack(m.data) as Reply
        expect(reply.error).toBeDefined() // never the real token, so never accepted
        expect(codes.has(reply.error!.code)).toBe(true)
        expect(reply.error!.code).not.toBe('INTERNAL')
        expect(m.headers?.get('Nats-Service-Error-Code')).toBe(String(statusOf[reply.error!.code]))
        expect(await lastSeq()).toBe(before)
        expect(td.decode(m.data)).not.toContain(token)
      }),
      { numRuns: fuzzRuns(40), ...fuzzSeed(13) },
    )
    // The real token still works afterwards: nothing above spent it.
    expect(ok(await call(nc, 'allsource.auth.accept-invite', { inviteToken: token, password: 'fuzzee chose well' }))).toMatchObject({ username: 'fuzzee', invitePending: false })
  }, fuzzTimeout(40, 400, 120_000))
})
