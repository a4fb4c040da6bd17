import { jetstream } from '@nats-io/jetstream'
import * as E from 'fp-ts/lib/Either.js'
import { PipelinedPublisher } from '../../src/adapters/nats/log/pipelinedPublisher.js'
import { WireHeaders } from '../../src/adapters/nats/log/wireHeaders.js'
import { createAllSource } from '../../src/main/allSource.js'
import { percentile } from '../report.js'
import { concurrently, createEventStream, type BenchServer, payload, sampleCommitBytes } from './common.js'

const subject = (s: number) => `allsource.events.bench.s-${s}`

/**
 * The limit to chase: the same commit bytes, published with `Nats-Msg-Id` and the expected last
 * subject sequence, pipelined on one connection with acks matched on one inbox; each stream's
 * publishes sequential, all streams at once. Events per second.
 */
export const rawLimit = async (b: BenchServer, events: number, streams: number, prepare: (nc: BenchServer['nc']) => Promise<void> = createEventStream): Promise<number> => {
  await prepare(b.nc)
  const bytes = sampleCommitBytes()
  const pub = new PipelinedPublisher(b.nc, 30_000)
  const per = Math.ceil(events / streams)
  const ms = await concurrently(streams, async (s) => {
    let last = 0
    for (let i = 0; i < per; i++) {
      const h = WireHeaders.of(['Nats-Msg-Id', `raw-${s}-${i}`], ['Nats-Expected-Last-Subject-Sequence', String(last)])
      const r = await pub.publish(subject(s), bytes, h)
      if (r._tag !== 'Stored') throw new Error(`raw publish failed: ${JSON.stringify(r)}`)
      last = r.seq
    }
  })
  pub.close()
  return (per * streams) / (ms / 1000)
}

/** The naive baseline: `await js.publish(...)` per event, 1,000 stream loops at once. */
export const naive = async (b: BenchServer, events: number, streams: number): Promise<number> => {
  await createEventStream(b.nc)
  const bytes = sampleCommitBytes()
  const js = jetstream(b.nc)
  const per = Math.ceil(events / streams)
  const ms = await concurrently(streams, async (s) => {
    for (let i = 0; i < per; i++) await js.publish(subject(s), bytes, { msgID: `naive-${s}-${i}` })
  })
  return (per * streams) / (ms / 1000)
}

/** AllSource in process: `app.append` of `perCommit` events per commit, sequential per stream. */
export const library = async (b: BenchServer, events: number, streams: number, perCommit = 1, replicas = 1): Promise<number> => {
  const app = await createAllSource({ nc: b.nc, replicas })
  const commits = Math.ceil(events / streams / perCommit)
  const ms = await concurrently(streams, async (s) => {
    for (let i = 0; i < commits; i++) {
      const batch = Array.from({ length: perCommit }, (_, k) => ({ type: 'thing.happened', payload: payload(i * perCommit + k, s) }))
      const r = await app.append('bench', `s-${s}`, batch)
      if (E.isLeft(r)) throw new Error(`append failed: ${JSON.stringify(r.left)}`)
    }
  })
  await app.close()
  return (commits * perCommit * streams) / (ms / 1000)
}

/** One hot stream: sequential appends; latency percentiles in ms, next to raw single publishes. */
export const hotStream = async (b: BenchServer, appends: number): Promise<{ p50: number; p99: number; rawP50: number; rawP99: number }> => {
  await createEventStream(b.nc)
  const bytes = sampleCommitBytes()
  const pub = new PipelinedPublisher(b.nc, 30_000)
  const raw: number[] = []
  let last = 0
  for (let i = 0; i < appends; i++) {
    const h = WireHeaders.of(['Nats-Msg-Id', `hot-raw-${i}`], ['Nats-Expected-Last-Subject-Sequence', String(last)])
    const t0 = performance.now()
    const r = await pub.publish('allsource.events.bench.raw-hot', bytes, h)
    raw.push(performance.now() - t0)
    if (r._tag !== 'Stored') throw new Error('raw hot publish failed')
    last = r.seq
  }
  pub.close()
  const app = await createAllSource({ nc: b.nc })
  const lat: number[] = []
  for (let i = 0; i < appends; i++) {
    const t0 = performance.now()
    const r = await app.append('bench', 'hot', [{ type: 'thing.happened', payload: payload(i, 0) }])
    lat.push(performance.now() - t0)
    if (E.isLeft(r)) throw new Error('hot append failed')
  }
  await app.close()
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), rawP50: percentile(raw, 50), rawP99: percentile(raw, 99) }
}
