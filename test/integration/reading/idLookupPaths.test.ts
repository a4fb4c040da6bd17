import { jetstreamManager } from '@nats-io/jetstream'
import fc from 'fast-check'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeCommit, typesHeader } from '../../../src/adapters/codec/commitCodec.js'
import { ensureEventStream } from '../../../src/adapters/nats/log/eventStream.js'
import { PipelinedPublisher } from '../../../src/adapters/nats/log/pipelinedPublisher.js'
import { WireHeaders } from '../../../src/adapters/nats/log/wireHeaders.js'
import { DirectBatchError, directBatch, storeMillisOf } from '../../../src/adapters/nats/reading/directBatch.js'
import { createTimeWindowLookup } from '../../../src/adapters/nats/reading/idLookup.js'
import { ConsumerUnavailable, createLogConsumers } from '../../../src/adapters/nats/reading/logConsumer.js'
import { createQuery } from '../../../src/adapters/nats/reading/query.js'
import { uuidv7 } from '../../../src/adapters/system/uuidv7.js'
import { defaultIdWindow, type IdWindow, uuidv7Millis } from '../../../src/domain/reading/idWindow.js'
import { validateQueryRequest } from '../../../src/domain/reading/queryRequest.js'
import type { Commit } from '../../../src/domain/streams/event.js'
import { startNatsServer, type TestNatsServer } from '../../support/natsServer.js'
import { natsServer210Path, type NatsTopology, startSingle } from '../../support/natsTopologies.js'

/** A UUIDv7 text with the given Unix milliseconds and random other bits. */
const v7At = (ms: number): string => {
  const hex = ms.toString(16).padStart(12, '0')
  return `${hex.slice(0, 8)}-${hex.slice(8)}-7${uuidv7().slice(15)}`
}

/** A log on one server, written raw (one-event commits, as a stream actor writes them). */
const rawLog = (nc: () => NatsConnection) => {
  const written = new Map<string, number>()
  const versions = new Map<string, number>()
  return {
    written,
    /** Publishes these commits, pipelined (so many are stored in the same millisecond); resolves once all are stored. */
    async publish(items: readonly { readonly tenant: string; readonly id: string; readonly stream?: string }[]): Promise<void> {
      const pub = new PipelinedPublisher(nc())
      try {
        await Promise.all(
          items.map(async ({ tenant, id, stream = `s-${id.length % 5}` }) => {
            const version = (versions.get(`${tenant}.${stream}`) ?? 0) + 1
            versions.set(`${tenant}.${stream}`, version)
            const commit = { commitId: `c-${tenant}-${id}`, tenant, stream, events: [{ id, type: 'thing.happened', version, timestamp: new Date(), payload: { id } }] } as unknown as Commit
            const r = await pub.publish(`allsource.events.${tenant}.${stream}`, encodeCommit(commit), WireHeaders.of(['Nats-Msg-Id', commit.commitId], ['AllSource-Types', typesHeader(commit.events)]))
            if (r._tag !== 'Stored') throw new Error(`publish failed: ${r._tag}`)
            written.set(`${tenant}/${id}`, r.seq)
          }),
        )
      } finally {
        pub.close()
      }
    },
    /** Store time of the commit of `id` minus the id's millisecond. */
    async delta(tenant: string, id: string): Promise<number> {
      const m = await (await jetstreamManager(nc())).direct.getMessage('ALLSOURCE_EVENTS', { seq: written.get(`${tenant}/${id}`) ?? 0 })
      return storeMillisOf(m?.timestamp ?? '') - (uuidv7Millis(id) ?? Number.NaN)
    },
  }
}

const lookupWith = (nc: NatsConnection, mode: 'direct' | 'consumer' | undefined, window: IdWindow = defaultIdWindow) =>
  createTimeWindowLookup(nc, createLogConsumers(nc), (t) => `allsource.events.${t}.>`, (t) => `allsource.events.${t}.`, window, mode)

describe('lookup by time, by batch direct gets and by a consumer alike', () => {
  let server: TestNatsServer
  let nc: NatsConnection
  const log = rawLog(() => nc)
  const ids = { early: '', late: '', now: '', other: '', shared: 'placeholder', target: '' }
  let sameMs: string[] = []
  let burst: string[] = []

  beforeAll(async () => {
    server = await startNatsServer()
    nc = await connect({ servers: server.url })
    await ensureEventStream(nc, await jetstreamManager(nc), undefined, () => undefined)
    const now = Date.now()
    // Stored about 300 ms after their id's time (a slow publish), about 300 ms before it (a server
    // clock behind the processor's), and just after it (clocks in step).
    ids.early = v7At(now - 300)
    ids.late = v7At(now + 300)
    ids.now = uuidv7()
    ids.other = uuidv7()
    ids.shared = uuidv7()
    await log.publish([
      { tenant: 'acme', id: ids.early },
      { tenant: 'acme', id: ids.late },
      { tenant: 'acme', id: ids.now },
      { tenant: 'other', id: ids.other },
      { tenant: 'other', id: ids.shared },
    ])
    await log.publish([{ tenant: 'acme', id: ids.shared }])
    // 300 commits whose ids all carry the same millisecond, published at once (many stored per millisecond).
    const ms = Date.now()
    sameMs = Array.from({ length: 300 }, () => v7At(ms))
    await log.publish(sameMs.map((id, i) => ({ tenant: i % 4 === 0 ? 'other' : 'acme', id })))
    // The target's id is minted first, then 1,500 commits of both tenants are stored before it: a
    // pass from its millisecond reads several batches before the hit.
    ids.target = uuidv7()
    burst = Array.from({ length: 1_500 }, () => uuidv7())
    await log.publish(burst.map((id, i) => ({ tenant: i % 3 === 0 ? 'other' : 'acme', id })))
    await log.publish([{ tenant: 'acme', id: ids.target }])
  })
  afterAll(async () => {
    await nc?.close()
    await server?.stop()
  })

  for (const mode of ['direct', 'consumer'] as const) {
    describe(mode, () => {
      it('finds ids stored exactly at each edge of each pass, and not 1 ms beyond the window', async () => {
        for (const id of [ids.early, ids.late, ids.now]) {
          const d = await log.delta('acme', id)
          const want = log.written.get(`acme/${id}`)
          const found = async (w: IdWindow) => (await lookupWith(nc, mode, w)('acme', id))?.offset
          if (d >= 0) {
            // Pass 1 ends at the store time; then pass 3 starts there; then the window stops 1 ms short.
            expect(await found({ beforeMs: 5, afterMs: d + 5, nearMs: d, nearAfterMs: d + 5 })).toBe(want)
            if (d > 0) expect(await found({ beforeMs: 5, afterMs: d + 5, nearMs: d - 1, nearAfterMs: d })).toBe(want)
            if (d > 0) expect(await found({ beforeMs: 5, afterMs: d, nearMs: d - 1, nearAfterMs: d - 1 })).toBe(want) // pass 5's end
            if (d > 0) expect(await found({ beforeMs: 5, afterMs: d - 1, nearMs: 0, nearAfterMs: 0 })).toBeUndefined()
          } else {
            // Pass 2 starts at the store time; then pass 4 does; then the window stops 1 ms short.
            expect(await found({ beforeMs: -d + 5, afterMs: 5, nearMs: -d, nearAfterMs: 5 })).toBe(want)
            expect(await found({ beforeMs: -d, afterMs: 5, nearMs: -d - 1, nearAfterMs: 5 })).toBe(want)
            expect(await found({ beforeMs: -d - 1, afterMs: 5, nearMs: 0, nearAfterMs: 5 })).toBeUndefined()
          }
        }
        // The ids minted 300 ms off land on either side of their millisecond, so both branches ran.
        expect(await log.delta('acme', ids.early)).toBeGreaterThan(0)
        expect(await log.delta('acme', ids.late)).toBeLessThan(0)
      })

      it('finds each of 300 commits whose ids share one millisecond, each its own', async () => {
        const lookup = lookupWith(nc, mode)
        for (const [i, id] of sameMs.entries()) {
          const tenant = i % 4 === 0 ? 'other' : 'acme'
          const r = await lookup(tenant, id)
          expect(r?.offset).toBe(log.written.get(`${tenant}/${id}`))
          expect(r?.commit.events.map((e) => e.id)).toEqual([id])
        }
      })

      it('reads on across batches to a commit stored after 1,500 others', async () => {
        const wide = { beforeMs: 1_000, afterMs: 120_000, nearMs: 120_000, nearAfterMs: 120_000 }
        expect((await lookupWith(nc, mode, wide)('acme', ids.target))?.offset).toBe(log.written.get(`acme/${ids.target}`))
        // With the default window: found by time when stored inside it (the slowest machine may not).
        if ((await log.delta('acme', ids.target)) < defaultIdWindow.afterMs) {
          expect((await lookupWith(nc, mode)('acme', ids.target))?.offset).toBe(log.written.get(`acme/${ids.target}`))
        }
      })

      it('never returns another tenant’s event', async () => {
        const lookup = lookupWith(nc, mode)
        const wide = lookupWith(nc, mode, { beforeMs: 120_000, afterMs: 120_000, nearMs: 120_000, nearAfterMs: 120_000 })
        expect(await lookup('acme', ids.other)).toBeUndefined()
        expect(await wide('acme', ids.other)).toBeUndefined()
        expect((await lookup('other', ids.other))?.commit.tenant).toBe('other')
        // The same id in both tenants: each finds its own commit.
        expect((await lookup('acme', ids.shared))?.offset).toBe(log.written.get(`acme/${ids.shared}`))
        expect((await lookup('other', ids.shared))?.offset).toBe(log.written.get(`other/${ids.shared}`))
        for (const [i, id] of burst.entries()) {
          if (i % 150 !== 0) continue
          const mine = i % 3 === 0 ? 'other' : 'acme'
          const theirs = mine === 'acme' ? 'other' : 'acme'
          expect((await wide(theirs, id))?.offset).toBeUndefined()
          expect((await wide(mine, id))?.commit.tenant).toBe(mine)
        }
        expect(await wide('nobody', ids.now)).toBeUndefined()
      })

      it('fuzz: any UUIDv7-shaped id, of any time and case, answers nothing or the tenant’s own commit holding it', async () => {
        const lookup = lookupWith(nc, mode)
        const now = Date.now()
        const known = [ids.now, ids.other, ids.shared, ...sameMs.slice(0, 5)]
        await fc.assert(
          fc.asyncProperty(
            fc.oneof(
              fc.integer({ min: 0, max: 2 ** 48 - 1 }).map((ms) => v7At(ms)),
              fc.integer({ min: -5_000, max: 5_000 }).map((d) => v7At(now + d)),
              fc.constantFrom(...known),
            ),
            fc.boolean(),
            fc.constantFrom('acme', 'other', 'nobody'),
            async (id, upper, tenant) => {
              const asked = upper ? id.toUpperCase() : id
              const r = await lookup(tenant, asked)
              if (r !== undefined) {
                expect(r.commit.tenant).toBe(tenant)
                expect(r.commit.events.map((e) => e.id)).toContain(asked)
                expect(r.offset).toBe(log.written.get(`${tenant}/${asked}`))
              } else if (log.written.has(`${tenant}/${asked}`)) {
                // Only an id stored outside its window is left to the index.
                const d = await log.delta(tenant, asked)
                expect(d >= defaultIdWindow.afterMs || d <= -defaultIdWindow.beforeMs).toBe(true)
              }
            },
          ),
          { numRuns: 40 },
        )
      })

      it('answers undefined for ids never written, at any time', async () => {
        const lookup = lookupWith(nc, mode)
        for (const id of [uuidv7(), v7At(Date.now() - 200), v7At(Date.now() + 60_000), '00000000-0000-7000-8000-000000000000', 'ffffffff-ffff-7fff-bfff-ffffffffffff', 'order-1']) {
          expect(await lookup('acme', id)).toBeUndefined()
        }
      })
    })
  }

  it('direct gets take a slot of the consumer budget while they read: a full budget answers ConsumerUnavailable, none is kept', async () => {
    const consumers = createLogConsumers(nc, { max: 1, waitMs: 100 })
    const lookup = createTimeWindowLookup(nc, consumers, (t) => `allsource.events.${t}.>`, (t) => `allsource.events.${t}.`, defaultIdWindow, 'direct')
    const held = await consumers.slot()
    await expect(lookup('acme', ids.now)).rejects.toBeInstanceOf(ConsumerUnavailable)
    held()
    expect((await lookup('acme', ids.now))?.offset).toBe(log.written.get(`acme/${ids.now}`))
    expect(await lookup('acme', uuidv7())).toBeUndefined()
    expect(consumers.inUse).toBe(0)
  })

  it('answers the same through the query, whichever way it reads', async () => {
    for (const idReads of ['direct', 'consumer', undefined] as const) {
      const query = createQuery(nc, idReads === undefined ? {} : { idReads })
      const req = validateQueryRequest({ id: ids.now })
      if (E.isLeft(req)) throw new Error('invalid')
      const r = await query('acme', req.right)
      expect(E.isRight(r) && r.right.events.map((e) => [e.id, e.offset, e.tenant])).toEqual([[ids.now, log.written.get(`acme/${ids.now}`), 'acme']])
      const none = await query('other', req.right)
      expect(E.isRight(none) && none.right.events).toEqual([])
    }
  })

  it('a batch direct get the server refuses rejects with its status; nothing left subscribed', async () => {
    const subs = () => (nc as unknown as { protocol: { subscriptions: { size(): number } } }).protocol.subscriptions.size()
    const before = subs()
    // A sequence and a start time together are refused (408).
    await expect(directBatch(nc, 'ALLSOURCE_EVENTS', { seq: 1, start_time: new Date().toISOString(), batch: 2 }, () => false)).rejects.toBeInstanceOf(DirectBatchError)
    // No such stream: no responders (503).
    await expect(directBatch(nc, 'NO_SUCH_STREAM', { seq: 1, batch: 2 }, () => false)).rejects.toBeInstanceOf(DirectBatchError)
    // What the visitor throws is what the batch rejects with.
    await expect(
      directBatch(nc, 'ALLSOURCE_EVENTS', { seq: 1, batch: 2 }, () => {
        throw new Error('visitor failed')
      }),
    ).rejects.toThrow('visitor failed')
    // Past the end: no results.
    expect(await directBatch(nc, 'ALLSOURCE_EVENTS', { seq: 10_000_000, batch: 2 }, () => false)).toEqual({ _tag: 'NoResults' })
    // A whole batch, then its end with what is left.
    const seqs: number[] = []
    const end = await directBatch(nc, 'ALLSOURCE_EVENTS', { seq: 1, batch: 3, next_by_subj: 'allsource.events.acme.>' }, (m) => (seqs.push(m.seq), false))
    expect(seqs).toHaveLength(3)
    expect(end).toMatchObject({ _tag: 'EndOfBatch', lastSeq: seqs[2] })
    expect(end._tag === 'EndOfBatch' && end.pending).toBeGreaterThan(0)
    expect(subs()).toBe(before)
  })
})

describe('lookup by time on nats-server 2.10 (no batch direct gets)', () => {
  let topo: NatsTopology
  let nc: NatsConnection
  const log = rawLog(() => nc)
  beforeAll(async () => {
    topo = await startSingle('2.10', natsServer210Path())
    nc = await connect({ servers: topo.urls[0] })
    await ensureEventStream(nc, await jetstreamManager(nc), undefined, () => undefined)
  })
  afterAll(async () => {
    await nc?.close()
    await topo?.stop()
  })

  it('reads by a consumer and finds what it should, per tenant', async () => {
    const id = uuidv7()
    const others = Array.from({ length: 200 }, () => uuidv7())
    await log.publish([...others.map((o) => ({ tenant: 'other', id: o })), { tenant: 'acme', id }])
    const lookup = lookupWith(nc, undefined)
    expect((await lookup('acme', id))?.offset).toBe(log.written.get(`acme/${id}`))
    expect(await lookup('other', id)).toBeUndefined()
    expect((await lookup('other', others[7] as string))?.offset).toBe(log.written.get(`other/${others[7]}`))
    expect(await lookup('acme', uuidv7())).toBeUndefined()
  })
})
