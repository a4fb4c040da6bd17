import { jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultEventStreamOptions, ensureEventStream } from '../../src/adapters/nats/log/eventStream.js'
import { GroupingPublisher } from '../../src/adapters/nats/log/groupingPublisher.js'
import { createJetStreamEventLog, type JetStreamEventLog } from '../../src/adapters/nats/log/jetStreamEventLog.js'
import { PipelinedPublisher, type Publisher, type PublishResult } from '../../src/adapters/nats/log/pipelinedPublisher.js'
import { WireHeaders } from '../../src/adapters/nats/log/wireHeaders.js'
import { createAllSource, type AllSource } from '../../src/main/allSource.js'
import { commitOf, eventLogContract } from '../support/eventLogContract.js'
import { withNatsServer } from '../support/natsServer.js'

/**
 * Grouped commits (ALLSOURCE_GROUP_COMMITS): commits of different streams published within one
 * turn of the event loop go out as one JetStream atomic batch. These tests run against a real
 * nats-server (>= 2.12) with `sync_interval: always`, as the mode is meant for.
 */
/** A publisher whose first batch-commit ack is dropped: the batch is stored, its ack never arrives. */
const losingFirstBatchAck = (nc: NatsConnection): { publisher: Publisher; dropped: () => number } => {
  const real = new PipelinedPublisher(nc, 5_000)
  let dropped = 0
  const publisher: Publisher = {
    publish: async (s, d, h): Promise<PublishResult> => {
      const res = await real.publish(s, d, h)
      if (h?.get('Nats-Batch-Commit') === '1' && dropped === 0) {
        dropped++
        return { _tag: 'TimedOut' }
      }
      return res
    },
    close: () => real.close(),
  }
  return { publisher, dropped: () => dropped }
}

describe('grouped commits (atomic batches)', () => {
  const server = withNatsServer({ syncAlways: true })
  let nc: NatsConnection
  let pub: GroupingPublisher
  let log: JetStreamEventLog
  const jsm = () => jetstreamManager(nc)

  beforeAll(async () => {
    nc = await connect({ servers: server().url })
    await ensureEventStream(nc, await jsm(), { ...defaultEventStreamOptions, allowAtomic: true })
    // minBatch 2: every pair of concurrent appends becomes a batch, so the contract runs through batches.
    pub = new GroupingPublisher(nc, new PipelinedPublisher(nc, 5_000), { minBatch: 2 })
    log = createJetStreamEventLog(nc, {}, pub)
  })
  afterAll(async () => {
    log?.close()
    await nc?.close()
  })

  eventLogContract('JetStream, grouped', () => log)

  const stored = async (seq: number) => (await jsm()).direct.getMessage('ALLSOURCE_EVENTS', { seq })
  const lastSeqOf = async (subject: string): Promise<number> => (await (await jsm()).direct.getMessage('ALLSOURCE_EVENTS', { last_by_subj: subject }))?.seq ?? 0
  const headersOf = (msgId: string, expected?: number): WireHeaders =>
    expected === undefined ? WireHeaders.of(['Nats-Msg-Id', msgId]) : WireHeaders.of(['Nats-Msg-Id', msgId], ['Nats-Expected-Last-Subject-Sequence', String(expected)])
  const data = new TextEncoder().encode('x')
  let run = 0

  it('sets allow_atomic on the event stream', async () => {
    expect((await (await jsm()).streams.info('ALLSOURCE_EVENTS')).config.allow_atomic).toBe(true)
  })

  it('stores the commits of one turn as one batch, each at the sequence it is answered with', async () => {
    const r = ++run
    const results = await Promise.all(Array.from({ length: 20 }, (_, k) => pub.publish(`allsource.events.g.batch${r}-${k}`, data, headersOf(`b${r}-${k}`, 0))))
    const seqs = results.map((x) => (x._tag === 'Stored' ? x.seq : -1))
    expect(seqs.every((s) => s > 0)).toBe(true)
    expect(seqs).toEqual(seqs.map((_, k) => (seqs[0] as number) + k)) // contiguous, in publish order
    for (const [k, seq] of seqs.entries()) {
      const m = await stored(seq)
      expect(m?.subject).toBe(`allsource.events.g.batch${r}-${k}`)
      expect(m?.header.get('Nats-Msg-Id')).toBe(`b${r}-${k}`)
      expect(m?.header.get('Nats-Batch-Id')).not.toBe('') // it went out as a batch, and keeps the batch headers
      expect(m?.header.get('Nats-Batch-Sequence')).toBe(String(k + 1))
      expect(m?.header.get('Nats-Batch-Commit')).toBe(k === seqs.length - 1 ? '1' : '')
    }
  })

  it('one member whose expected sequence is stale fails alone: the others are stored', async () => {
    const r = ++run
    const stale = `allsource.events.g.stale${r}`
    const first = await pub.publish(stale, data, headersOf(`s${r}-first`, 0))
    expect(first._tag).toBe('Stored')
    const results = await Promise.all([
      ...Array.from({ length: 9 }, (_, k) => pub.publish(`allsource.events.g.ok${r}-${k}`, data, headersOf(`ok${r}-${k}`, 0))),
      pub.publish(stale, data, headersOf(`s${r}-second`, 0)), // stale: the subject is at `first` now
    ])
    expect(results.slice(0, 9).every((x) => x._tag === 'Stored' && !x.duplicate)).toBe(true)
    expect(results[9]).toMatchObject({ _tag: 'Rejected', errCode: 10071 })
    for (let k = 0; k < 9; k++) expect(await lastSeqOf(`allsource.events.g.ok${r}-${k}`)).toBe((results[k] as Extract<PublishResult, { seq: number }>).seq)
    expect(await lastSeqOf(stale)).toBe((first as Extract<PublishResult, { seq: number }>).seq)
  })

  it('one member whose Nats-Msg-Id is already stored answers duplicate with the stored sequence; the others are stored once', async () => {
    const r = ++run
    const original = await pub.publish(`allsource.events.g.dup${r}`, data, headersOf(`d${r}`, 0))
    expect(original._tag).toBe('Stored')
    const results = await Promise.all([
      pub.publish(`allsource.events.g.dup${r}`, data, headersOf(`d${r}`, 0)), // a retry: same Msg-Id, now-stale expectation
      ...Array.from({ length: 9 }, (_, k) => pub.publish(`allsource.events.g.new${r}-${k}`, data, headersOf(`n${r}-${k}`, 0))),
    ])
    // The server checks the expected sequence before dedupe on one replica (2.15): either answer is a refusal of the retry.
    const retry = results[0] as PublishResult
    expect(retry._tag === 'Stored' ? retry.duplicate && retry.seq === (original as Extract<PublishResult, { seq: number }>).seq : retry._tag === 'Rejected' && retry.errCode === 10071).toBe(true)
    expect(results.slice(1).every((x) => x._tag === 'Stored' && !x.duplicate)).toBe(true)
    expect(await lastSeqOf(`allsource.events.g.dup${r}`)).toBe((original as Extract<PublishResult, { seq: number }>).seq)
  })

  it('never puts two commits of one subject in a batch: both keep their own expected-sequence check', async () => {
    const r = ++run
    const subject = `allsource.events.g.same${r}`
    const [a, b] = await Promise.all([pub.publish(subject, data, headersOf(`a${r}`, 0)), pub.publish(subject, data, headersOf(`b${r}`, 0))])
    // Both expected an empty subject: exactly one is stored.
    expect([a, b].filter((x) => x._tag === 'Stored')).toHaveLength(1)
    expect([a, b].filter((x) => x._tag === 'Rejected' && x.errCode === 10071)).toHaveLength(1)
  })

  it('writes a run of one stream as one atomic batch: contiguous, in order, each commit under its own Nats-Msg-Id', async () => {
    const r = ++run
    const stream = `run${r}`
    const first = await log.append(commitOf('g', stream, 0), 0)
    if (first._tag !== 'Appended') throw new Error(first._tag)
    const commits = Array.from({ length: 5 }, (_, k) => commitOf('g', stream, 1 + k))
    const outcome = await log.appendRun?.(commits, first.offset, commits.map(() => undefined))
    if (outcome?._tag !== 'Appended') throw new Error(JSON.stringify(outcome))
    expect(outcome.offsets).toEqual(outcome.offsets.map((_, k) => (outcome.offsets[0] as number) + k))
    const batchIds = new Set<string>()
    for (const [k, offset] of outcome.offsets.entries()) {
      const m = await stored(offset)
      expect(m?.subject).toBe(`allsource.events.g.${stream}`)
      expect(m?.header.get('Nats-Msg-Id')).toBe(commits[k]?.commitId)
      expect(m?.header.get('Nats-Expected-Last-Subject-Sequence')).toBe(k === 0 ? String(first.offset) : '')
      batchIds.add(m?.header.get('Nats-Batch-Id') ?? '')
    }
    expect(batchIds.size).toBe(1)
    expect(await log.readHead('g' as never, stream as never)).toEqual({ version: 6, lastOffset: outcome.offsets[4] })
  })

  it('a run with a stale expected sequence, or a commitId already stored, stores nothing (NotStored)', async () => {
    const r = ++run
    const stream = `runx${r}`
    const first = await log.append(commitOf('g', stream, 0), 0)
    if (first._tag !== 'Appended') throw new Error(first._tag)
    const stale = [commitOf('g', stream, 0), commitOf('g', stream, 1)]
    expect(await log.appendRun?.(stale, 0, [undefined, undefined])).toMatchObject({ _tag: 'NotStored' })
    const withStoredId = [commitOf('g', stream, 1), commitOf('g', stream, 2, 1, (await stored(first.offset))?.header.get('Nats-Msg-Id'))]
    expect(await log.appendRun?.(withStoredId, first.offset, [undefined, undefined])).toMatchObject({ _tag: 'NotStored' })
    expect(await lastSeqOf(`allsource.events.g.${stream}`)).toBe(first.offset) // nothing of either run
  })

  it('a run whose ack is lost is sent again and settled by reading: every commit appended once, at its offset', async () => {
    const { publisher: losing, dropped } = losingFirstBatchAck(nc)
    const lossy = createJetStreamEventLog(nc, {}, losing)
    const stream = `runlost${++run}`
    const commits = Array.from({ length: 4 }, (_, k) => commitOf('g', stream, k))
    const outcome = await lossy.appendRun?.(commits, 0, commits.map(() => undefined))
    expect(dropped()).toBe(1)
    if (outcome?._tag !== 'Appended') throw new Error(JSON.stringify(outcome))
    for (const [k, offset] of outcome.offsets.entries()) expect((await stored(offset))?.header.get('Nats-Msg-Id')).toBe(commits[k]?.commitId)
    expect(await lastSeqOf(`allsource.events.g.${stream}`)).toBe(outcome.offsets[3])
    await expect((await jsm()).streams.info('ALLSOURCE_EVENTS', { subjects_filter: `allsource.events.g.${stream}` }).then((i) => i.state.subjects?.[`allsource.events.g.${stream}`])).resolves.toBe(4)
    lossy.close()
  })

  it('answers every member "may be stored" when the batch ack is lost, and the log settles each as appended', async () => {
    const { publisher: losing, dropped } = losingFirstBatchAck(nc)
    const grouped = new GroupingPublisher(nc, losing, { minBatch: 2 })
    const lossy = createJetStreamEventLog(nc, {}, grouped)
    const r = ++run
    const commits = Array.from({ length: 6 }, (_, k) => commitOf('g', `lost${r}-${k}`, 0))
    const outcomes = await Promise.all(commits.map((c) => lossy.append(c, 0)))
    expect(dropped()).toBe(1)
    for (const [k, o] of outcomes.entries()) {
      expect(o._tag).toBe('Appended')
      const m = await stored(o._tag === 'Appended' ? o.offset : 0)
      expect(m?.header.get('Nats-Msg-Id')).toBe((commits[k] as { commitId: string }).commitId)
      expect(await lastSeqOf(`allsource.events.g.lost${r}-${k}`)).toBe(o._tag === 'Appended' ? o.offset : -1)
    }
    lossy.close()
  })
})

describe('grouped commits through createAllSource', () => {
  const server = withNatsServer({ syncAlways: true })
  let nc: NatsConnection
  let app: AllSource

  beforeAll(async () => {
    nc = await connect({ servers: server().url })
    app = await createAllSource({ nc, groupCommits: { minBatch: 2 } })
  })
  afterAll(async () => {
    await app?.close()
    await nc?.close()
  })

  it('loses nothing and stores nothing twice under racing writers with retries of the same commitIds', async () => {
    const streams = 40
    const rounds = 5
    // Two writers per stream race with numeric expectedVersions (conflicts inside batches), and each
    // append is sent twice with the same commitId (a client retry): every pair must answer one commit.
    const acked = new Map<string, { offset: number; stream: string }>()
    await Promise.all(
      Array.from({ length: streams * 2 }, async (_, w) => {
        const stream = `race-${w % streams}`
        for (let i = 0; i < rounds; i++) {
          const head = await app.append('g', stream, [{ type: 'probe', payload: { w, i } }], { expectedVersion: 'any', commitId: `c-${w}-${i}` })
          if (E.isLeft(head)) throw new Error(JSON.stringify(head.left))
          const again = await app.append('g', stream, [{ type: 'probe', payload: { w, i } }], { expectedVersion: 0, commitId: `c-${w}-${i}` })
          if (E.isLeft(again)) throw new Error(`retry of c-${w}-${i}: ${JSON.stringify(again.left)}`)
          expect(again.right.duplicate).toBe(true)
          expect(again.right.offset).toBe(head.right.offset)
          acked.set(`c-${w}-${i}`, { offset: head.right.offset, stream })
        }
      }),
    )
    expect(acked.size).toBe(streams * 2 * rounds)
    // Every acknowledged commit is stored, at its offset, once.
    const js = await jetstreamManager(nc)
    for (let s = 0; s < streams; s++) {
      const page = await app.read('g', `race-${s}`)
      if (E.isLeft(page)) throw new Error(JSON.stringify(page.left))
      expect(page.right.events.map((e) => e.version)).toEqual(Array.from({ length: 2 * rounds }, (_, k) => k + 1)) // gapless
    }
    let batched = 0
    for (const [commitId, { offset, stream }] of acked) {
      const m = await js.direct.getMessage('ALLSOURCE_EVENTS', { seq: offset })
      expect(m?.header.get('Nats-Msg-Id')).toBe(commitId)
      expect(m?.subject).toBe(`allsource.events.g.${stream}`)
      if (m?.header.get('Nats-Batch-Id') !== '') batched++
    }
    expect(batched).toBeGreaterThan(0) // the appends did go out in batches
    expect((await js.streams.info('ALLSOURCE_EVENTS')).state.messages).toBe(streams * 2 * rounds)
  })

  it('one busy stream: queued commits go out as runs; retries, numeric expectations and a second processor on the stream keep every version once', async () => {
    const nc2 = await connect({ servers: server().url })
    const other = await createAllSource({ nc: nc2, groupCommits: { minBatch: 2 } })
    const stream = 'hot-1'
    // Two processors racing on one stream (no routing here) may answer UNAVAILABLE "contended"; a client retries that with the same commitId.
    const retrying = async <T extends E.Either<{ _tag: string }, unknown>>(append: () => Promise<T>): Promise<T> => {
      for (let attempt = 0; ; attempt++) {
        const r = await append()
        if (E.isRight(r) || r.left._tag !== 'Unavailable' || attempt >= 50) return r
        await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 20))
      }
    }
    const acked = new Map<string, number>()
    const refused: string[] = []
    const failures: string[] = []
    try {
      await Promise.all(
        Array.from({ length: 40 }, async (_, w) => {
          // Most writers on this processor (its actor queues them into runs); a few on the other, which makes runs meet conflicts.
          const a = w % 8 === 7 ? other : app
          let seen = 0
          for (let i = 0; i < 8; i++) {
            const commitId = `h-${w}-${i}`
            // Every third append expects the version this writer last saw: stale when others got in (then it must be refused, and not stored).
            const expectedVersion = i % 3 === 2 ? seen : 'any'
            const first = await retrying(() => a.append('g', stream, [{ type: 'probe', payload: { w, i } }], { expectedVersion, commitId }))
            if (E.isLeft(first)) {
              if (first.left._tag === 'WrongExpectedVersion') refused.push(commitId)
              else failures.push(`${commitId}: ${JSON.stringify(first.left)}`)
              continue
            }
            seen = first.right.toVersion
            acked.set(commitId, first.right.offset)
            if (i % 4 === 0) {
              // A client retry of a stored commit, queued among new ones: a duplicate, the first answer.
              // Not retried on UNAVAILABLE: a retry of a stored commit is answered duplicate even while two processors contend (looked up after its second conflict).
              const again = await a.append('g', stream, [{ type: 'probe', payload: { w, i } }], { expectedVersion: 'any', commitId })
              if (E.isLeft(again) || again.right.duplicate !== true || again.right.offset !== first.right.offset) failures.push(`retry of ${commitId}: ${JSON.stringify(again)}`)
            }
          }
        }),
      )
    } finally {
      await other.close()
      await nc2.close()
    }
    expect(failures).toEqual([])
    const page = await app.read('g', stream, { limit: 1_000 })
    if (E.isLeft(page)) throw new Error(JSON.stringify(page.left))
    expect(page.right.events.map((e) => e.version)).toEqual(Array.from({ length: acked.size }, (_, k) => k + 1)) // gapless, each acked commit once
    const js = await jetstreamManager(nc)
    const batches = new Map<string, number>()
    for (const [commitId, offset] of acked) {
      const m = await js.direct.getMessage('ALLSOURCE_EVENTS', { seq: offset })
      expect(m?.header.get('Nats-Msg-Id')).toBe(commitId)
      const batch = m?.header.get('Nats-Batch-Id') ?? ''
      if (batch !== '') batches.set(batch, (batches.get(batch) ?? 0) + 1)
    }
    for (const commitId of refused) expect(acked.has(commitId)).toBe(false)
    expect(app.runs().stored).toBeGreaterThan(0)
    expect([...batches.values()].some((n) => n >= 2)).toBe(true) // runs: several commits of this one stream in one batch
    const info = await js.streams.info('ALLSOURCE_EVENTS', { subjects_filter: `allsource.events.g.${stream}` })
    expect(info.state.subjects?.[`allsource.events.g.${stream}`]).toBe(acked.size)
  })
})
