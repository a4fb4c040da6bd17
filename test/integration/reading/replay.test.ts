import { DeliverPolicy, jetstream } from '@nats-io/jetstream'
import { unpack } from 'msgpackr'
import { beforeAll, describe, expect, it } from 'vitest'
import { createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { replayEvents, type ReplayedEvent } from '../../../src/adapters/nats/reading/replay.js'
import { withProcessor } from '../../support/processorFixture.js'

const collect = async (it: AsyncIterable<ReplayedEvent>): Promise<ReplayedEvent[]> => {
  const out: ReplayedEvent[] = []
  for await (const e of it) out.push(e)
  return out
}

describe('replay by consumer offset', () => {
  const fixture = withProcessor()
  let all: ReplayedEvent[] = []

  beforeAll(async () => {
    const client = createAllSourceClient(fixture().nc)
    for (let i = 0; i < 60; i++) {
      const tenant = i % 5 === 0 ? 'other' : 'acme'
      const types = i % 3 === 0 ? ['a', 'b'] : ['c']
      await client.append(tenant, `s-${i % 4}`, types.map((type, k) => ({ type, payload: { i, k } })))
    }
    all = await collect(replayEvents(fixture().nc, { tenant: 'acme' }))
  })

  it('replays a tenant’s whole log in offset order, and nothing of other tenants', () => {
    expect(all.length).toBeGreaterThan(40)
    expect(all.every((e) => e.tenant === 'acme')).toBe(true)
    const offsets = all.map((e) => e.offset)
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b))
  })

  it('from offset N yields exactly the events with offset >= N, in order', async () => {
    for (const n of [1, 2, 17, 33, 59, 60]) {
      const from = await collect(replayEvents(fixture().nc, { tenant: 'acme', fromOffset: n }))
      expect(from).toEqual(all.filter((e) => e.offset >= n))
    }
    expect(await collect(replayEvents(fixture().nc, { tenant: 'acme', fromOffset: 10_000 }))).toEqual([])
  })

  it('filters by stream and by type', async () => {
    expect(await collect(replayEvents(fixture().nc, { tenant: 'acme', stream: 's-1' }))).toEqual(all.filter((e) => e.stream === 's-1'))
    expect(await collect(replayEvents(fixture().nc, { tenant: 'acme', type: 'b', fromOffset: 5 }))).toEqual(
      all.filter((e) => e.type === 'b' && e.offset >= 5),
    )
  })

  it('holds a slow consumer to a bounded buffer and stops the consumer when the loop breaks', async () => {
    const seen: ReplayedEvent[] = []
    for await (const e of replayEvents(fixture().nc, { tenant: 'acme' })) {
      seen.push(e)
      await new Promise((r) => setTimeout(r, 1))
      if (seen.length === 10) break
    }
    expect(seen).toEqual(all.slice(0, 10))
  })

  it('raw NATS recipe (only @nats-io and msgpackr): an ordered consumer from sequence N decodes the same events', async () => {
    const n = 21
    const consumer = await jetstream(fixture().nc).consumers.get('ALLSOURCE_EVENTS', {
      filter_subjects: ['allsource.events.acme.>'],
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: n,
    })
    const messages = await consumer.consume()
    const raw: { offset: number; stream: string; version: number; type: string }[] = []
    for await (const m of messages) {
      const commit = unpack(m.data) as { stream: string; events: { version: number; type: string }[] }
      for (const e of commit.events) raw.push({ offset: m.seq, stream: commit.stream, version: e.version, type: e.type })
      if (m.info.pending === 0) break
    }
    messages.stop()
    expect(raw).toEqual(all.filter((e) => e.offset >= n).map((e) => ({ offset: e.offset, stream: e.stream, version: e.version, type: e.type })))
  })
})
