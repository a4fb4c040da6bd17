import { jetstreamManager } from '@nats-io/jetstream'
import * as E from 'fp-ts/lib/Either.js'
import { PipelinedPublisher, type PublishResult } from '../../src/adapters/nats/log/pipelinedPublisher.js'
import { WireHeaders } from '../../src/adapters/nats/log/wireHeaders.js'
import { createAllSource } from '../../src/main/allSource.js'
import { type Row, median } from '../report.js'
import { concurrently, createEventStream, type BenchServer, payload, rounds, sampleCommitBytes } from './common.js'
import { rawLimit } from './append.js'
import { drive, type ServiceResult } from './service.js'

/**
 * Scenario 24 (`BENCH_ONLY=durable`, issue 14 item 7): every path against a nats-server with
 * `sync_interval: always`, where JetStream fsyncs before each ack. Raw single-message publishes
 * next to raw atomic batches (nats-server ≥ 2.12, `allow_atomic`) that group the commits of
 * different streams, the library and the service; on 1,000 streams and on one hot stream.
 */

const EVENTS = 'ALLSOURCE_EVENTS'
const subject = (s: number | string) => `allsource.events.bench.s-${s}`

/** `allow_atomic: true` on the event stream (what a grouping write path would need). */
export const allowAtomic = async (nc: BenchServer['nc']): Promise<void> => {
  await createEventStream(nc)
  const jsm = await jetstreamManager(nc)
  const cfg = (await jsm.streams.info(EVENTS)).config
  await jsm.streams.update(EVENTS, { ...cfg, allow_atomic: true })
}

/** One member of an atomic batch: its subject, bytes and the headers it carries besides the batch's. */
interface Member {
  readonly subject: string
  readonly data: Uint8Array
  readonly msgId: string
  /** `Nats-Expected-Last-Subject-Sequence`, or none (a later commit of the same subject in the batch). */
  readonly expected?: number
}

let batchNo = 0

/**
 * Publishes `members` as one atomic batch: all but the last without a reply subject (the server
 * then sends no per-message ack), the last with `Nats-Batch-Commit: 1` through the pipelined
 * publisher. The ack of the commit carries the last message's sequence and the batch's count.
 */
export const publishAtomicBatch = (nc: BenchServer['nc'], pub: PipelinedPublisher, members: readonly Member[]): Promise<PublishResult> => {
  const id = `b${process.pid}-${++batchNo}`
  const headers = members.map((m, k) => {
    const h = WireHeaders.of(['Nats-Batch-Id', id], ['Nats-Batch-Sequence', String(k + 1)], ['Nats-Msg-Id', m.msgId])
    if (m.expected !== undefined) h.append('Nats-Expected-Last-Subject-Sequence', String(m.expected))
    return h
  })
  const n = members.length
  for (let k = 0; k < n - 1; k++) nc.publish((members[k] as Member).subject, (members[k] as Member).data, { headers: headers[k] as WireHeaders })
  const last = members[n - 1] as Member
  const h = headers[n - 1] as WireHeaders
  h.append('Nats-Batch-Commit', '1')
  return pub.publish(last.subject, last.data, h)
}

/**
 * Raw atomic batches over `streams` streams: the streams form groups of `size`; each group loops,
 * publishing one commit per stream of the group as one batch (each with its own `Nats-Msg-Id` and
 * expected last subject sequence), all groups at once. Events per second.
 */
export const rawBatches = async (b: BenchServer, events: number, streams: number, size: number): Promise<number> => {
  await allowAtomic(b.nc)
  const bytes = sampleCommitBytes()
  const pub = new PipelinedPublisher(b.nc, 30_000)
  const groups = Math.ceil(streams / size)
  const rounds = Math.ceil(events / streams)
  const ms = await concurrently(groups, async (g) => {
    const mine = Array.from({ length: Math.min(size, streams - g * size) }, (_, k) => g * size + k)
    const last = new Map<number, number>()
    for (let i = 0; i < rounds; i++) {
      const r = await publishAtomicBatch(
        b.nc,
        pub,
        mine.map((s) => ({ subject: subject(s), data: bytes, msgId: `rb-${s}-${i}`, expected: last.get(s) ?? 0 })),
      )
      if (r._tag !== 'Stored') throw new Error(`raw batch failed: ${JSON.stringify(r)}`)
      // A committed batch is stored contiguously: its members hold seq - count + 1 .. seq.
      mine.forEach((s, k) => last.set(s, r.seq - mine.length + 1 + k))
    }
  })
  pub.close()
  return (rounds * streams) / (ms / 1000)
}

/**
 * One hot stream, raw: one loop publishing to one subject, each publish with the expected last
 * subject sequence the previous ack gave (with that check, one publish of a subject can be in
 * flight at a time). Events per second.
 */
export const rawHot = async (b: BenchServer, events: number): Promise<number> => {
  await createEventStream(b.nc)
  const bytes = sampleCommitBytes()
  const pub = new PipelinedPublisher(b.nc, 30_000)
  let last = 0
  const t0 = performance.now()
  for (let i = 0; i < events; i++) {
    const r = await pub.publish(subject('hot'), bytes, WireHeaders.of(['Nats-Msg-Id', `hot-${i}`], ['Nats-Expected-Last-Subject-Sequence', String(last)]))
    if (r._tag !== 'Stored') throw new Error(`raw hot publish failed: ${JSON.stringify(r)}`)
    last = r.seq
  }
  pub.close()
  return events / ((performance.now() - t0) / 1000)
}

/**
 * One hot stream, raw atomic batches: one loop sends `size` commits of the same subject per batch,
 * the first with the expected last subject sequence (the server refuses it on any later message of
 * a subject already in the batch), the rest without: the batch is stored whole or not at all.
 */
export const rawHotBatches = async (b: BenchServer, events: number, size: number): Promise<number> => {
  await allowAtomic(b.nc)
  const bytes = sampleCommitBytes()
  const pub = new PipelinedPublisher(b.nc, 30_000)
  let last = 0
  let n = 0
  const t0 = performance.now()
  while (n < events) {
    const members = Array.from({ length: size }, (_, k) => ({ subject: subject('hot'), data: bytes, msgId: `hb-${n + k}`, ...(k === 0 ? { expected: last } : {}) }))
    const r = await publishAtomicBatch(b.nc, pub, members)
    if (r._tag !== 'Stored') throw new Error(`raw hot batch failed: ${JSON.stringify(r)}`)
    last = r.seq
    n += size
  }
  pub.close()
  return n / ((performance.now() - t0) / 1000)
}

/** The library on one hot stream: `writers` appends in flight to the same stream (`expectedVersion: "any"`); `runs`: ALLSOURCE_RUNS (default on). */
export const libraryHot = async (b: BenchServer, events: number, writers: number, runs = true): Promise<number> => {
  const app = await createAllSource({ nc: b.nc, runs })
  let n = 0
  const ms = await concurrently(writers, async () => {
    while (n < events) {
      n++
      const r = await app.append('bench', 's-hot', [{ type: 'thing.happened', payload: payload(n, 0) }])
      if (E.isLeft(r)) throw new Error(`hot append failed: ${JSON.stringify(r.left)}`)
    }
  })
  await app.close()
  return n / (ms / 1000)
}

/** The library over `streams` streams, one event per commit, sequential per stream; `group`: ALLSOURCE_GROUP_COMMITS. */
export const libraryDurable = async (b: BenchServer, events: number, streams: number, group = false): Promise<number> => {
  const app = await createAllSource({ nc: b.nc, groupCommits: group })
  const per = Math.ceil(events / streams)
  const ms = await concurrently(streams, async (s) => {
    for (let i = 0; i < per; i++) {
      const r = await app.append('bench', `s-${s}`, [{ type: 'thing.happened', payload: payload(i, s) }])
      if (E.isLeft(r)) throw new Error(`append failed: ${JSON.stringify(r.left)}`)
    }
  })
  await app.close()
  return (per * streams) / (ms / 1000)
}

/** The service of 3b (processor here, client process) over `streams` streams, `writers` client loops per stream; `group`: ALLSOURCE_GROUP_COMMITS; `runs`: ALLSOURCE_RUNS (default on). */
export const serviceDurable = async (b: BenchServer, events: number, streams: number, writers = 1, group = false, runs = true): Promise<ServiceResult> => {
  const app = await createAllSource({ nc: b.nc, groupCommits: group, runs })
  await app.serve()
  const r = await drive(b, events, streams, undefined, writers)
  await app.close()
  return r
}

/** What the rows below measure, for benchmarks.md's method section. */
export const DURABLE_METHOD = `
- **24 durable**: every path against a fresh nats-server with \`sync_interval: always\` (JetStream
  fsyncs before it acks), R rounds each, in the order below. **1,000 streams**: raw single
  publishes (scenario 1's publisher and loops, 10,000 events); raw atomic batches (nats-server
  ≥ 2.12, \`allow_atomic: true\` set on the event stream): the streams in groups of 10 or 100,
  each group publishing one commit per member stream as one batch, each message with its own
  \`Nats-Msg-Id\` and \`Nats-Expected-Last-Subject-Sequence\`, all groups at once (the members but
  the last go without a reply subject; the commit's ack gives the last sequence and the count);
  the library (\`app.append\`, sequential per stream); the service (3b's processor and client
  process); then the library and the service again with grouped commits (\`groupCommits: true\`,
  i.e. \`ALLSOURCE_GROUP_COMMITS=1\`: batches of 32 to 250 commits). **One hot stream** (3,000
  events): raw, one loop publishing with the expected last subject sequence of the previous ack
  (one publish in flight, as that check allows); raw atomic batches of 10 commits of that one
  subject (only the first carries the expected sequence: the server refuses it on later
  messages of a subject already in the batch); the library with 50 appends in flight; the
  service with 50 client loops on one stream; both with runs (the default: the stream actor writes
  the appends queued behind each other as one atomic batch of that stream when 10 or more are
  queued) and without (\`runs: false\`, one commit per write). Then the same hot-stream paths
  against a fresh server with the default sync (no fsync per write), R rounds each. Ratios are
  against raw single publishes of the same layout and sync.
`

const rate = (scenario: string, metric: string, xs: number[], extra: Partial<Row> = {}): Row => ({ scenario, metric, value: median(xs), unit: 'events/s', rounds: xs, ...extra })

/** Scenario 24's rows: R fresh `sync_interval: always` servers per path. */
export const durableRows = async (quick: boolean, R: number, step: <T>(name: string, fn: () => Promise<T>) => Promise<T>): Promise<Row[]> => {
  const S = quick ? 50 : 1_000
  const N = quick ? 1_000 : 10_000
  const H = quick ? 300 : 3_000
  /** R rounds of `fn`, each on a fresh server (`syncAlways`: `sync_interval: always`). */
  const eachOn =
    (syncAlways: boolean) =>
    <T>(name: string, fn: (b: BenchServer) => Promise<T>): Promise<T[]> =>
      step(name, () => rounds(R, fn, syncAlways))
  const each = eachOn(true)
  const raw = '24 durable raw, 1,000 streams/single publishes'
  const hot = '24 durable raw, hot stream/single publishes'
  const rows: Row[] = []
  rows.push(rate('24 durable raw, 1,000 streams', 'single publishes', await each('durable raw', (b) => rawLimit(b, N, S))))
  rows.push(rate('24 durable raw, 1,000 streams', 'atomic batches of 10', await each('durable raw batches of 10', (b) => rawBatches(b, N, S, 10)), { baseline: raw }))
  rows.push(rate('24 durable raw, 1,000 streams', 'atomic batches of 100', await each('durable raw batches of 100', (b) => rawBatches(b, N, S, 100)), { baseline: raw }))
  rows.push(rate('24 durable library, 1,000 streams', 'throughput', await each('durable library', (b) => libraryDurable(b, N, S)), { baseline: raw }))
  const svc = await each('durable service', (b) => serviceDurable(b, N, S))
  rows.push(rate('24 durable service, 1,000 streams', 'throughput', svc.map((r) => r.eventsPerSecond), { baseline: raw, target: '≥ 0.9×' }))
  rows.push({ scenario: '24 durable service, 1,000 streams', metric: 'cpu nats-server', value: median(svc.map((r) => r.serverCpu)), unit: 'µs/append' })
  rows.push(rate('24 durable library, 1,000 streams', 'grouped commits', await each('durable library, grouped', (b) => libraryDurable(b, N, S, true)), { baseline: raw }))
  const grouped = await each('durable service, grouped', (b) => serviceDurable(b, N, S, 1, true))
  rows.push(rate('24 durable service, 1,000 streams', 'grouped commits', grouped.map((r) => r.eventsPerSecond), { baseline: raw, target: '≥ 1×' }))
  rows.push({ scenario: '24 durable service, 1,000 streams', metric: 'cpu nats-server, grouped', value: median(grouped.map((r) => r.serverCpu)), unit: 'µs/append' })
  rows.push(rate('24 durable raw, hot stream', 'single publishes', await each('durable raw hot', (b) => rawHot(b, H))))
  rows.push(rate('24 durable raw, hot stream', 'atomic batches of 10', await each('durable raw hot batches', (b) => rawHotBatches(b, H, 10)), { baseline: hot }))
  rows.push(rate('24 durable library, hot stream', 'throughput', await each('durable library hot', (b) => libraryHot(b, H, 50)), { baseline: hot }))
  rows.push(rate('24 durable library, hot stream', 'without runs', await each('durable library hot, no runs', (b) => libraryHot(b, H, 50, false)), { baseline: hot }))
  const svcHot = await each('durable service hot', (b) => serviceDurable(b, H, 1, 50))
  rows.push(rate('24 durable service, hot stream', 'throughput', svcHot.map((r) => r.eventsPerSecond), { baseline: hot, target: '≥ 0.9×' }))
  rows.push({ scenario: '24 durable service, hot stream', metric: 'cpu nats-server', value: median(svcHot.map((r) => r.serverCpu)), unit: 'µs/append' })
  const svcHotSingles = await each('durable service hot, no runs', (b) => serviceDurable(b, H, 1, 50, false, false))
  rows.push(rate('24 durable service, hot stream', 'without runs', svcHotSingles.map((r) => r.eventsPerSecond), { baseline: hot }))
  // The same hot stream against a server with the default sync (no fsync per write): runs pay there too.
  const eachDefault = eachOn(false)
  const hotDefault = '24 default sync, hot stream: raw/single publishes'
  rows.push(rate('24 default sync, hot stream: raw', 'single publishes', await eachDefault('default-sync raw hot', (b) => rawHot(b, H))))
  rows.push(rate('24 default sync, hot stream: library', 'throughput', await eachDefault('default-sync library hot', (b) => libraryHot(b, H, 50)), { baseline: hotDefault }))
  rows.push(rate('24 default sync, hot stream: library', 'without runs', await eachDefault('default-sync library hot, no runs', (b) => libraryHot(b, H, 50, false)), { baseline: hotDefault }))
  const svcDefault = await eachDefault('default-sync service hot', (b) => serviceDurable(b, H, 1, 50))
  rows.push(rate('24 default sync, hot stream: service', 'throughput', svcDefault.map((r) => r.eventsPerSecond), { baseline: hotDefault }))
  const svcDefaultSingles = await eachDefault('default-sync service hot, no runs', (b) => serviceDurable(b, H, 1, 50, false, false))
  rows.push(rate('24 default sync, hot stream: service', 'without runs', svcDefaultSingles.map((r) => r.eventsPerSecond), { baseline: hotDefault }))
  return rows
}
