/**
 * Users and access tokens in auth mode, against a real nats-server with the real callout and
 * processor: connecting as `<tenant>/<username>` + password and with an access token, the
 * `allsource.auth.token` endpoint (new sessions, rotation, reply injection), the
 * `allsource.admin.<tenant>.users.*` lifecycle, every refused credential, and a bounded fuzz of
 * the new endpoints.
 */
import { readFile } from 'node:fs/promises'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect, type Msg, type NatsConnection, nkeyAuthenticator } from '@nats-io/transport-node'
import * as fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { SignJWT, decodeProtectedHeader, importJWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeMsgpack, encodeMsgpack } from '../../../src/adapters/codec/msgpack.js'
import { createEd25519KeyGenerator, createJoseTokens } from '../../../src/adapters/crypto/joseTokens.js'
import { tenantConnectOptions, tokenConnectOptions, userConnectOptions } from '../../../src/adapters/nats/auth/natsGrants.js'
import { createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { statusOf, type ErrorCode } from '../../../src/adapters/nats/service/errorCodes.js'
import { systemClock } from '../../../src/adapters/system/systemClock.js'
import { changeTenant } from '../../../src/application/tenants/changeTenant.js'
import { newKeyRing } from '../../../src/domain/security/signingKeys.js'
import type { Username } from '../../../src/domain/security/user.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'
import { activate, newTenant, suspend, type IsoTimestamp, type QuotaOverrides } from '../../../src/domain/tenants/tenant.js'
import type { AllSource } from '../../../src/main/allSource.js'
import type { AuthPlane } from '../../../src/main/auth/authPlane.js'
import { operatorKeyFile } from '../../../src/main/auth/operatorKey.js'
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER } from '../../../src/main/auth/userPlane.js'
import type { AuthTestServer } from '../../support/authServer.js'
import { fuzzRuns, fuzzSeed, fuzzTimeout } from '../../support/fuzzBudget.js'
import { type AuthProcessor, startAuthProcessor } from '../../support/authProcessor.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const te = new TextEncoder()
const td = new TextDecoder()

const PW = { ann: 'correct horse battery staple', bob: 'tr0ub4dor&3-but-longer', gus: 'globex user password 1' }

let server: AuthTestServer
let processorNc: NatsConnection
let app: AllSource
let plane: AuthPlane
let dataDir: string
let ap: AuthProcessor
let operatorKey: string
const keys: Record<string, { keyId: string; key: string }> = {}
const open: NatsConnection[] = []

const track = (nc: NatsConnection): NatsConnection => {
  open.push(nc)
  return nc
}
const connectWith = async (opts: Record<string, unknown>) => track(await connect({ servers: server.url, reconnect: false, ...opts }))
const refused = (opts: Record<string, unknown>) => expect(connect({ servers: server.url, reconnect: false, ...opts })).rejects.toThrow(/Authorization Violation/)
const eventually = async (pred: () => boolean | Promise<boolean>): Promise<boolean> => {
  for (let i = 0; i < 60; i++) {
    if (await pred()) return true
    await sleep(50)
  }
  return pred()
}

type Reply = Record<string, unknown> & { error?: { code: ErrorCode; message: string } }
/** One request in msgpack; the decoded reply and its raw text (for secret checks). */
const call = async (nc: NatsConnection, subject: string, body?: unknown, timeout = 5_000): Promise<Reply> => {
  const m = await nc.request(subject, body === undefined ? new Uint8Array() : encodeMsgpack(body), { timeout })
  return decodeMsgpack(m.data) as Reply
}
const ok = (r: Reply): Reply => {
  if (r.error !== undefined) throw new Error(`${r.error.code}: ${r.error.message}`)
  return r
}

/** Users and connections of the application account by authorized user name (system account). */
const connectionUsers = async (): Promise<string[]> => {
  const sys = track(await connect({ servers: server.url, authenticator: nkeyAuthenticator(te.encode(server.material.systemSeed)) }))
  const m = await sys.request('$SYS.REQ.SERVER.PING.CONNZ', te.encode(JSON.stringify({ acc: 'ALLSOURCE', auth: true, limit: 1024 })), { timeout: 2_000 })
  await sys.close()
  const r = JSON.parse(td.decode(m.data)) as { data?: { connections?: { authorized_user?: string }[] } }
  return (r.data?.connections ?? []).map((c) => c.authorized_user ?? '')
}

let admin: NatsConnection

beforeAll(async () => {
  ap = await startAuthProcessor({ dataDirPrefix: 'allsource-userdata-' })
  ;({ server, processorNc, app, plane, dataDir } = ap)
  operatorKey = (await readFile(operatorKeyFile(dataDir), 'utf8')).trim()
  const now = new Date().toISOString() as IsoTimestamp
  // More connections than the free tier's 5 (the connections quota has its own test).
  for (const t of ['acme', 'globex']) await plane.tenants.create(newTenant(t as TenantId, now, { quotas: { connections: null } as QuotaOverrides }))()
  Object.assign(keys, await ap.createKeys([
    ['acme-admin', 'acme', 'admin'],
    ['acme-reader', 'acme', 'reader'],
    ['globex-admin', 'globex', 'admin'],
  ] as const))
  admin = await connectWith(tenantConnectOptions('acme', keys['acme-admin']!.key))
  ok(await call(admin, 'allsource.admin.acme.users.create', { username: 'Ann.Lee', password: PW.ann, role: 'developer' }))
  ok(await call(admin, 'allsource.admin.acme.users.create', { username: 'bob', password: PW.bob, role: 'reader' }))
  const gAdmin = await connectWith(tenantConnectOptions('globex', keys['globex-admin']!.key))
  ok(await call(gAdmin, 'allsource.admin.globex.users.create', { username: 'gus', password: PW.gus, role: 'developer' }))
  // A globex user with acme's username: names are per tenant.
  ok(await call(gAdmin, 'allsource.admin.globex.users.create', { username: 'ann.lee', password: 'globex ann password', role: 'reader' }))
}, 60_000)

afterAll(() => ap?.stop(open))

describe('connecting as a user', () => {
  it('connects as <tenant>/<username> + password, is named <tenant>:u_<name>, and appends to its tenant only', async () => {
    const nc = await connectWith(userConnectOptions('acme', 'ANN.lee', PW.ann))
    const r = await createAllSourceClient(nc).tryAppend('acme', 'order-1', [{ type: 'order.placed', payload: { total: 1 } }])
    expect(E.isRight(r)).toBe(true)
    await expect(nc.request('allsource.append.globex.x', encodeMsgpack({ events: [{ type: 'x', payload: {} }] }), { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/)
    // developer: no user administration.
    await expect(nc.request('allsource.admin.acme.users.list', new Uint8Array(), { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/)
    expect(await connectionUsers()).toContain('acme:u_ann~lee')
  })

  it('refuses a wrong password, an unknown user, another tenant\'s user, and malformed users', async () => {
    await refused({ user: 'acme/ann.lee', pass: 'wrong password here' })
    await refused({ user: 'acme/nobody', pass: PW.ann })
    await refused({ user: 'globex/ann.lee', pass: PW.ann })
    await refused({ user: 'globex/gus', pass: PW.ann })
    await refused({ user: 'acme/gus', pass: PW.gus })
    await refused({ user: 'nosuch/ann.lee', pass: PW.ann })
    await refused({ user: 'acme/', pass: PW.ann })
    await refused({ user: '/ann.lee', pass: PW.ann })
    await refused({ user: 'acme/ann.lee', pass: '' })
    await refused({ user: 'acme/ann.lee', pass: 'x'.repeat(2000) })
    await refused({ user: 'acme/ann.lee' })
  })

  it('answers password logins concurrently, and an API key meanwhile', async () => {
    const attempts = [
      ...Array.from({ length: 4 }, () => connect({ servers: server.url, reconnect: false, ...userConnectOptions('acme', 'ann.lee', PW.ann) })),
      ...Array.from({ length: 4 }, () => connect({ servers: server.url, reconnect: false, user: 'acme/ann.lee', pass: 'wrong password!!' })),
      connect({ servers: server.url, reconnect: false, ...tenantConnectOptions('acme', keys['acme-reader']!.key) }),
    ]
    const results = await Promise.allSettled(attempts)
    for (const r of results) if (r.status === 'fulfilled') track(r.value)
    expect(results.map((r) => r.status)).toEqual([...Array(4).fill('fulfilled'), ...Array(4).fill('rejected'), 'fulfilled'])
  })
})

describe('allsource.auth.token', () => {
  it('gives the connected user a session; the access token connects with the same principal and grant', async () => {
    const nc = await connectWith(userConnectOptions('acme', 'ann.lee', PW.ann))
    const t = ok(await call(nc, 'allsource.auth.token', {}))
    expect(t.accessToken).toMatch(/^eyJ/)
    expect(t.refreshToken).toMatch(/^asr_/)
    expect(Date.parse(t.expiresAt as string)).toBeGreaterThan(Date.now())
    const id = await plane.userPlane.tokens.verify(t.accessToken, new Date())
    expect(E.isRight(id) && id.right).toMatchObject({ tenant: 'acme', role: 'developer', subject: { kind: 'user', username: 'ann.lee' } })
    const opts = tokenConnectOptions('acme', t.accessToken as string)
    expect(opts.inboxPrefix).toBe('_INBOX.acme.u_ann~lee')
    const viaToken = await connectWith({ ...opts, name: 'via-token' })
    expect(E.isRight(await createAllSourceClient(viaToken).tryAppend('acme', 'order-2', [{ type: 'order.placed', payload: {} }]))).toBe(true)
    await expect(viaToken.request('allsource.append.globex.x', encodeMsgpack({ events: [{ type: 'x', payload: {} }] }), { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/)
    await expect(viaToken.request('allsource.admin.acme.users.list', new Uint8Array(), { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/)
    // Same identity, same principal: the same connection name, so the same grant (grantFor is a function of both).
    expect((await connectionUsers()).filter((u) => u === 'acme:u_ann~lee').length).toBeGreaterThanOrEqual(2)
    // A token connection can itself ask for tokens (for its own principal).
    const again = ok(await call(viaToken, 'allsource.auth.token'))
    expect(again.accessToken).not.toBe(t.accessToken)
  })

  it('gives an API key principal an access token (no refresh token) that connects as that key', async () => {
    const nc = await connectWith(tenantConnectOptions('acme', keys['acme-reader']!.key))
    const t = ok(await call(nc, 'allsource.auth.token', {}))
    expect(t.refreshToken).toBeUndefined()
    const opts = tokenConnectOptions('acme', t.accessToken as string)
    expect(opts.inboxPrefix).toBe(`_INBOX.acme.${keys['acme-reader']!.keyId}`)
    const viaToken = await connectWith(opts)
    expect((await createAllSourceClient(viaToken).read('acme', 'order-1')).events.length).toBeGreaterThan(0)
    expect(await call(nc, 'allsource.auth.token', { refreshToken: 'asr_x' })).toMatchObject({ error: { code: 'UNAUTHORIZED' } })
  })

  it('rotates a refresh token over NATS; the spent one is refused and revokes the family', async () => {
    const nc = await connectWith(userConnectOptions('acme', 'ann.lee', PW.ann))
    const first = ok(await call(nc, 'allsource.auth.token', {}))
    const second = ok(await call(nc, 'allsource.auth.token', { refreshToken: first.refreshToken }))
    expect(second.refreshToken).toMatch(/^asr_/)
    expect(second.refreshToken).not.toBe(first.refreshToken)
    expect(second.accessToken).toMatch(/^eyJ/)
    await connectWith(tokenConnectOptions('acme', second.accessToken as string))
    // Reuse of the spent token: refused, and the whole family dies (the current token too).
    expect(await call(nc, 'allsource.auth.token', { refreshToken: first.refreshToken })).toMatchObject({ error: { code: 'UNAUTHORIZED' } })
    expect(await call(nc, 'allsource.auth.token', { refreshToken: second.refreshToken })).toMatchObject({ error: { code: 'UNAUTHORIZED' } })
    for (const bad of ['asr_garbage', 'x', (second.refreshToken as string).slice(0, -1) + 'A']) {
      expect(await call(nc, 'allsource.auth.token', { refreshToken: bad })).toMatchObject({ error: { code: 'UNAUTHORIZED' } })
    }
    expect(await call(nc, 'allsource.auth.token', { refreshToken: 1 })).toMatchObject({ error: { code: 'BAD_REQUEST' } })
    expect(await call(nc, 'allsource.auth.token', { other: 1 })).toMatchObject({ error: { code: 'BAD_REQUEST' } })
  })

  it('a refresh token is exchanged only by its own user', async () => {
    const ann = await connectWith(userConnectOptions('acme', 'ann.lee', PW.ann))
    const bob = await connectWith(userConnectOptions('acme', 'bob', PW.bob))
    const annTokens = ok(await call(ann, 'allsource.auth.token', {}))
    expect(await call(bob, 'allsource.auth.token', { refreshToken: annTokens.refreshToken })).toMatchObject({ error: { code: 'UNAUTHORIZED' } })
    // Refused without spending it: ann can still rotate.
    ok(await call(ann, 'allsource.auth.token', { refreshToken: annTokens.refreshToken }))
  })

  it('reply injection: a request naming another principal\'s inbox answers that principal only; the attacker gets nothing', async () => {
    const victim = await connectWith(userConnectOptions('acme', 'ann.lee', PW.ann))
    const errors: string[] = []
    const attacker = await connectWith(userConnectOptions('acme', 'bob', PW.bob))
    ;(async () => {
      for await (const s of attacker.status()) if (s.type === 'error') errors.push(String((s as { error?: Error }).error?.message))
    })().catch(() => undefined)
    const gAttacker = await connectWith(userConnectOptions('globex', 'gus', PW.gus))
    const toVictim: Msg[] = []
    const toAttacker: Msg[] = []
    victim.subscribe('_INBOX.acme.u_ann~lee.injected', { callback: (_e, m) => void toVictim.push(m) })
    for (const s of ['_INBOX.acme.u_ann~lee.>', '_INBOX.>', '_INBOX.acme.>']) attacker.subscribe(s, { callback: (e, m) => void (e === null && toAttacker.push(m)) })
    attacker.subscribe('_INBOX.acme.u_bob.>', { callback: (_e, m) => void toAttacker.push(m) })
    await victim.flush()
    await attacker.flush()
    attacker.publish('allsource.auth.token', encodeMsgpack({}), { reply: '_INBOX.acme.u_ann~lee.injected' })
    gAttacker.publish('allsource.auth.token', encodeMsgpack({}), { reply: '_INBOX.acme.u_ann~lee.injected' })
    await attacker.flush()
    await gAttacker.flush()
    expect(await eventually(() => toVictim.length === 2)).toBe(true)
    // The tokens went to ann (whose they are), and are ann's.
    const t = decodeMsgpack(toVictim[0]!.data) as Reply
    const id = await plane.userPlane.tokens.verify(t.accessToken, new Date())
    expect(E.isRight(id) && id.right.subject).toEqual({ kind: 'user', username: 'ann.lee' as Username })
    expect(await eventually(() => errors.filter((e) => /Permissions Violation for Subscription/.test(e)).length >= 3)).toBe(true)
    await sleep(200)
    expect(toAttacker).toEqual([])
  })

  it('drops a request whose reply is not a tenant inbox; the operator is refused with a reason', async () => {
    const op = await connectWith({ token: operatorKey })
    const got: Msg[] = []
    for (const reply of ['not.an.inbox', '_INBOX.acme', '_INBOX.acme.nothing~principal.x', '_INBOX.a$b.u_bob.x', '_INBOX.acme.u_bob']) {
      op.subscribe(reply, { callback: (_e, m) => void got.push(m) })
      await op.flush()
      op.publish('allsource.auth.token', encodeMsgpack({}), { reply })
    }
    await op.flush()
    await sleep(300)
    expect(got).toEqual([])
    // Its own inbox (no tenant principal in it): dropped too, so the request times out.
    await expect(op.request('allsource.auth.token', encodeMsgpack({}), { timeout: 1_000 })).rejects.toThrow()
    const opInbox = '_INBOX.acme._op.x1'
    const m = new Promise<Msg>((resolve) => op.subscribe(opInbox, { max: 1, callback: (_e, msg) => resolve(msg) }))
    await op.flush()
    op.publish('allsource.auth.token', encodeMsgpack({}), { reply: opInbox })
    expect(decodeMsgpack((await m).data)).toMatchObject({ error: { code: 'FORBIDDEN' } })
  })
})

describe('refused access tokens', () => {
  let valid: string
  beforeAll(async () => {
    const nc = await connectWith(userConnectOptions('acme', 'ann.lee', PW.ann))
    valid = ok(await call(nc, 'allsource.auth.token', {})).accessToken as string
  })

  it('refuses expired, tampered, wrong-key, alg:none and garbage tokens', async () => {
    const acme = { tenant: 'acme' as TenantId, role: 'developer' as const, subject: { kind: 'user' as const, username: 'ann.lee' as Username } }
    const expired = (await plane.userPlane.tokens.sign(acme, new Date(Date.now() - 3_600_000))).token.reveal()
    await refused(tokenConnectOptions('acme', expired))
    const [h, p, sig] = valid.split('.') as [string, string, string]
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>
    const admin = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url')
    await refused({ token: `${h}.${admin}.${sig}`, inboxPrefix: '_INBOX.acme.u_ann~lee' })
    // One character well inside the signature (its last ones carry padding bits a decoder ignores).
    const at = sig.length - 10
    await refused({ token: `${h}.${p}.${sig.slice(0, at)}${sig[at] === 'A' ? 'B' : 'A'}${sig.slice(at + 1)}`, inboxPrefix: '_INBOX.acme.u_ann~lee' })
    // Another key ring (same issuer, audience and kid format): refused.
    const key = await createEd25519KeyGenerator().generate(new Date())
    const other = createJoseTokens({ keys: { current: async () => newKeyRing(key), reload: async () => newKeyRing(key) }, issuer: ACCESS_TOKEN_ISSUER, audience: ACCESS_TOKEN_AUDIENCE })
    await refused(tokenConnectOptions('acme', (await other.sign(acme, new Date())).token.reveal()))
    // The same kid as the server's, signed by another key.
    const { kid } = decodeProtectedHeader(valid)
    const forgedKid = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: kid as string }).sign(await importJWK({ ...key.publicJwk, d: key.privateKey.reveal() }, 'EdDSA'))
    await refused(tokenConnectOptions('acme', forgedKid))
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid })).toString('base64url')}.${p}.`
    await refused({ token: none, inboxPrefix: '_INBOX.acme.u_ann~lee' })
    await refused({ token: 'eyJ' })
    await refused({ token: 'eyJhbGciOiJFZERTQSJ9.e30.' })
    await refused({ token: `${valid}x` })
  })

  it('another tenant\'s token is its own tenant\'s identity: with this tenant\'s inbox it gets nothing', async () => {
    const gus = await connectWith(userConnectOptions('globex', 'gus', PW.gus))
    const g = ok(await call(gus, 'allsource.auth.token', {})).accessToken as string
    const nc = await connectWith({ token: g, inboxPrefix: '_INBOX.acme.u_ann~lee' })
    await expect(createAllSourceClient(nc, { timeoutMs: 1_500 }).read('acme', 'order-1')).rejects.toThrow()
    // And globex's "ann.lee" token is not acme's ann.lee.
    const gAnn = await connectWith(userConnectOptions('globex', 'ann.lee', 'globex ann password'))
    const ga = ok(await call(gAnn, 'allsource.auth.token', {})).accessToken as string
    const viaToken = await connectWith(tokenConnectOptions('globex', ga))
    await expect(viaToken.request('allsource.read.acme.order-1', new Uint8Array(), { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/)
  })

  it('a suspended tenant\'s tokens and passwords are refused until it is active again', async () => {
    const gus = await connectWith(userConnectOptions('globex', 'gus', PW.gus))
    const token = ok(await call(gus, 'allsource.auth.token', {})).accessToken as string
    await changeTenant(plane.tenants, 'globex' as TenantId, suspend)()
    await refused(userConnectOptions('globex', 'gus', PW.gus))
    await refused(tokenConnectOptions('globex', token))
    await changeTenant(plane.tenants, 'globex' as TenantId, activate)()
    await connectWith(userConnectOptions('globex', 'gus', PW.gus))
    await connectWith(tokenConnectOptions('globex', token))
  })
})

describe('allsource.admin.<tenant>.users.*', () => {
  it('creates, lists, invites and deletes; deleting disconnects the user and refuses its password, token and refresh token', async () => {
    const created = ok(await call(admin, 'allsource.admin.acme.users.create', { username: 'Carol', password: 'carol password 123', role: 'developer' }))
    expect(created).toMatchObject({ tenant: 'acme', username: 'carol', role: 'developer' })
    expect(JSON.stringify(created)).not.toMatch(/argon2|passwordHash|carol password/)
    expect(await call(admin, 'allsource.admin.acme.users.create', { username: 'carol', password: 'carol password 456', role: 'reader' })).toMatchObject({ error: { code: 'BAD_REQUEST' } })
    expect(await call(admin, 'allsource.admin.acme.users.create', { username: 'dave', password: 'short', role: 'reader' })).toMatchObject({ error: { code: 'VALIDATION_FAILED' } })
    expect(await call(admin, 'allsource.admin.acme.users.create', { username: 'dave', password: 'dave password 123', role: 'operator' })).toMatchObject({ error: { code: 'VALIDATION_FAILED' } })
    const invited = ok(await call(admin, 'allsource.admin.acme.users.invite', { username: 'erin', role: 'reader' }))
    expect(invited.inviteToken).toMatch(/^asi_/)
    await refused({ user: 'acme/erin', pass: 'anything at all' })
    const listed = ok(await call(admin, 'allsource.admin.acme.users.list'))
    expect((listed.users as { username: string }[]).map((u) => u.username)).toEqual(['ann.lee', 'bob', 'carol', 'erin'])
    expect(JSON.stringify(listed)).not.toMatch(/argon2|tokenHash/)

    const carol = await connectWith(userConnectOptions('acme', 'carol', 'carol password 123'))
    const t = ok(await call(carol, 'allsource.auth.token', {}))
    const viaToken = await connectWith(tokenConnectOptions('acme', t.accessToken as string))
    const deleted = ok(await call(admin, 'allsource.admin.acme.users.delete', { username: 'CAROL' }))
    expect(deleted.deletedAt).toBeDefined()
    expect(await eventually(() => carol.isClosed() && viaToken.isClosed())).toBe(true)
    await refused(userConnectOptions('acme', 'carol', 'carol password 123'))
    await refused(tokenConnectOptions('acme', t.accessToken as string))
    const bob = await connectWith(userConnectOptions('acme', 'bob', PW.bob))
    expect(bob.isClosed()).toBe(false)
    // Nothing issues tokens for carol any more, even asked for her inbox (by the operator, who may read it).
    const op = await connectWith({ token: operatorKey })
    const forCarol = new Promise<Msg>((resolve) => op.subscribe('_INBOX.acme.u_carol.x', { max: 1, callback: (_e, m) => resolve(m) }))
    await op.flush()
    op.publish('allsource.auth.token', encodeMsgpack({}), { reply: '_INBOX.acme.u_carol.x' })
    expect(decodeMsgpack((await forCarol).data)).toMatchObject({ error: { code: 'UNAUTHORIZED' } })
    // Her refresh token was revoked with her.
    const refreshForCarol = new Promise<Msg>((resolve) => op.subscribe('_INBOX.acme.u_carol.y', { max: 1, callback: (_e, m) => resolve(m) }))
    await op.flush()
    op.publish('allsource.auth.token', encodeMsgpack({ refreshToken: t.refreshToken }), { reply: '_INBOX.acme.u_carol.y' })
    expect(decodeMsgpack((await refreshForCarol).data)).toMatchObject({ error: { code: 'UNAUTHORIZED' } })
    expect(await call(admin, 'allsource.admin.acme.users.delete', { username: 'carol' })).toMatchObject({ deletedAt: deleted.deletedAt })
    expect(await call(admin, 'allsource.admin.acme.users.delete', { username: 'nobody' })).toMatchObject({ error: { code: 'NOT_FOUND' } })
    expect(await call(admin, 'allsource.admin.acme.users.create', { username: 'carol', password: 'carol password 789', role: 'reader' })).toMatchObject({ error: { code: 'BAD_REQUEST' } })
    const all = ok(await call(admin, 'allsource.admin.acme.users.list', { includeDeleted: true }))
    expect((all.users as { username: string }[]).map((u) => u.username)).toContain('carol')
    expect((ok(await call(admin, 'allsource.admin.acme.users.list')).users as { username: string }[]).map((u) => u.username)).not.toContain('carol')
  })

  it('is confined: a reader and another tenant\'s admin are refused by NATS; foreign replies are dropped', async () => {
    const reader = await connectWith(tenantConnectOptions('acme', keys['acme-reader']!.key))
    await expect(reader.request('allsource.admin.acme.users.list', new Uint8Array(), { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/)
    const gAdmin = await connectWith(tenantConnectOptions('globex', keys['globex-admin']!.key))
    await expect(gAdmin.request('allsource.admin.acme.users.list', new Uint8Array(), { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/)
    const op = await connectWith({ token: operatorKey })
    const got: Msg[] = []
    op.subscribe('_INBOX.globex.x.y', { callback: (_e, m) => void got.push(m) })
    await op.flush()
    op.publish('allsource.admin.acme.users.create', encodeMsgpack({ username: 'mallory', password: 'mallory password', role: 'admin' }), { reply: '_INBOX.globex.x.y' })
    await op.flush()
    await sleep(300)
    expect(got).toEqual([])
    expect((ok(await call(admin, 'allsource.admin.acme.users.list')).users as { username: string }[]).map((u) => u.username)).not.toContain('mallory')
  })
})

// ---- fuzz --------------------------------------------------------------------------------------

const anything = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(null, -1, 0, 1.5, '', true))
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 })
const rec = (fields: Record<string, fc.Arbitrary<unknown>>) =>
  fc.record(Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, opt(v)]))).map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)))
const username = fc.oneof(fc.constantFrom('ann.lee', 'bob', 'zed', 'Zed', 'z.z', 'a..b', '-x', '', 'x'.repeat(65), 'é'), anything)
const password = fc.oneof(fc.constantFrom('fuzz password 0001', 'short', 'zed', 'x'.repeat(1100)), anything)
const role = fc.oneof(fc.constantFrom('admin', 'developer', 'reader', 'service', 'operator'), anything)
const userBody = rec({ username, password, role, ttlMs: fc.oneof(fc.integer({ min: -1, max: 10_000_000 }), anything), includeDeleted: fc.oneof(fc.boolean(), anything), extra: anything })
const tokenBody = rec({ refreshToken: fc.oneof(fc.constantFrom('asr_AAAAAAAAAAAA_' + 'A'.repeat(43), 'asr_', 'eyJ'), anything), extra: anything })
const fuzzRequest = fc.oneof(
  fc
    .tuple(fc.oneof({ weight: 6, arbitrary: fc.constant('acme') }, { weight: 1, arbitrary: fc.constantFrom('globex', 'nobody') }), fc.constantFrom('create', 'invite', 'list', 'delete', 'purge', 'list.x'))
    .chain(([t, c]) => fc.record({ subject: fc.constant(`allsource.admin.${t}.users.${c}`), body: fc.oneof(userBody, anything, fc.constant(undefined)) })),
  fc.record({ subject: fc.constant('allsource.auth.token'), body: fc.oneof(tokenBody, anything, fc.constant(undefined)) }),
)

describe('users and token endpoints: fuzzed bodies', () => {
  it('every request gets one well-formed reply; a rejected one writes nothing; no reply holds a secret of another reply, a hash or a password', async () => {
    const jsm = await jetstreamManager(processorNc)
    const buckets = ['KV_ALLSOURCE_USERS', 'KV_ALLSOURCE_REFRESH_TOKENS']
    const lastSeqs = async () => Promise.all(buckets.map(async (b) => (await jsm.streams.info(b)).state.last_seq))
    const codes = new Set(Object.keys(statusOf))
    const issued: string[] = []
    let accepted = 0
    let rejected = 0
    await fc.assert(
      fc.asyncProperty(fuzzRequest, async ({ subject, body }) => {
        const before = await lastSeqs()
        let m: Msg
        try {
          m = await admin.request(subject, body === undefined ? new Uint8Array() : encodeMsgpack(body), { timeout: 5_000 })
        } catch (e) {
          // Only subjects outside the grant (another tenant's; two tokens after users) are refused, and by NATS.
          expect(subject).toMatch(/admin\.(globex|nobody)\.|\.users\.list\.x$/)
          expect(String(e)).toMatch(/Permissions Violation/)
          return
        }
        const text = td.decode(m.data)
        const reply = decodeMsgpack(m.data) as Reply
        if (reply.error !== undefined) {
          rejected++
          expect(codes.has(reply.error.code)).toBe(true)
          expect(m.headers?.get('Nats-Service-Error-Code')).toBe(String(statusOf[reply.error.code]))
          expect(reply.error.code).not.toBe('INTERNAL')
          expect(await lastSeqs()).toEqual(before)
        } else {
          accepted++
        }
        const json = JSON.stringify(reply)
        expect(json).not.toMatch(/argon2|passwordHash|tokenHash|fuzz password/)
        for (const s of issued) expect(text).not.toContain(s)
        for (const k of ['accessToken', 'refreshToken', 'inviteToken']) if (typeof reply[k] === 'string') issued.push(reply[k] as string)
      }),
      { numRuns: fuzzRuns(80), ...fuzzSeed(7) },
    )
    expect(accepted).toBeGreaterThan(5)
    expect(rejected).toBeGreaterThan(5)
  }, fuzzTimeout(80, 400, 120_000))
})
