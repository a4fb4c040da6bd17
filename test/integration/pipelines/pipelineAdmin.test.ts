import { connect, headers, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAllSource, type AllSource } from '../../../src/main/allSource.js'
import { startNatsServer, type TestNatsServer } from '../../support/natsServer.js'
import { waitFor } from '../../support/projections.js'

const te = new TextEncoder()
const td = new TextDecoder()
const JSON_HEADERS = (() => {
  const h = headers()
  h.set('Content-Type', 'application/json')
  return h
})()

let server: TestNatsServer
let nc: NatsConnection
let app: AllSource

const call = async (subject: string, body: unknown): Promise<{ ok: boolean; body: Record<string, unknown> }> => {
  const m = await nc.request(subject, te.encode(JSON.stringify(body ?? {})), { headers: JSON_HEADERS, timeout: 10_000 })
  const parsed = JSON.parse(td.decode(m.data)) as Record<string, unknown>
  return { ok: parsed['error'] === undefined, body: parsed }
}
const admin = (cmd: string, body?: unknown) => call(`allsource.admin.acme.pipelines.${cmd}`, body)
const read = (key: string) => call('allsource.projection.acme.acme--big-orders', { key })

const definition = {
  name: 'big-orders',
  stages: [{ filter: 'type = "order.placed" and payload.total > 40' }, { map: { fields: { customer: 'payload.customer', total: 'payload.total' } } }, { reduce: { key: 'payload.customer', aggregates: { n: { count: true }, sum: { sum: 'payload.total' } } } }],
  sink: { readModel: {} },
}

const placeOrders = async (n: number, from = 0) => {
  for (let i = from; i < from + n; i++) {
    const r = await app.append('acme', `order-${i}`, [{ type: 'order.placed', payload: { customer: `c${i % 3}`, total: i % 2 === 0 ? 100 : 10 } }])
    if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
  }
}
const expectedFor = (n: number) => {
  const out = new Map<string, { n: number; sum: number }>()
  for (let i = 0; i < n; i++) {
    if (i % 2 !== 0) continue
    const c = `c${i % 3}`
    const v = out.get(c) ?? { n: 0, sum: 0 }
    out.set(c, { n: v.n + 1, sum: v.sum + 100 })
  }
  return out
}
const stateOf = async (key: string) => {
  const r = await read(key)
  return r.ok ? (r.body['state'] as { value: unknown }).value : undefined
}
const statusOf = async () => ((await admin('get', { name: 'big-orders' })).body['status'] ?? {}) as { state?: string; lag?: number; generation?: number; checkpoint?: number }

beforeAll(async () => {
  server = await startNatsServer()
  nc = await connect({ servers: server.url })
  app = await createAllSource({ nc, warn: () => undefined })
  await app.serve()
})
afterAll(async () => {
  await app?.close()
  await nc?.close()
  await server?.stop()
})

describe('pipelines defined as JSON through the admin API', () => {
  it('create, run into a read model, pause/resume, rebuild, survive a restart, delete', async () => {
    await placeOrders(30)
    const created = await admin('create', definition)
    expect(created.body).toMatchObject({ name: 'big-orders', projection: 'acme--big-orders', version: 1 })
    // The answer came once a processor had started the pipeline: a read right after it finds the projection.
    const first = await read('c0')
    expect(JSON.stringify(first.body['error'] ?? null)).not.toContain('no projection')
    await waitFor(async () => (await statusOf()).state === 'live' && (await statusOf()).lag === 0)
    for (const [c, v] of expectedFor(30)) expect(await stateOf(c)).toEqual(v)
    expect((await admin('list')).body['pipelines']).toMatchObject([{ name: 'big-orders', projection: 'acme--big-orders' }])

    // Pause: appends are not folded until resume.
    await admin('pause', { name: 'big-orders' })
    await waitFor(async () => (await statusOf()).state === 'paused')
    await placeOrders(10, 30)
    expect(await stateOf('c0')).toEqual(expectedFor(30).get('c0'))
    await admin('resume', { name: 'big-orders' })
    await waitFor(async () => (await stateOf('c0')) !== undefined && JSON.stringify(await stateOf('c0')) === JSON.stringify(expectedFor(40).get('c0')))

    // Rebuild: a new generation with the same result.
    expect((await admin('rebuild', { name: 'big-orders' })).ok).toBe(true)
    await waitFor(async () => (await statusOf()).generation === 2 && (await statusOf()).state === 'live')
    for (const [c, v] of expectedFor(40)) expect(await stateOf(c)).toEqual(v)

    // A restart: the stored definition runs again, from its checkpoint.
    await app.close()
    app = await createAllSource({ nc, warn: () => undefined })
    await app.serve()
    await placeOrders(6, 40)
    await waitFor(async () => JSON.stringify(await stateOf('c0')) === JSON.stringify(expectedFor(46).get('c0')))
    for (const [c, v] of expectedFor(46)) expect(await stateOf(c)).toEqual(v)

    // A changed definition needs a higher version; the same one is accepted again as is.
    expect((await admin('create', definition)).ok).toBe(true)
    const changed = { ...definition, stages: definition.stages.slice(1) }
    expect((await admin('create', changed)).body['error']).toMatchObject({ code: 'BAD_REQUEST' })

    expect((await admin('delete', { name: 'big-orders' })).body).toEqual({ name: 'big-orders', deleted: true })
    expect((await admin('get', { name: 'big-orders' })).body['error']).toMatchObject({ code: 'NOT_FOUND' })
    await waitFor(async () => (await read('c0')).body['error'] !== undefined)
  })

  it('answers malformed definitions and commands with typed errors and a path', async () => {
    expect((await admin('create', { ...definition, stages: [{ reduce: { aggregates: { n: { count: 1 } } } }] })).body['error']).toMatchObject({ code: 'BAD_REQUEST', path: 'pipeline.stages[0].reduce.aggregates.n.count' })
    expect((await admin('create', { ...definition, name: 'a--b' })).body['error']).toMatchObject({ code: 'INVALID_ID' })
    expect((await admin('get', { name: 'ghost' })).body['error']).toMatchObject({ code: 'NOT_FOUND' })
    expect((await admin('explode', {})).body['error']).toMatchObject({ code: 'BAD_REQUEST' })
    expect((await admin('get', { name: 'x', extra: 1 })).body['error']).toMatchObject({ code: 'BAD_REQUEST' })
    expect((await call('allsource.admin.bad*tenant.pipelines.list', {}).catch(() => ({ body: { error: { code: 'refused' } } }))).body['error']).toBeDefined()
  })
})
