import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect, headers, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { pack } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { listDeadLetters, redriveDeadLetter } from '../../../src/adapters/nats/ingest/deadLetters.js'
import { startIngestProcessor } from '../../../src/adapters/nats/ingest/ingestProcessor.js'
import { ensureIngestStreams } from '../../../src/adapters/nats/ingest/ingestStreams.js'
import type { Appender } from '../../../src/application/streams/appender.js'
import { internal } from '../../../src/application/streams/errors.js'
import { createAllSource } from '../../../src/main/allSource.js'
import { readWholeLog } from '../../support/eventLogReader.js'
import { withNatsServer } from '../../support/natsServer.js'
import { waitFor } from '../../support/projections.js'

const drained = async (nc: NatsConnection) => (await (await jetstreamManager(nc)).streams.info('ALLSOURCE_INGEST')).state.messages === 0
const payloadsOf = async (nc: NatsConnection, stream: string) =>
  (await readWholeLog(nc)).filter((c) => c.body.stream === stream).flatMap((c) => c.body.events.map((e) => e.payload))

describe('ingest: poison messages, JSON without Content-Type, dead-letter log, redrive, max_payload', () => {
  const server = withNatsServer()

  it('a message failing with INTERNAL goes to the DLQ after maxAttempts, its stream goes on after it, and other streams flow meanwhile', async () => {
    const nc = await connect({ servers: server().url })
    const js = jetstream(nc)
    await ensureIngestStreams(await jetstreamManager(nc))
    const app = await createAllSource({ nc })
    let boomAttempts = 0
    let othersDone: () => void = () => undefined
    const othersAppended = new Promise<void>((r) => (othersDone = r))
    let others = 0
    // Fault injection through the Appender port: `boom` fails with INTERNAL every time.
    const appender: Appender = {
      async append(c) {
        if ((c.events[0]?.payload as { boom?: boolean } | undefined)?.boom === true) {
          // The second attempt waits until every other stream's message is in: they do not wait for it.
          if (++boomAttempts === 2) await othersAppended
          return E.left(internal('evolve exploded'))
        }
        const r = await app.supervisor.append(c)
        if (c.stream.startsWith('other-') && E.isRight(r) && ++others === 30) othersDone()
        return r
      },
    }
    const lines: string[] = []
    const processor = await startIngestProcessor(nc, appender, { lastCommitId: async () => undefined, maxAttempts: 3, log: (l) => lines.push(l) })
    await js.publish('allsource.ingest.acme.poison-1', pack({ type: 'e', payload: { n: 0 } }))
    await js.publish('allsource.ingest.acme.poison-1', pack({ type: 'e', payload: { boom: true } }))
    await js.publish('allsource.ingest.acme.poison-1', pack({ type: 'e', payload: { n: 1 } }))
    for (let i = 0; i < 30; i++) await js.publish(`allsource.ingest.acme.other-${i % 3}`, pack({ type: 'e', payload: { i } }))

    await waitFor(() => drained(nc), 30_000, 'the ingest queue to drain')
    expect(boomAttempts).toBe(3)
    expect(processor.deadLettered).toBe(1)
    expect(processor.appended).toBe(32)
    expect(await payloadsOf(nc, 'poison-1')).toEqual([{ n: 0 }, { n: 1 }])
    const [dead] = await listDeadLetters(nc, { tenant: 'acme' })
    expect(dead).toMatchObject({ code: 'INTERNAL', attempts: 3, ingestSubject: 'allsource.ingest.acme.poison-1' })
    expect(dead?.error).toMatch(/evolve exploded/)
    expect(lines.some((l) => /poison-1 #2 dead-lettered .* after 3 attempts: INTERNAL evolve exploded/.test(l))).toBe(true)
    await processor.stop()
    await app.close()
    await nc.close()
  })

  it('accepts the README example (JSON without Content-Type), logs dead letters rate-limited, and redrives with a corrected Content-Type', async () => {
    const nc = await connect({ servers: server().url })
    const js = jetstream(nc)
    const jsm = await jetstreamManager(nc)
    await ensureIngestStreams(jsm)
    for (const d of await listDeadLetters(nc)) await jsm.streams.deleteMessage('ALLSOURCE_DLQ', d.id)
    const warnings: string[] = []
    const app = await createAllSource({ nc, warn: (m) => warnings.push(m) })
    const ingest = await app.startIngest({ lease: false })

    // As the README has it: `nats pub allsource.ingest.acme.order-3 '{"type":"order.placed","payload":{}}' --jetstream`
    await js.publish('allsource.ingest.acme.order-3', '{"type":"order.placed","payload":{}}')
    // Declared msgpack but JSON: dead-lettered, then redriven with the right Content-Type.
    const wrong = headers()
    wrong.set('Content-Type', 'application/msgpack')
    wrong.set('X-Trace', 't-1')
    await js.publish('allsource.ingest.acme.order-4', '{"type":"order.placed","payload":{"total":4}}', { headers: wrong })
    for (let i = 0; i < 14; i++) await js.publish(`allsource.ingest.acme.bad-${i}`, new Uint8Array([0xc1]))
    await waitFor(() => drained(nc), 30_000, 'the ingest queue to drain')
    expect(await payloadsOf(nc, 'order-3')).toEqual([{}])
    expect(ingest.deadLettered).toBe(15)

    // At most 10 dead-letter lines per 10 s, the rest summed up (at the latest on stop).
    const dlqLines = () => warnings.filter((w) => /dead-lettered/.test(w))
    expect(dlqLines()).toHaveLength(10)
    expect(dlqLines()[0]).toMatch(/BAD_REQUEST malformed msgpack body/)

    const dead = (await listDeadLetters(nc, { tenant: 'acme' })).find((d) => d.ingestSubject.endsWith('order-4'))!
    expect(await redriveDeadLetter(nc, dead.id, { contentType: 'bad\r\nX: y' })).toMatchObject({ _tag: 'Left', left: { _tag: 'BadRequest' } })
    expect((await redriveDeadLetter(nc, dead.id, { contentType: 'application/json' }))._tag).toBe('Right')
    await waitFor(async () => (await payloadsOf(nc, 'order-4')).length === 1, 30_000, 'the redriven message')
    expect(await payloadsOf(nc, 'order-4')).toEqual([{ total: 4 }])

    await app.close()
    expect(warnings.some((w) => /^5 more dead letters not logged in the last 10 s$/.test(w))).toBe(true)
    await nc.close()
  })

  it('a dead letter near max_payload keeps its body whole and fits; a larger ingest message is refused at publish', async () => {
    const nc = await connect({ servers: server().url })
    const js = jetstream(nc)
    const maxPayload = nc.info?.max_payload ?? 2 ** 20
    const app = await createAllSource({ nc })
    const ingest = await app.startIngest({ lease: false })
    const before = ingest.deadLettered
    // As large as an ingest message may be (max_payload − 1 KiB, headers included), and invalid.
    const h = headers()
    h.set('X-Long', 'h'.repeat(600))
    const headerSize = 12 + 'X-Long: '.length + 600 + 2
    const body = new Uint8Array(maxPayload - 1_024 - headerSize).fill(0xc1)
    await js.publish('allsource.ingest.acme.big-1', body, { headers: h })
    await waitFor(() => ingest.deadLettered === before + 1, 30_000, 'the dead letter')
    const dead = (await listDeadLetters(nc, { tenant: 'acme' })).find((d) => d.ingestSubject.endsWith('big-1'))!
    expect(dead.data).toEqual(body)
    expect(dead.code).toBe('BAD_REQUEST')
    // A message past the cap is refused by JetStream (no dead letter could carry it).
    await expect(js.publish('allsource.ingest.acme.big-2', new Uint8Array(maxPayload - 100).fill(0xc1))).rejects.toThrow()
    expect(await drained(nc)).toBe(true)
    await app.close()
    await nc.close()
  })

  it('asks for ingest messages in pulls bounded by bytes (8 MiB), not only by count', async () => {
    const nc = await connect({ servers: server().url })
    const spy = await connect({ servers: server().url })
    const pulls: { batch?: number; max_bytes?: number }[] = []
    const sub = spy.subscribe('$JS.API.CONSUMER.MSG.NEXT.ALLSOURCE_INGEST.>', { callback: (_e, m) => { pulls.push(m.json()) } })
    await spy.flush()
    const app = await createAllSource({ nc })
    await app.startIngest({ lease: false })
    await waitFor(() => pulls.length > 0, 10_000, 'a pull request')
    expect(pulls[0]?.max_bytes).toBe(8 * 2 ** 20)
    expect(pulls[0]?.batch).toBeLessThanOrEqual(100)
    sub.unsubscribe()
    await app.close()
    await Promise.all([nc.close(), spy.close()])
  })
})
