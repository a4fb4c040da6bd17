import { jetstreamManager } from '@nats-io/jetstream'
import { headers } from '@nats-io/transport-node'
import { beforeAll, describe, expect, it } from 'vitest'
import { EVENT_STREAM } from '../../../src/adapters/nats/log/eventStream.js'
import { decodeMsgpack, encodeMsgpack } from '../../../src/adapters/codec/msgpack.js'
import { createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import type { LogConsumer } from '../../../src/adapters/nats/reading/logConsumer.js'
import { withProcessor } from '../../support/processorFixture.js'

type Reply = { error?: { code: string; retryAfterMs?: number }; events?: unknown[] }

describe('log consumers: every read releases its consumer, and a processor holds at most its cap', () => {
  const fixture = withProcessor({ consumers: { max: 3, waitMs: 300 } })
  const consumerCount = async () => (await (await jetstreamManager(fixture().nc)).streams.info(EVENT_STREAM)).state.consumer_count
  const request = async (subject: string, body: unknown, json = false): Promise<{ status: string | undefined; body: Reply }> => {
    const h = headers()
    if (json) h.set('Content-Type', 'application/json')
    const m = await fixture().nc.request(subject, json ? new TextEncoder().encode(JSON.stringify(body)) : encodeMsgpack(body), { timeout: 10_000, headers: h })
    return { status: m.headers?.get('Nats-Service-Error-Code') || undefined, body: (json ? JSON.parse(new TextDecoder().decode(m.data)) : decodeMsgpack(m.data)) as Reply }
  }

  beforeAll(async () => {
    const client = createAllSourceClient(fixture().nc)
    for (let i = 0; i < 30; i++) await client.append('acme', `s-${i % 3}`, [{ type: i % 2 === 0 ? 'even' : 'odd', payload: { i } }])
  })

  it('many reads, queries, failing and abandoned ones, and broken-off replays leave no consumer behind', async () => {
    const baseline = await consumerCount()
    const app = fixture().app
    for (let round = 0; round < 10; round++) {
      await Promise.all([
        request('allsource.read.acme.s-0', {}),
        request('allsource.read.acme.s-1', { fromVersion: 3, limit: 2 }),
        request('allsource.read.acme.nothing-here', {}),
        request('allsource.query.acme', { type: 'odd', limit: 3 }),
        request('allsource.query.acme', { stream: 'no-such-stream' }), // nothing pending: returns before consuming
        request('allsource.query.acme', { fromOffset: 1_000_000 }),
        request('allsource.query.acme', { since: 'not a time' }), // rejected before any consumer
        request('allsource.read.acme.s-2', { fromVersion: 0 }),
        (async () => {
          for await (const e of app.replay({ tenant: 'acme' })) if (e.version >= 2) break
        })(),
        (async () => {
          const it = app.replay({ tenant: 'acme', follow: true })
          await it.next()
          await it.return?.()
        })(),
      ])
    }
    await expect.poll(consumerCount, { timeout: 5_000 }).toBe(baseline)
    expect(app.consumers.inUse).toBe(0)
  })

  it('past the cap, a read or query waits for a slot, then answers UNAVAILABLE (503) with retryAfterMs, never 500', async () => {
    const app = fixture().app
    const held: LogConsumer[] = []
    for (let i = 0; i < app.consumers.options.max; i++) held.push(await app.consumers.open(EVENT_STREAM, { filter_subjects: ['allsource.events.acme.>'] }))
    try {
      const read = await request('allsource.read.acme.s-0', {})
      expect(read.status).toBe('503')
      expect(read.body.error?.code).toBe('UNAVAILABLE')
      expect(read.body.error?.retryAfterMs).toBeGreaterThan(0)
      const query = await request('allsource.query.acme', { type: 'even' }, true)
      expect(query.status).toBe('503')
      expect(query.body.error?.code).toBe('UNAVAILABLE')
      // A slot freed while a request waits is handed to it.
      const waiting = request('allsource.read.acme.s-1', {})
      held.pop()?.close()
      const served = await waiting
      expect(served.status).toBeUndefined()
      expect(served.body.events).toHaveLength(10)
    } finally {
      for (const c of held) c.close()
    }
    // A burst far beyond the cap queues for slots: every request answered, none 500.
    const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? request(`allsource.read.acme.s-${i % 3}`, {}) : request('allsource.query.acme', { limit: 5 }))))
    for (const r of burst) expect(r.status === undefined || r.status === '503').toBe(true)
    expect(burst.filter((r) => r.status === undefined).length).toBeGreaterThan(0)
    await expect.poll(() => app.consumers.inUse, { timeout: 5_000 }).toBe(0)
  })
  it('following replays have a budget of their own: more of them than the cap leave reads served', async () => {
    const app = fixture().app
    const replays = Array.from({ length: app.consumers.options.max + 1 }, () => app.replay({ tenant: 'acme', follow: true })[Symbol.asyncIterator]())
    try {
      // Each has its consumer once its first event arrives.
      await Promise.all(replays.slice(0, app.replayConsumers.options.max).map((r) => r.next()))
      expect(app.consumers.inUse).toBe(0)
      const read = await request('allsource.read.acme.s-0', {})
      expect(read.status).toBeUndefined()
      expect(read.body.events).toHaveLength(10)
    } finally {
      await Promise.all(replays.map((r) => r.return?.()))
    }
    await expect.poll(() => app.replayConsumers.inUse, { timeout: 5_000 }).toBe(0)
  })
})
