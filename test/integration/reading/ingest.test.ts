import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect, headers } from '@nats-io/transport-node'
import { pack } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { listDeadLetters, redriveDeadLetter } from '../../../src/adapters/nats/ingest/deadLetters.js'
import { ensureIngestStreams } from '../../../src/adapters/nats/ingest/ingestStreams.js'
import { createAllSource } from '../../../src/main/allSource.js'
import { bankAccountModule } from '../../../src/domain/examples/bankAccount.js'
import { readWholeLog } from '../../support/eventLogReader.js'
import { withNatsServer } from '../../support/natsServer.js'
import { spawnProcessor } from '../../support/processor.js'

const waitFor = async (cond: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> => {
  const started = Date.now()
  while (!(await cond())) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('durable ingest: allsource.ingest.<tenant>.<stream>', () => {
  const server = withNatsServer()

  it('appends events published while no processor ran, in publish order, acks the ingest queue, and dead-letters invalid ones', async () => {
    const nc = await connect({ servers: server().url })
    const js = jetstream(nc)
    const jsm = await jetstreamManager(nc)
    await ensureIngestStreams(jsm)
    // Published before any processor runs: JetStream holds them.
    for (let i = 0; i < 20; i++) await js.publish('allsource.ingest.acme.orders-1', pack({ type: 'order.placed', payload: { i } }))
    const json = headers()
    json.set('Content-Type', 'application/json')
    await js.publish('allsource.ingest.acme.orders-2', JSON.stringify({ events: [{ type: 'a', payload: 1 }, { type: 'b', payload: 2 }] }), { headers: json })
    await js.publish('allsource.ingest.acme.orders-1', pack({ type: 'bad type', payload: 1 }))
    await js.publish('allsource.ingest.acme.orders-1', new Uint8Array([0x81]))
    await js.publish('allsource.ingest.acme.account-1', pack({ type: 'MoneyDeposited', payload: { amount: 5 } }))
    await js.publish('allsource.ingest.acme.orders-3', pack({ type: 'x' }))

    const app = await createAllSource({ nc, modules: [bankAccountModule] })
    const ingest = await app.startIngest()
    await waitFor(async () => (await jsm.streams.info('ALLSOURCE_INGEST')).state.messages === 0)
    expect(ingest.appended).toBe(21)
    expect(ingest.deadLettered).toBe(4)

    const log = await readWholeLog(nc)
    const orders1 = log.filter((c) => c.body.stream === 'orders-1').flatMap((c) => c.body.events)
    expect(orders1.map((e) => (e.payload as { i: number }).i)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    expect(orders1.map((e) => e.version)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    expect(log.filter((c) => c.body.stream === 'orders-2').flatMap((c) => c.body.events.map((e) => e.type))).toEqual(['a', 'b'])
    expect(log.some((c) => c.body.stream === 'account-1' || c.body.stream === 'orders-3')).toBe(false)

    // Streams are served concurrently: dead letters of different streams come in any order.
    const dead = await listDeadLetters(nc, { tenant: 'acme' })
    expect(dead.map((d) => `${d.ingestSubject} ${d.code}`).sort()).toEqual([
      'allsource.ingest.acme.account-1 VALIDATION_FAILED',
      'allsource.ingest.acme.orders-1 BAD_REQUEST',
      'allsource.ingest.acme.orders-1 INVALID_ID',
      'allsource.ingest.acme.orders-3 BAD_REQUEST',
    ])
    const orders1Dead = dead.filter((d) => d.ingestSubject.endsWith('orders-1'))
    expect(orders1Dead.map((d) => d.code)).toEqual(['INVALID_ID', 'BAD_REQUEST'])
    expect(orders1Dead[0]?.data).toEqual(pack({ type: 'bad type', payload: 1 }))
    const deposit = dead.find((d) => d.code === 'VALIDATION_FAILED')!

    // Fix the cause (open the account), then re-drive: it is appended this time.
    await app.execute('acme', 'account-1', { type: 'Open', owner: 'ann' })
    const redriven = await redriveDeadLetter(nc, deposit.id)
    expect(redriven._tag).toBe('Right')
    await waitFor(async () => (await readWholeLog(nc)).some((c) => c.body.stream === 'account-1' && c.body.events[0]?.type === 'MoneyDeposited'))
    expect((await listDeadLetters(nc)).map((d) => d.id)).not.toContain(deposit.id)
    expect(await redriveDeadLetter(nc, deposit.id)).toMatchObject({ _tag: 'Left', left: { _tag: 'NotFound' } })
    expect(await redriveDeadLetter(nc, 0)).toMatchObject({ _tag: 'Left', left: { _tag: 'BadRequest' } })

    await app.close()
    await nc.close()
  })
})

describe('durable ingest under crashes', () => {
  const server = withNatsServer()

  it('10,000 events over 100 streams, processor SIGKILLed and restarted twice: each stored once, in publish order per stream', async () => {
    const nc = await connect({ servers: server().url })
    const js = jetstream(nc)
    const jsm = await jetstreamManager(nc)
    await ensureIngestStreams(jsm)
    const env = { NATS_URL: server().url, ALLSOURCE_EXAMPLE_MODULES: '0', ALLSOURCE_LEASE_MS: '1000' }
    let processor = spawnProcessor(env)
    await processor.ready()

    const streams = 100
    const perStream = 100
    let invalid = 0
    const publishing = (async () => {
      for (let n = 0; n < perStream; n++) {
        await Promise.all(
          Array.from({ length: streams }, (_, s) => js.publish(`allsource.ingest.acme.ing-${s}`, pack({ type: 'e', payload: { s, n } }))),
        )
        if (n % 25 === 0) {
          await js.publish(`allsource.ingest.acme.ing-0`, pack({ type: 'e', payload: null }))
          invalid++
        }
      }
    })()

    for (let kill = 0; kill < 2; kill++) {
      // Polled by the stream's message count (one per commit): reading the whole log every 50 ms took CPU from the processor.
      await waitFor(async () => (await jsm.streams.info('ALLSOURCE_EVENTS')).state.messages >= 2_500 * (kill + 1), 120_000)
      processor.proc.kill('SIGKILL')
      await processor.exited()
      // The kill left work behind: some published events were not yet appended and acked.
      const left = (await jsm.streams.info('ALLSOURCE_INGEST')).state.messages
      const stored = (await readWholeLog(nc)).length
      expect(left > 0 || stored < streams * perStream).toBe(true)
      processor = spawnProcessor(env)
      await processor.ready()
    }
    await publishing
    await waitFor(async () => (await jsm.streams.info('ALLSOURCE_INGEST')).state.messages === 0, 120_000)

    const log = await readWholeLog(nc)
    const byStream = new Map<string, number[]>()
    for (const c of log) for (const e of c.body.events) byStream.set(c.body.stream, [...(byStream.get(c.body.stream) ?? []), (e.payload as { n: number }).n])
    expect(byStream.size).toBe(streams)
    for (const [, ns] of byStream) expect(ns).toEqual(Array.from({ length: perStream }, (_, n) => n))
    expect(log.flatMap((c) => c.body.events)).toHaveLength(streams * perStream)
    expect((await listDeadLetters(nc)).length).toBe(invalid)

    processor.proc.kill('SIGTERM')
    expect(await processor.exited()).toBe(0)
    await nc.close()
  }, 300_000)

  it('two processors: only the ingest lease holder consumes; SIGKILL it, the other takes over, each event once and in order', async () => {
    const nc = await connect({ servers: server().url })
    const js = jetstream(nc)
    const jsm = await jetstreamManager(nc)
    await ensureIngestStreams(jsm)
    const commits = async (): Promise<number> => (await jsm.streams.info('ALLSOURCE_EVENTS')).state.messages
    const before = await commits()
    const env = (name: string) => ({ NATS_URL: server().url, ALLSOURCE_EXAMPLE_MODULES: '0', ALLSOURCE_LEASE_MS: '1000', ALLSOURCE_INSTANCE: name, ALLSOURCE_PROJECTIONS: '0' })
    const a = spawnProcessor(env('ing-a'))
    await a.ready()
    const b = spawnProcessor(env('ing-b'))
    await b.ready()
    const activeLine = /ingest: active/
    expect(activeLine.test(a.output())).toBe(true)
    expect(b.output()).not.toMatch(activeLine)

    const streams = 50
    const perStream = 100
    const publishing = (async () => {
      for (let n = 0; n < perStream; n++) {
        await Promise.all(Array.from({ length: streams }, (_, s) => js.publish(`allsource.ingest.acme.two-${s}`, pack({ type: 'e', payload: { s, n } }))))
      }
    })()
    await waitFor(async () => (await commits()) - before >= 1_000, 120_000)
    expect(b.output()).not.toMatch(activeLine) // still standing by while a consumes
    a.proc.kill('SIGKILL')
    await a.exited()
    await waitFor(async () => activeLine.test(b.output()), 30_000)
    await publishing
    await waitFor(async () => (await jsm.streams.info('ALLSOURCE_INGEST')).state.messages === 0, 120_000)

    const log = (await readWholeLog(nc)).filter((c) => c.body.stream.startsWith('two-'))
    const byStream = new Map<string, number[]>()
    for (const c of log) for (const e of c.body.events) byStream.set(c.body.stream, [...(byStream.get(c.body.stream) ?? []), (e.payload as { n: number }).n])
    expect(byStream.size).toBe(streams)
    for (const [, ns] of byStream) expect(ns).toEqual(Array.from({ length: perStream }, (_, n) => n))
    b.proc.kill('SIGTERM')
    expect(await b.exited()).toBe(0)
    await nc.close()
  }, 300_000)
})
