import { jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureEventStream, defaultEventStreamOptions } from '../../src/adapters/nats/log/eventStream.js'
import { createJetStreamEventLog, type JetStreamEventLog } from '../../src/adapters/nats/log/jetStreamEventLog.js'
import { PipelinedPublisher, type Publisher, type PublishResult } from '../../src/adapters/nats/log/pipelinedPublisher.js'
import { commitOf, eventLogContract } from '../support/eventLogContract.js'
import { withNatsServer } from '../support/natsServer.js'

describe('JetStream event log', () => {
  const server = withNatsServer({ config: 'max_payload: 4096' })
  let nc: NatsConnection
  let log: JetStreamEventLog

  beforeAll(async () => {
    nc = await connect({ servers: server().url })
    await ensureEventStream(nc, await jetstreamManager(nc))
    log = createJetStreamEventLog(nc)
  })
  afterAll(async () => {
    log?.close()
    await nc?.close()
  })

  eventLogContract('JetStream', () => log)

  it('creates ALLSOURCE_EVENTS as the contract says', async () => {
    const { config } = await (await jetstreamManager(nc)).streams.info('ALLSOURCE_EVENTS')
    expect(config).toMatchObject({
      subjects: ['allsource.events.>'],
      storage: 'file',
      deny_delete: true,
      deny_purge: true,
      allow_direct: true,
      duplicate_window: 120_000_000_000,
      discard: 'new',
    })
  })

  it('brings an existing stream to the contract on start-up (idempotent)', async () => {
    const jsm = await jetstreamManager(nc)
    await ensureEventStream(nc, jsm, { ...defaultEventStreamOptions, duplicateWindowMs: 60_000 })
    expect((await jsm.streams.info('ALLSOURCE_EVENTS')).config.duplicate_window).toBe(60_000_000_000)
    await ensureEventStream(nc, jsm)
    expect((await jsm.streams.info('ALLSOURCE_EVENTS')).config.duplicate_window).toBe(120_000_000_000)
  })

  it('stores the contract headers on every commit', async () => {
    const c = commitOf('acme', 'headers-1', 0, 3)
    const r = await log.append(c, 0)
    const m = await (await jetstreamManager(nc)).direct.getMessage('ALLSOURCE_EVENTS', { seq: r._tag === 'Appended' ? r.offset : 0 })
    expect(m?.subject).toBe('allsource.events.acme.headers-1')
    expect(m?.header.get('Nats-Msg-Id')).toBe(c.commitId)
    expect(m?.header.get('AllSource-First-Version')).toBe('1')
    expect(m?.header.get('AllSource-Last-Version')).toBe('3')
    expect(m?.header.get('AllSource-Types')).toBe('thing.happened')
    expect(m?.header.get('Content-Type')).toBe('application/msgpack')
  })

  it('answers TooLarge before publishing a commit over the server max payload', async () => {
    const r = await log.append(commitOf('acme', 'big-1', 0, 60), 0)
    expect(r).toMatchObject({ _tag: 'TooLarge', max: 4096 })
    expect((await log.readHead('acme' as never, 'big-1' as never)).version).toBe(0)
  })

  it('pipelines: 2,000 appends to 200 streams in flight at once all land, versions gapless per stream', async () => {
    const streams = Array.from({ length: 200 }, (_, i) => `pipe-${i}`)
    const results = await Promise.all(
      streams.map(async (s) => {
        let last = 0
        for (let v = 0; v < 10; v++) {
          const r = await log.append(commitOf('acme', s, v), last)
          if (r._tag !== 'Appended') return r._tag
          last = r.offset
        }
        return (await log.readHead('acme' as never, s as never)).version
      }),
    )
    expect(results).toEqual(streams.map(() => 10))
  })
})

describe('JetStream event log: acks lost in transit', () => {
  const server = withNatsServer()

  it('retries a publish whose ack was lost, reports it appended, and stores it once', async () => {
    const nc = await connect({ servers: server().url })
    await ensureEventStream(nc, await jetstreamManager(nc))
    const real = new PipelinedPublisher(nc)
    const seen = new Set<string>()
    // The first attempt of every commit is stored, but its ack is "lost".
    const lossy: Publisher = {
      publish: async (subject, data, h) => {
        const r = await real.publish(subject, data, h)
        const id = h?.get('Nats-Msg-Id') ?? ''
        if (seen.has(id)) return r
        seen.add(id)
        return { _tag: 'TimedOut' }
      },
      close: () => real.close(),
    }
    const log = createJetStreamEventLog(nc, {}, lossy)
    let last = 0
    for (let v = 0; v < 5; v++) {
      const r = await log.append(commitOf('acme', 'lossy', v), last)
      expect(r._tag).toBe('Appended')
      last = r._tag === 'Appended' ? r.offset : -1
    }
    const info = await (await jetstreamManager(nc)).streams.info('ALLSOURCE_EVENTS')
    expect(info.state.messages).toBe(5)
    expect(seen.size).toBe(5)
    log.close()
    await nc.close()
  })
})

describe('JetStream event log: what a leader election answers', () => {
  const server = withNatsServer()
  let nc: NatsConnection
  beforeAll(async () => {
    nc = await connect({ servers: server().url })
    await ensureEventStream(nc, await jetstreamManager(nc))
  })
  afterAll(() => nc?.close())

  /** The real publisher, except that the first `answers.length` publishes are answered with these, and not sent. */
  const scripted = (answers: PublishResult[]) => {
    const real = new PipelinedPublisher(nc)
    const calls = { count: 0 }
    const publisher: Publisher = {
      publish: (subject, data, h) => {
        calls.count++
        const next = answers.shift()
        return next !== undefined ? Promise.resolve(next) : real.publish(subject, data, h)
      },
      close: () => real.close(),
    }
    return { publisher, calls }
  }
  const stored = async (stream: string) => (await (await jetstreamManager(nc)).streams.info('ALLSOURCE_EVENTS', { subjects_filter: `allsource.events.acme.${stream}` })).state.subjects?.[`allsource.events.acme.${stream}`] ?? 0

  it('publishes again after no responders and "temporarily unavailable" refusals (10008, 10163), and appends once', async () => {
    const { publisher, calls } = scripted([
      { _tag: 'NoResponders' },
      { _tag: 'Rejected', errCode: 10163, description: 'expected last sequence per subject temporarily unavailable' },
      { _tag: 'Rejected', errCode: 10008, description: 'JetStream system temporarily unavailable' },
    ])
    const log = createJetStreamEventLog(nc, {}, publisher)
    const r = await log.append(commitOf('acme', 'election-1', 0), 0)
    expect(r._tag).toBe('Appended')
    expect(calls.count).toBe(4)
    expect(await stored('election-1')).toBe(1)
    log.close()
  })

  it('after a timed-out attempt, a wrong last sequence on the retry is checked against the stored commit: its own commit is appended', async () => {
    const real = new PipelinedPublisher(nc)
    let attempt = 0
    // The first attempt is stored but its ack is lost; the retry meets "no responders", then the
    // server's answer to the same bytes again (a duplicate, or 10071 where the expected sequence is checked first).
    const publisher: Publisher = {
      publish: async (subject, data, h) => {
        attempt++
        if (attempt === 1) {
          await real.publish(subject, data, h)
          return { _tag: 'TimedOut' }
        }
        if (attempt === 2) return { _tag: 'NoResponders' }
        return { _tag: 'Rejected', errCode: 10071, description: 'wrong last sequence: 1' }
      },
      close: () => real.close(),
    }
    const log = createJetStreamEventLog(nc, {}, publisher)
    const r = await log.append(commitOf('acme', 'election-2', 0), 0)
    expect(r).toMatchObject({ _tag: 'Appended' })
    expect(await stored('election-2')).toBe(1)
    log.close()
  })

  it('answers Unavailable once the deadline passes, having stored nothing; a refusal that is final is not repeated', async () => {
    const forever: Publisher = { publish: () => Promise.resolve({ _tag: 'NoResponders' }), close: () => undefined }
    const log = createJetStreamEventLog(nc, { appendDeadlineMs: 500 }, forever)
    const r = await log.append(commitOf('acme', 'election-3', 0), 0)
    expect(r).toMatchObject({ _tag: 'Unavailable', message: expect.stringMatching(/within 500 ms \(\d+ attempts; last: no responders/) })
    expect(await stored('election-3')).toBe(0)

    const { publisher, calls } = scripted([{ _tag: 'Rejected', errCode: 10059, description: 'stream not found' }])
    const final = createJetStreamEventLog(nc, {}, publisher)
    expect(await final.append(commitOf('acme', 'election-4', 0), 0)).toMatchObject({ _tag: 'Unavailable', message: expect.stringMatching(/stream not found/) })
    expect(calls.count).toBe(1)
    final.close()
  })
})
