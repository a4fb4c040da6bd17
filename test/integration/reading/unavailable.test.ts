import { jetstreamManager } from '@nats-io/jetstream'
import { connect, errors, headers, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeMsgpack, encodeMsgpack } from '../../../src/adapters/codec/msgpack.js'
import { EVENT_STREAM } from '../../../src/adapters/nats/log/eventStream.js'
import { createSubscriptions } from '../../../src/adapters/nats/reading/subscriptions.js'
import { createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { failureOf } from '../../../src/adapters/nats/service/failureOf.js'
import { toWireError } from '../../../src/adapters/nats/service/errorCodes.js'
import { startEndpoint } from '../../../src/adapters/nats/service/endpoint.js'
import { type AllSource, createAllSource } from '../../../src/main/allSource.js'
import { withProcessor } from '../../support/processorFixture.js'
import { type RestartableServer, startRestartableServer } from '../../support/restartableServer.js'

type Reply = { error?: { code: string; retryAfterMs?: number } }

const ask = async (nc: NatsConnection, subject: string, body: unknown, json = false) => {
  const h = headers()
  if (json) h.set('Content-Type', 'application/json')
  const m = await nc.request(subject, json ? new TextEncoder().encode(JSON.stringify(body)) : encodeMsgpack(body), { timeout: 10_000, headers: h })
  return { status: m.headers?.get('Nats-Service-Error-Code') || undefined, body: (json ? JSON.parse(new TextDecoder().decode(m.data)) : decodeMsgpack(m.data)) as Reply }
}

// The account may hold 12 consumers: the server's consumer limit, reached by another client.
const LIMITED = `
accounts { APP: { jetstream: { max_consumers: 12 }, users: [ { user: app, password: app } ] } }
no_auth_user: app
`

describe('at the server consumer limit, reads, queries and subscription creates answer UNAVAILABLE (503), not 500', () => {
  const fixture = withProcessor({ server: { config: LIMITED } })
  let hog: NatsConnection

  beforeAll(async () => {
    const client = createAllSourceClient(fixture().nc)
    for (let i = 0; i < 5; i++) await client.append('acme', 'limit', [{ type: 't', payload: { i } }])
    hog = await connect({ servers: fixture().server.url })
    const jsm = await jetstreamManager(hog)
    for (let i = 0; ; i++) {
      const added = await jsm.consumers.add(EVENT_STREAM, { durable_name: `hog-${i}`, filter_subject: 'allsource.events.hog.>' }).then(
        () => true,
        () => false,
      )
      if (!added) break
    }
  })
  afterAll(async () => {
    await hog.close()
  })

  it('read and query over the wire: 503 UNAVAILABLE with retryAfterMs', async () => {
    for (const json of [false, true]) {
      const read = await ask(fixture().nc, 'allsource.read.acme.limit', {}, json)
      expect(read.status).toBe('503')
      expect(read.body.error?.code).toBe('UNAVAILABLE')
      expect(read.body.error?.retryAfterMs).toBeGreaterThan(0)
      const query = await ask(fixture().nc, 'allsource.query.acme', {}, json)
      expect(query.status).toBe('503')
    }
  })

  it('subscriptions.create at the limit is Unavailable; an invalid start time is BAD_REQUEST', async () => {
    const subs = createSubscriptions(fixture().nc)
    const created = await subs.create('late', { tenant: 'acme', from: 'start' })
    expect(E.isLeft(created) && created.left._tag).toBe('Unavailable')
    const badTime = await subs.create('bad', { tenant: 'acme', from: { time: new Date('x') } })
    expect(E.isLeft(badTime) && badTime.left._tag === 'BadRequest' && toWireError(badTime.left).code).toBe('BAD_REQUEST')
    // Years JetStream's RFC 3339 parser cannot read are refused here, not passed on to fail there.
    for (const time of [new Date(Date.UTC(10_000, 0, 1)), new Date(Date.UTC(-1, 0, 1))]) {
      const r = await subs.create('far', { tenant: 'acme', from: { time } })
      expect(E.isLeft(r) && toWireError(r.left).code).toBe('BAD_REQUEST')
    }
  })

  it('every endpoint (read, query, projection read, …) answers a thrown NATS failure 503 and a thrown defect 500', async () => {
    const nc = fixture().nc
    const endpoint = startEndpoint(nc, { prefix: 'test', verb: 'boom', tokens: 1, queue: 'q', emptyBody: 'allowed' }, (tokens) => {
      if (tokens[0] === 'nats') throw new errors.TimeoutError()
      throw new TypeError('a defect')
    })
    try {
      await nc.flush()
      const infra = await ask(nc, 'test.boom.nats', {})
      expect(infra.status).toBe('503')
      expect(infra.body.error?.retryAfterMs).toBeGreaterThan(0)
      expect((await ask(nc, 'test.boom.bug', {})).status).toBe('500')
    } finally {
      await endpoint.stop()
    }
  })

  it('released consumers: the same reads succeed again', async () => {
    const jsm = await jetstreamManager(hog)
    for (const c of await jsm.consumers.list(EVENT_STREAM).next()) if (c.name.startsWith('hog-')) await jsm.consumers.delete(EVENT_STREAM, c.name)
    expect((await ask(fixture().nc, 'allsource.read.acme.limit', {})).status).toBeUndefined()
    expect(E.isRight(await createSubscriptions(fixture().nc).create('late', { tenant: 'acme', from: 'start' }))).toBe(true)
    const reset = await createSubscriptions(fixture().nc).reset('acme', 'late', { time: new Date('x') })
    expect(E.isLeft(reset) && reset.left._tag).toBe('BadRequest')
  })
})

describe('NATS stopped under a processor: reads, queries and subscriptions fail as UNAVAILABLE, and recover after a restart', () => {
  let rs: RestartableServer
  let app: AllSource
  beforeAll(async () => {
    rs = await startRestartableServer()
    app = await createAllSource({ nc: rs.nc, snapshotEvery: 0 })
    await app.append('acme', 'down', [{ type: 't', payload: {} }])
  })
  afterAll(async () => {
    await app.close()
    await rs.close()
  })

  it('classifies every failure as UNAVAILABLE (retryAfterMs), then serves again', async () => {
    const outcome = async <T>(p: Promise<E.Either<unknown, T>>) =>
      p.then(
        (r) => (E.isLeft(r) ? (r.left as { _tag: string })._tag : 'ok'),
        (e: unknown) => toWireError(failureOf(e)).code,
      )
    const restarted = rs.restart(6_000)
    await new Promise((r) => setTimeout(r, 300))
    const subs = createSubscriptions(rs.nc)
    const [read, query, position] = await Promise.all([outcome(app.read('acme', 'down')), outcome(app.query('acme', {})), outcome(subs.position('acme', 'x'))])
    expect(read).toBe('UNAVAILABLE')
    expect(query).toBe('UNAVAILABLE')
    expect(position).toBe('Unavailable')
    await restarted
    await expect.poll(() => outcome(app.read('acme', 'down')), { timeout: 15_000, interval: 500 }).toBe('ok')
    // Every slot comes back once the deletes are answered (or time out).
    await expect.poll(() => app.consumers.inUse, { timeout: 10_000 }).toBe(0)
  })
})
