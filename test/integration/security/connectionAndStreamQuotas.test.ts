/**
 * The `connections` quota (enforced by the auth callout from the servers' connect and disconnect
 * events), the `streams` quota (on the append path, counted from the event log) and the
 * `storedBytes` quota (on the append path, counted in memory, seeded from the log), issue 11
 * item 1, against a real nats-server with the real auth callout, processor and plane.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, headers, type NatsConnection, nkeyAuthenticator } from '@nats-io/transport-node'
import { validateAuditQuery } from '../../../src/domain/security/auditQuery.js'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createConnectionCounter } from '../../../src/adapters/nats/auth/connectionCounter.js'
import { tenantConnectOptions } from '../../../src/adapters/nats/auth/natsGrants.js'
import { type AllSourceError, createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { createJetStreamStreamCatalog } from '../../../src/adapters/nats/tenants/jetStreamStreamCatalog.js'
import { systemClock } from '../../../src/adapters/system/systemClock.js'
import { jetstreamManager } from '@nats-io/jetstream'
import { decodeMsgpack, encodeMsgpack } from '../../../src/adapters/codec/msgpack.js'
import { logCountsOf } from '../../../src/adapters/nats/tenants/logUsage.js'
import { changeTenant } from '../../../src/application/tenants/changeTenant.js'
import { changeQuotas } from '../../../src/domain/tenants/tenant.js'
import { createKey } from '../../../src/application/auth/apiKeys.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'
import { type IsoTimestamp, newTenant, type QuotaOverrides } from '../../../src/domain/tenants/tenant.js'
import { type AllSource, createAllSource } from '../../../src/main/allSource.js'
import { APP_ACCOUNT } from '../../../src/main/auth/authMaterial.js'
import { type AuthPlane, startAuthPlane } from '../../../src/main/auth/authPlane.js'
import { operatorKeyFile } from '../../../src/main/auth/operatorKey.js'
import { loadConfig } from '../../../src/main/config.js'
import { type AuthTestServer, startAuthServer } from '../../support/authServer.js'
import { cleanUp } from '../../support/cleanUp.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const te = new TextEncoder()

let server: AuthTestServer
let processorNc: NatsConnection
let app: AllSource
let plane: AuthPlane
let dataDir: string
let operatorKey: string
const logs: string[] = []
const keys: Record<string, string> = {}
const open: NatsConnection[] = []

const tenant = (t: string, quotas: Record<string, number | null>) => plane.tenants.create(newTenant(t as TenantId, new Date().toISOString() as IsoTimestamp, { quotas: quotas as QuotaOverrides }))()
const connectAs = async (who: string, t: string): Promise<NatsConnection> => {
  const nc = await connect({ servers: server.url, ...tenantConnectOptions(t, keys[who] as string), reconnect: false })
  open.push(nc)
  return nc
}
/** The storedBytes quota each tenant had at its last admission by the directory (for waiting on a quota change). */
const seen: Record<string, number | null> = {}
/** Polls until `pred` holds (the server's events are asynchronous); fails the test if it never does. */
const until = async (pred: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !pred(); i++) {
    await sleep(25)
    for (const t of ['heavy', 'heavy2']) {
      const r = await plane.directory.admit(t)
      if (E.isRight(r)) seen[t] = r.right.quotas.storedBytes
    }
  }
  expect(pred()).toBe(true)
}

beforeAll(async () => {
  server = await startAuthServer()
  processorNc = await server.processor()
  dataDir = await mkdtemp(join(tmpdir(), 'allsource-quotadata-'))
  const config = { ...loadConfig({}), dataDir, prefix: 'allsource' }
  plane = await startAuthPlane(processorNc, { material: server.material, url: server.url }, config, (m) => logs.push(m))
  operatorKey = (await readFile(operatorKeyFile(dataDir), 'utf8')).trim()
  app = await createAllSource({ nc: processorNc, auth: plane.serviceAuth, snapshotEvery: 0, warn: () => undefined })
  await app.serve()
  await tenant('capped', { connections: 2 })
  await tenant('roomy', { connections: null })
  await tenant('few', { streams: 2, appendsPerSecond: null })
  await tenant('heavy', { storedBytes: 6_000, appendsPerSecond: null })
  await tenant('subs', { projections: 2 })
  await tenant('heavy2', { storedBytes: 2_500, appendsPerSecond: null })
  await tenant('subs2', { projections: 0 })
  const deps = { store: plane.keys, hasher: plane.hasher, clock: systemClock }
  for (const [who, t] of [
    ['capped', 'capped'],
    ['roomy', 'roomy'],
    ['few', 'few'],
    ['heavy', 'heavy'],
    ['heavy-admin', 'heavy'],
    ['heavy2', 'heavy2'],
  ] as const) {
    const created = await createKey(deps)(t as TenantId, { role: who.endsWith('-admin') ? 'admin' : 'developer' })
    if (E.isLeft(created)) throw new Error('key')
    keys[who] = created.right.key.reveal()
  }
}, 60_000)

afterAll(() =>
  cleanUp(
    ...open.map((nc) => () => nc.close()),
    () => app?.close(),
    () => plane?.stop(),
    () => processorNc?.close(),
    () => server?.stop(),
    () => (dataDir !== undefined ? rm(dataDir, { recursive: true, force: true }) : undefined),
  ),
)

describe('connections quota', () => {
  it('connections 2: a third connection is refused QUOTA_EXCEEDED while two are open, and admitted again after one closes', async () => {
    const first = await connectAs('capped', 'capped')
    await connectAs('capped', 'capped')
    await until(() => plane.connections.live('capped') === 2)
    await expect(connectAs('capped', 'capped')).rejects.toThrow(/Authorization Violation/)
    expect(logs.some((l) => l.includes('QUOTA_EXCEEDED (connections quota of 2)'))).toBe(true)

    // Other tenants and the operator are unaffected while capped is at its quota.
    for (let i = 0; i < 3; i++) await connectAs('roomy', 'roomy')
    await until(() => plane.connections.live('roomy') === 3)
    for (let i = 0; i < 3; i++) open.push(await connect({ servers: server.url, token: operatorKey, reconnect: false }))
    expect(plane.connections.live('operator')).toBe(0)
    await expect(connectAs('capped', 'capped')).rejects.toThrow(/Authorization Violation/)

    await first.close()
    await until(() => plane.connections.live('capped') === 1)
    const again = await connectAs('capped', 'capped')
    await again.flush()
    await until(() => plane.connections.live('capped') === 2)
    await expect(connectAs('capped', 'capped')).rejects.toThrow(/Authorization Violation/)
  })

  it('a counter started now is seeded by the CONNZ listing: it counts the connections already open', async () => {
    const sys = await connect({ servers: server.url, authenticator: nkeyAuthenticator(te.encode(server.material.systemSeed)) })
    try {
      const fresh = await createConnectionCounter(sys, { account: APP_ACCOUNT, skip: (u) => u.startsWith('operator:') })
      expect(fresh.live('capped')).toBe(plane.connections.live('capped'))
      expect(fresh.live('roomy')).toBe(3)
      fresh.stop()
    } finally {
      await sys.close()
    }
  })
})

describe('streams quota', () => {
  it('streams 2: appending to a third stream is QUOTA_EXCEEDED with the limit; the two streams keep taking appends', async () => {
    const dev = createAllSourceClient(await connectAs('few', 'few'))
    const ev = [{ type: 'x.y', payload: {} }]
    expect(E.isRight(await dev.tryAppend('few', 's-1', ev))).toBe(true)
    expect(E.isRight(await dev.tryAppend('few', 's-2', ev, { expectedVersion: 'no_stream' }))).toBe(true)
    for (const expectedVersion of ['any', 'no_stream', 0] as const) {
      const third = await dev.tryAppend('few', 's-3', ev, { expectedVersion })
      expect(E.isLeft(third) && third.left.code).toBe('QUOTA_EXCEEDED')
      if (E.isLeft(third)) expect(third.left.details).toMatchObject({ quota: 'streams', limit: 2 })
    }
    expect(E.isRight(await dev.tryAppend('few', 's-1', ev))).toBe(true)
    expect(E.isRight(await dev.tryAppend('few', 's-2', ev, { expectedVersion: 1 }))).toBe(true)
    expect(E.isRight(await dev.tryAppend('few', 's-2', ev, { expectedVersion: 'exists' }))).toBe(true)
    // The count the quota reads from the log is exact, and no refused append started a stream.
    expect(await createJetStreamStreamCatalog(processorNc, { prefix: 'allsource' }).count('few' as TenantId)).toBe(2)
  })
})

describe('storedBytes quota', () => {
  it('storedBytes 6000: the append that would pass it is QUOTA_EXCEEDED with limit, used and "does not reset"; stats shows the count; a raised quota lets appends through', async () => {
    const dev = createAllSourceClient(await connectAs('heavy', 'heavy'))
    const admin = await connectAs('heavy-admin', 'heavy')
    const big = [{ type: 'blob.stored', payload: { data: 'x'.repeat(1_000) } }]
    let stored = 0
    let refused: E.Left<AllSourceError> | undefined
    for (let i = 0; i < 10 && refused === undefined; i++) {
      const r = await dev.tryAppend('heavy', `blob-${i % 2}`, big)
      if (E.isRight(r)) stored++
      else refused = r as E.Left<AllSourceError>
    }
    expect(stored).toBeGreaterThanOrEqual(3) // ~1.35 KB each under 6000 bytes
    expect(refused?.left.code).toBe('QUOTA_EXCEEDED')
    const details = refused?.left.details ?? {}
    expect(details).toMatchObject({ quota: 'storedBytes', limit: 6_000 })
    expect(details.used).toBeGreaterThan(6_000 - 2_000)
    expect(details.used).toBeLessThanOrEqual(6_000)
    expect(refused?.left.message).toMatch(/does not reset by itself: delete data or raise the quota/)
    // The log holds exactly the stored commits: nothing of the refused append.
    const counts = await logCountsOf(await jetstreamManager(processorNc), 'allsource', 'heavy')
    expect(counts.events).toBe(stored)
    // What a processor starting now would seed from: the log's estimate for the tenant (commits × the log's mean size).
    expect(counts.bytes).toBeGreaterThan(0)

    const m = await admin.request('allsource.admin.heavy.stats', encodeMsgpack({}), { timeout: 5_000 })
    const stats = decodeMsgpack(m.data) as { usage: { storedBytes: { used: number; limit: number } } }
    expect(stats.usage.storedBytes).toEqual({ used: details.used, limit: 6_000 })

    const raised = await changeTenant(plane.tenants, 'heavy' as TenantId, (t) => changeQuotas(t, { quotas: { storedBytes: 100_000 } as QuotaOverrides }))()
    expect(E.isRight(raised)).toBe(true)
    await until(() => seen.heavy === 100_000)
    expect(E.isRight(await dev.tryAppend('heavy', 'blob-0', big))).toBe(true)
  })
})

describe('storedBytes quota on ingest', () => {
  it('a message over the quota is neither appended nor dead-lettered: it waits in place (audited request.denied) and is appended once the quota is raised', async () => {
    const nc = await connectAs('heavy2', 'heavy2')
    const ingest = await app.startIngest({ lease: false })
    try {
      const h = headers()
      h.set('Content-Type', 'application/json')
      const body = (n: number) => te.encode(JSON.stringify({ type: 'blob.stored', payload: { n, data: 'y'.repeat(1_000) } }))
      nc.publish('allsource.ingest.heavy2.blob-1', body(1), { headers: h })
      nc.publish('allsource.ingest.heavy2.blob-1', body(2), { headers: h })
      const q = validateAuditQuery({ action: 'request.denied' })
      if (E.isLeft(q)) throw new Error('query')
      const refusals = async () => {
        await plane.audit.flush(10_000)
        const page = await plane.audit.query({ _tag: 'Tenant', tenant: 'heavy2' as TenantId }, q.right)()
        return E.isRight(page) ? page.right.entries : []
      }
      let entries: Awaited<ReturnType<typeof refusals>> = []
      for (let i = 0; i < 200 && entries.length === 0; i++) {
        await sleep(25)
        entries = await refusals()
      }
      expect(entries[0]).toMatchObject({ reason: 'QUOTA_EXCEEDED', details: { operation: 'ingest', quota: 'storedBytes', limit: 2_500 } })
      expect({ appended: ingest.appended, deadLettered: ingest.deadLettered }).toEqual({ appended: 1, deadLettered: 0 })
      const raised = await changeTenant(plane.tenants, 'heavy2' as TenantId, (t) => changeQuotas(t, { quotas: { storedBytes: 100_000 } as QuotaOverrides }))()
      expect(E.isRight(raised)).toBe(true)
      for (let i = 0; i < 400 && ingest.appended < 2; i++) await sleep(25)
      expect({ appended: ingest.appended, deadLettered: ingest.deadLettered }).toEqual({ appended: 2, deadLettered: 0 })
      const page = await app.read('heavy2', 'blob-1')
      expect(E.isRight(page) && page.right.events.map((e) => (e.payload as { n: number }).n)).toEqual([1, 2])
    } finally {
      await ingest.stop()
    }
  }, 30_000)
})

describe('projections quota (durable subscriptions)', () => {
  it('projections 2: a third subscription is QUOTA_EXCEEDED with limit and used; deleting one frees a place; other tenants are unaffected', async () => {
    const subs = app.subscriptions
    expect(E.isRight(await subs.create('billing', { tenant: 'subs', from: 'start' }))).toBe(true)
    expect(E.isRight(await subs.create('audit', { tenant: 'subs', stream: 'order-1', from: 'end' }))).toBe(true)
    const third = await subs.create('mail', { tenant: 'subs', from: 'start' })
    expect(E.isLeft(third) && third.left).toMatchObject({ _tag: 'QuotaExceeded', quota: 'projections', limit: 2, used: 2 })
    expect(E.isLeft(await subs.position('subs', 'mail'))).toBe(true) // nothing was created
    expect(E.isRight(await subs.remove('subs', 'audit'))).toBe(true)
    expect(E.isRight(await subs.create('mail', { tenant: 'subs', from: 'start' }))).toBe(true)
    // Another tenant's quota counts only its own subscriptions.
    const zero = await subs.create('any', { tenant: 'subs2', from: 'start' })
    expect(E.isLeft(zero) && zero.left).toMatchObject({ _tag: 'QuotaExceeded', quota: 'projections', limit: 0, used: 0 })
    expect(E.isRight(await subs.create('any', { tenant: 'roomy', from: 'start' }))).toBe(true)
    const unknown = await subs.create('any', { tenant: 'nobody', from: 'start' })
    expect(E.isLeft(unknown) && unknown.left._tag).toBe('TenantNotFound')
  })
})
