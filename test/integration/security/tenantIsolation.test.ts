/**
 * Tenants connect through the real auth callout to a real nats-server in auth mode and try to
 * cross into another tenant (issue 11, "Bad input and attack"). Everything here is refused by
 * NATS or dropped by the processor, and nothing of the other tenant's data arrives.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect, headers as natsHeaders, type Msg, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tenantConnectOptions } from '../../../src/adapters/nats/auth/natsGrants.js'
import { createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { encodeMsgpack } from '../../../src/adapters/codec/msgpack.js'
import { subscribeProjectionTopic, type TopicChange } from '../../../src/adapters/nats/projections/topicSubscription.js'
import { systemClock } from '../../../src/adapters/system/systemClock.js'
import { revokeKey } from '../../../src/application/auth/apiKeys.js'
import { changeTenant } from '../../../src/application/tenants/changeTenant.js'
import type { ApiKeyId } from '../../../src/domain/security/apiKey.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'
import { newTenant, suspend, activate, type IsoTimestamp, type QuotaOverrides } from '../../../src/domain/tenants/tenant.js'
import type { AllSource } from '../../../src/main/allSource.js'
import type { AuthPlane } from '../../../src/main/auth/authPlane.js'
import { eventCounter } from '../../../src/domain/projections/builtins.js'
import type { ProjectionDefinition } from '../../../src/domain/projections/projection.js'
import type { AuthTestServer } from '../../support/authServer.js'
import { type AuthProcessor, startAuthProcessor } from '../../support/authProcessor.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const te = new TextEncoder()

let server: AuthTestServer
let processorNc: NatsConnection
let app: AllSource
let plane: AuthPlane
let dataDir: string
let ap: AuthProcessor
const keys: Record<string, { keyId: string; key: string }> = {}
const open: NatsConnection[] = []

/** A tenant connection with the key named `who` (`acme-dev`, …); its permission errors are collected. */
const connectAs = async (who: string, tenant: string) => {
  const k = keys[who]
  if (k === undefined) throw new Error(who)
  const nc = await connect({ servers: server.url, ...tenantConnectOptions(tenant, k.key), reconnect: false })
  open.push(nc)
  const errors: string[] = []
  ;(async () => {
    for await (const s of nc.status()) if (s.type === 'error') errors.push(String((s as { error?: Error }).error?.message))
  })().catch(() => undefined)
  return { nc, errors }
}

/** Waits until `pred` holds or 3 s pass (event arrival, not a timing assertion). */
const eventually = async (pred: () => boolean): Promise<boolean> => {
  for (let i = 0; i < 60 && !pred(); i++) await sleep(50)
  return pred()
}

const globexEvents = async (): Promise<number> => {
  const r = await app.query('globex', {})
  if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
  return r.right.events.length
}

beforeAll(async () => {
  ap = await startAuthProcessor({ dataDirPrefix: 'allsource-authdata-' })
  ;({ server, processorNc, app, plane, dataDir } = ap)
  await app.startProjections([eventCounter] as ProjectionDefinition<unknown>[])
  const now = new Date().toISOString() as IsoTimestamp
  // More connections than the free tier's 5 (the connections quota has its own test).
  for (const t of ['acme', 'globex']) await plane.tenants.create(newTenant(t as TenantId, now, { quotas: { connections: null } as QuotaOverrides }))()
  Object.assign(keys, await ap.createKeys([
    ['acme-dev', 'acme', 'developer'],
    ['acme-reader', 'acme', 'reader'],
    ['acme-revoked', 'acme', 'developer'],
    ['globex-dev', 'globex', 'developer'],
  ] as const))
  await revokeKey({ store: plane.keys, hasher: plane.hasher, clock: systemClock })('acme' as TenantId, keys['acme-revoked']!.keyId as ApiKeyId)
  const seed = await app.append('globex', 'secret-1', [{ type: 'globex.secret', payload: { plan: 'world domination' } }])
  if (E.isLeft(seed)) throw new Error(JSON.stringify(seed.left))
}, 60_000)

afterAll(() => ap?.stop(open))

describe('a tenant connection', () => {
  it('appends, reads and queries its own tenant', async () => {
    const { nc } = await connectAs('acme-dev', 'acme')
    const client = createAllSourceClient(nc)
    const r = await client.tryAppend('acme', 'order-1', [{ type: 'order.placed', payload: { total: 1 } }])
    expect(E.isRight(r)).toBe(true)
    const page = await client.read('acme', 'order-1')
    expect(page.events).toHaveLength(1)
  })

  it('cannot request, publish or ingest on another tenant: NATS refuses, nothing is written', async () => {
    const { nc, errors } = await connectAs('acme-dev', 'acme')
    await expect(nc.request('allsource.append.globex.secret-1', encodeMsgpack({ events: [{ type: 'x', payload: {} }] }), { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/)
    nc.publish('allsource.ingest.globex.secret-1', te.encode('{"type":"x","payload":{}}'))
    nc.publish('allsource.events.globex.secret-1', te.encode('forged'))
    nc.publish('allsource.projections.globex.event-counter.x', te.encode('forged'))
    await expect(nc.request('allsource.read.globex.secret-1', new Uint8Array(), { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/)
    await expect(nc.request('allsource.query.globex', new Uint8Array(), { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/)
    await expect(nc.request('allsource.projection.globex.event-counter', new Uint8Array(), { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/)
    await expect(nc.request('allsource.admin.tenants.list', new Uint8Array(), { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/)
    expect(await eventually(() => errors.filter((e) => /Permissions Violation for Publish/.test(e)).length >= 3)).toBe(true)
    await sleep(200)
    expect(await globexEvents()).toBe(1)
  })

  it('cannot subscribe to another tenant, to every inbox, or to the log', async () => {
    const { nc, errors } = await connectAs('acme-dev', 'acme')
    const got: Msg[] = []
    for (const s of ['allsource.projections.globex.>', '_INBOX.>', `_INBOX.globex.${keys['globex-dev']!.keyId}.>`, 'allsource.events.>', 'allsource.append.>', '>', '$KV.>', '$JS.API.>'])
      nc.subscribe(s, { callback: (e, m) => void (e === null && got.push(m)) })
    await nc.flush()
    expect(await eventually(() => errors.filter((e) => /Permissions Violation for Subscription/.test(e)).length >= 8)).toBe(true)
    // globex works meanwhile: nothing of it reaches acme.
    const globex = createAllSourceClient((await connectAs('globex-dev', 'globex')).nc)
    await globex.append('globex', 'secret-2', [{ type: 'globex.secret', payload: {} }])
    await sleep(300)
    expect(got).toEqual([])
  })

  it('cannot aim the processor\'s reply at another tenant: the request is dropped unanswered and not served', async () => {
    const { nc } = await connectAs('acme-dev', 'acme')
    const victim = (await connectAs('globex-dev', 'globex')).nc
    const received: Msg[] = []
    const inbox = `_INBOX.globex.${keys['globex-dev']!.keyId}.injected`
    victim.subscribe(inbox, { callback: (_e, m) => void received.push(m) })
    victim.subscribe('allsource.projections.globex.>', { callback: (_e, m) => void (m.subject.endsWith('injected') && received.push(m)) })
    await victim.flush()
    const body = encodeMsgpack({ events: [{ type: 'order.placed', payload: {} }] })
    nc.publish('allsource.append.acme.injection', body, { reply: inbox })
    nc.publish('allsource.append.acme.injection', body, { reply: 'allsource.projections.globex.event-counter.injected' })
    nc.publish('allsource.read.acme.order-1', new Uint8Array(), { reply: inbox })
    await nc.flush()
    await sleep(500)
    expect(received).toEqual([])
    const r = await app.read('acme', 'injection')
    expect(E.isRight(r) && r.right.events.length).toBe(0)
  })

  it('runs analytics on its own tenant only: another tenant\'s analytics subject is refused by NATS, a foreign reply is dropped', async () => {
    const { nc, errors } = await connectAs('acme-reader', 'acme')
    const client = createAllSourceClient(nc)
    // A reader may query, so it may run analytics, and sees only its own tenant's events.
    const own = await client.analytics('acme', 'summary', {})
    expect(JSON.stringify(own)).not.toContain('globex')
    for (const kind of ['summary', 'frequency', 'funnel']) {
      await expect(nc.request(`allsource.analytics.globex.${kind}`, encodeMsgpack({}), { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/)
    }
    // The client passes the refusal on as the other methods do (a permissions violation, not a timeout).
    await expect(client.tryAnalytics('globex', 'summary', {})).rejects.toThrow(/Permissions Violation/)
    expect(await eventually(() => errors.filter((e) => /Permissions Violation for Publish to "allsource.analytics.globex/.test(e)).length >= 4)).toBe(true)
    // Its own analytics subject with a reply aimed at globex's inbox is dropped unanswered.
    const victim = (await connectAs('globex-dev', 'globex')).nc
    const received: Msg[] = []
    const inbox = `_INBOX.globex.${keys['globex-dev']!.keyId}.analytics`
    victim.subscribe(inbox, { callback: (_e, m) => void received.push(m) })
    await victim.flush()
    nc.publish('allsource.analytics.acme.summary', encodeMsgpack({}), { reply: inbox })
    await nc.flush()
    await sleep(500)
    expect(received).toEqual([])
  })

  it('replays its own events through a consumer filtered in the create subject, and no one else\'s', async () => {
    const { nc, errors } = await connectAs('acme-dev', 'acme')
    const js = jetstream(nc)
    const jsm = await jetstreamManager(nc, { checkAPI: false })
    const name = `acme_${Math.random().toString(36).slice(2)}`
    await jsm.consumers.add('ALLSOURCE_EVENTS', { name, filter_subject: 'allsource.events.acme.>', ack_policy: 'none' as never, inactive_threshold: 30_000_000_000 })
    const c = await js.consumers.get('ALLSOURCE_EVENTS', name)
    const m = await c.next({ expires: 2_000 })
    expect(m?.subject.startsWith('allsource.events.acme.')).toBe(true)
    // Another tenant's filter, no filter, the legacy durable create, listing and stream info: refused.
    await expect(jsm.consumers.add('ALLSOURCE_EVENTS', { name: `${name}x`, filter_subject: 'allsource.events.globex.>', ack_policy: 'none' as never })).rejects.toThrow()
    await expect(jsm.consumers.add('ALLSOURCE_EVENTS', { name: `${name}y`, ack_policy: 'none' as never })).rejects.toThrow()
    // A durable is fine when its filter is in the subject (nats.js uses that form); the legacy form, whose filter is only in the body, is refused.
    await expect(nc.request(`$JS.API.CONSUMER.DURABLE.CREATE.ALLSOURCE_EVENTS.${name}z`, te.encode(JSON.stringify({ stream_name: 'ALLSOURCE_EVENTS', config: { durable_name: `${name}z`, filter_subject: 'allsource.events.globex.>' } })), { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/)
    await expect(jsm.streams.info('ALLSOURCE_EVENTS')).rejects.toThrow()
    await expect(jsm.streams.names().next()).rejects.toThrow()
    await expect(jsm.consumers.list('ALLSOURCE_EVENTS').next()).rejects.toThrow()
    await expect(nc.request('$JS.API.STREAM.PURGE.ALLSOURCE_EVENTS', new Uint8Array(), { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/)
    await expect(nc.request('$JS.API.DIRECT.GET.ALLSOURCE_EVENTS', te.encode('{"seq":1}'), { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/)
    expect(errors.length).toBeGreaterThan(0)
    const p = processorNc
    const names: string[] = []
    for await (const ci of (await jetstreamManager(p)).consumers.list('ALLSOURCE_EVENTS')) names.push(ci.name)
    expect(names.filter((n) => n.startsWith(name) && n !== name)).toEqual([])
  })

  it('cannot touch the processor\'s projection consumers (a consumer name is a bearer capability)', async () => {
    const { nc } = await connectAs('acme-dev', 'acme')
    for (const verb of ['INFO', 'MSG.NEXT', 'DELETE']) {
      await expect(nc.request(`$JS.API.CONSUMER.${verb}.ALLSOURCE_EVENTS.proj_event-counter_1`, new Uint8Array(), { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/)
    }
    await expect(nc.request('$JS.API.CONSUMER.CREATE.ALLSOURCE_EVENTS.proj_event-counter_1.allsource.events.acme.>', te.encode('{}'), { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/)
    const info = await (await jetstreamManager(processorNc)).consumers.info('ALLSOURCE_EVENTS', 'proj_event-counter_1')
    expect(info.config.filter_subject ?? '').not.toContain('acme')
  })

  it('cannot feed another tenant\'s topic subscribers through a push consumer (the subscriber drops what the processor did not publish)', async () => {
    const { nc } = await connectAs('acme-dev', 'acme')
    const victim = (await connectAs('globex-dev', 'globex')).nc
    const changes: TopicChange[] = []
    const raw: Msg[] = []
    const topic = subscribeProjectionTopic(victim, 'globex', 'event-counter', (c) => void changes.push(c))
    victim.subscribe('allsource.projections.globex.event-counter.>', { callback: (e, m) => void (e === null && raw.push(m)) })
    // A push consumer starts delivering once its deliver subject has interest; here the victim's
    // wildcard subscription did not wake it within seconds, a literal one does at once. The test
    // adds one (on the processor's connection) so the forged deliveries surely happen.
    const literal = processorNc.subscribe('allsource.projections.globex.event-counter.forged')
    await processorNc.flush()
    await victim.flush()
    await createAllSourceClient(nc).append('acme', 'payload', [{ type: 'forged.change', payload: { tenant: 'globex' } }])
    const jsm = await jetstreamManager(nc, { checkAPI: false })
    const name = `push_${Math.random().toString(36).slice(2)}`
    // The server accepts it (nats-server#8274: the deliver subject is not checked), and delivers.
    await jsm.consumers.add('ALLSOURCE_EVENTS', { name, filter_subject: 'allsource.events.acme.>', deliver_subject: 'allsource.projections.globex.event-counter.forged', ack_policy: 'none' as never })
    expect(await eventually(() => raw.length > 0)).toBe(true)
    expect(raw.every((m) => m.subject.startsWith('allsource.events.acme.'))).toBe(true)
    // A real change of globex still arrives; the forged deliveries do not.
    await createAllSourceClient(victim).append('globex', 'counted', [{ type: 'globex.secret', payload: {} }])
    expect(await eventually(() => changes.length > 0)).toBe(true)
    expect(changes.every((c) => c.tenant === 'globex')).toBe(true)
    expect(topic.dropped()).toBeGreaterThan(0)
    await jsm.consumers.delete('ALLSOURCE_EVENTS', name)
    literal.unsubscribe()
  })

  it('manages its own pipelines only: another tenant and the reader role are refused by NATS, and a pipeline sees only its tenant', async () => {
    const json = { 'Content-Type': 'application/json' }
    const hdr = () => {
      const h = natsHeaders()
      for (const [k, v] of Object.entries(json)) h.set(k, v)
      return h
    }
    const req = async (nc: NatsConnection, subject: string, body: unknown) =>
      JSON.parse(new TextDecoder().decode((await nc.request(subject, te.encode(JSON.stringify(body)), { timeout: 5_000, headers: hdr() })).data)) as Record<string, unknown>
    const dev = (await connectAs('acme-dev', 'acme')).nc
    const def = { name: 'all-types', stages: [{ reduce: { key: 'type', aggregates: { n: { count: true } } } }], sink: { readModel: {} } }
    expect(await req(dev, 'allsource.admin.acme.pipelines.create', def)).toMatchObject({ name: 'all-types', projection: 'acme--all-types' })
    const mine = await createAllSourceClient(dev).append('acme', 'order-9', [{ type: 'acme.mine', payload: {} }])
    const read = (key: string) => req(dev, 'allsource.projection.acme.acme--all-types', { key, minOffset: mine.offset, timeoutMs: 30_000 })
    // `create` answers once the definition is stored; every processor then starts the pipeline from
    // its watch of the bucket, so for a moment its projection may not exist yet ("no projection").
    await expect.poll(async () => ((await read('acme.mine')).error as { message?: string } | undefined)?.message ?? 'found', { timeout: 30_000 }).not.toMatch(/no projection/)
    expect(await read('acme.mine')).toMatchObject({ state: { value: { n: 1 } } })
    expect(await read('globex.secret')).toMatchObject({ error: { code: 'NOT_FOUND' } })

    const globex = (await connectAs('globex-dev', 'globex')).nc
    for (const cmd of ['list', 'get', 'pause', 'delete', 'create'])
      await expect(globex.request(`allsource.admin.acme.pipelines.${cmd}`, te.encode(JSON.stringify({ name: 'all-types' })), { timeout: 2_000, headers: hdr() })).rejects.toThrow(/Permissions Violation/)
    const reader = (await connectAs('acme-reader', 'acme')).nc
    await expect(reader.request('allsource.admin.acme.pipelines.create', te.encode(JSON.stringify(def)), { timeout: 2_000, headers: hdr() })).rejects.toThrow(/Permissions Violation/)
    // globex's own list does not show acme's pipeline.
    expect(await req(globex, 'allsource.admin.globex.pipelines.list', {})).toEqual({ pipelines: [] })
    expect(await req(dev, 'allsource.admin.acme.pipelines.delete', { name: 'all-types' })).toEqual({ name: 'all-types', deleted: true })
  })

  it('a reader may read but not append', async () => {
    const { nc } = await connectAs('acme-reader', 'acme')
    const client = createAllSourceClient(nc)
    expect((await client.read('acme', 'order-1')).events.length).toBeGreaterThan(0)
    await expect(nc.request('allsource.append.acme.order-1', encodeMsgpack({ events: [{ type: 'x', payload: {} }] }), { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/)
  })
})

describe('credentials', () => {
  const refused = (opts: Record<string, unknown>) => expect(connect({ servers: server.url, reconnect: false, ...opts })).rejects.toThrow(/Authorization Violation/)

  it('refuses no token, garbage, a wrong secret, a revoked key, and a key of another tenant used as its own', async () => {
    await refused({})
    await refused({ token: 'garbage' })
    await refused({ token: 'as_' + 'x'.repeat(63) })
    const k = keys['acme-dev']!.key
    const wrong = k.slice(0, 20) + (k[20] === 'A' ? 'B' : 'A') + k.slice(21)
    await refused({ token: wrong })
    await refused({ token: keys['acme-revoked']!.key })
    await refused({ user: 'acme/ann', pass: 'nope' })
    // globex's key works, but only with globex's inbox: acme's inbox prefix gets no replies.
    const nc = await connect({ servers: server.url, reconnect: false, token: keys['globex-dev']!.key, inboxPrefix: `_INBOX.acme.${keys['acme-dev']!.keyId}` })
    open.push(nc)
    await expect(createAllSourceClient(nc, { timeoutMs: 1_500 }).read('acme', 'order-1')).rejects.toThrow()
  })

  it('suspending a tenant disconnects its live connections, refuses new ones, and its requests answer TENANT_SUSPENDED until it is active again', async () => {
    const { nc } = await connectAs('acme-dev', 'acme')
    const { nc: other } = await connectAs('globex-dev', 'globex')
    const s = await changeTenant(plane.tenants, 'acme' as TenantId, suspend)()
    expect(E.isRight(s)).toBe(true)
    expect(await eventually(() => nc.isClosed())).toBe(true)
    expect(other.isClosed()).toBe(false)
    await refused({ ...tenantConnectOptions('acme', keys['acme-dev']!.key) })
    // The request path admits from the processor's in-memory directory, which the KV watch updates.
    let code: string | undefined
    for (let i = 0; i < 40 && code !== 'TENANT_SUSPENDED'; i++) {
      const a = await plane.serviceAuth.admit('acme')
      code = E.isLeft(a) ? (a.left._tag === 'TenantSuspended' ? 'TENANT_SUSPENDED' : a.left._tag) : 'OK'
      if (code !== 'TENANT_SUSPENDED') await sleep(50)
    }
    expect(code).toBe('TENANT_SUSPENDED')
    await changeTenant(plane.tenants, 'acme' as TenantId, activate)()
    expect(await eventually(() => true)).toBe(true)
    const again = await connect({ servers: server.url, reconnect: false, ...tenantConnectOptions('acme', keys['acme-dev']!.key) })
    open.push(again)
  })

  it('the processor keeps serving while the callout is down', async () => {
    const { nc } = await connectAs('acme-dev', 'acme')
    await plane.callout.stop()
    const r = await createAllSourceClient(nc).tryAppend('acme', 'order-9', [{ type: 'order.placed', payload: {} }])
    expect(E.isRight(r)).toBe(true)
    const p2 = await server.processor()
    open.push(p2)
    expect(p2.isClosed()).toBe(false)
  })
})
