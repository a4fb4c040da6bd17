import { DeliverPolicy, jetstream } from '@nats-io/jetstream'
import { headers } from '@nats-io/transport-node'
import { unpack } from 'msgpackr'
import { encodeCommit } from '../../src/adapters/codec/commitCodec.js'
import { PipelinedPublisher } from '../../src/adapters/nats/log/pipelinedPublisher.js'
import { replayEvents } from '../../src/adapters/nats/reading/replay.js'
import type { Commit } from '../../src/domain/streams/event.js'
import type { CommitId, EventId, EventType, StreamId, TenantId, Version } from '../../src/domain/streams/ids.js'
import { type BenchServer, createEventStream, freshServer, payload } from './common.js'

/** Writes `events` events as commits of `perCommit` over `streams` streams, as AllSource stores them. */
export const writeLog = async (b: BenchServer, events: number, streams: number, perCommit: number, timeOf?: (stream: number, commit: number) => Date): Promise<void> => {
  await createEventStream(b.nc)
  const pub = new PipelinedPublisher(b.nc, 60_000)
  const commitsPerStream = Math.ceil(events / perCommit / streams)
  const at = new Date()
  await Promise.all(
    Array.from({ length: streams }, async (_, s) => {
      let last = 0
      for (let c = 0; c < commitsPerStream; c++) {
        const commit: Commit = {
          commitId: `r-${s}-${c}` as CommitId,
          tenant: 'bench' as TenantId,
          stream: `s-${s}` as StreamId,
          events: Array.from({ length: perCommit }, (_, k) => ({
            id: `e-${s}-${c}-${k}` as EventId,
            type: 'thing.happened' as EventType,
            version: (c * perCommit + k + 1) as Version,
            timestamp: timeOf === undefined ? at : timeOf(s, c),
            payload: payload(c, s),
          })),
        }
        const h = headers()
        h.set('Nats-Msg-Id', commit.commitId)
        h.set('Nats-Expected-Last-Subject-Sequence', String(last))
        h.set('AllSource-Types', 'thing.happened')
        const r = await pub.publish(`allsource.events.bench.s-${s}`, encodeCommit(commit), h)
        if (r._tag !== 'Stored') throw new Error(`write failed: ${JSON.stringify(r)}`)
        last = r.seq
      }
    }),
  )
  pub.close()
}

/** The library iterator over the tenant's whole log: events per second. */
export const replayLibrary = async (b: BenchServer, expected: number): Promise<number> => {
  const t0 = performance.now()
  let n = 0
  for await (const e of replayEvents(b.nc, { tenant: 'bench' })) if (e.version > 0) n++
  if (n !== expected) throw new Error(`replayed ${n} events, expected ${expected}`)
  return n / ((performance.now() - t0) / 1000)
}

/** A raw ordered consumer decoding every commit with msgpackr: events per second. */
export const replayRaw = async (b: BenchServer, expected: number): Promise<number> => {
  const t0 = performance.now()
  const consumer = await jetstream(b.nc).consumers.get('ALLSOURCE_EVENTS', {
    filter_subjects: ['allsource.events.bench.>'],
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: 1,
  })
  const messages = await consumer.consume({ max_messages: 512 })
  let n = 0
  for await (const m of messages) {
    const commit = unpack(m.data) as { events: { version: number }[] }
    for (const e of commit.events) if (e.version > 0) n++
    if (m.info.pending === 0) break
  }
  messages.stop()
  if (n !== expected) throw new Error(`raw replay read ${n} events, expected ${expected}`)
  return n / ((performance.now() - t0) / 1000)
}

/** Query latencies (ms) on the written log: one stream, a type page, a recent time window, an id. */
export const queryLatencies = async (
  b: BenchServer,
  idsIndexed: boolean,
  sample: { readonly stream: string; readonly id: string; readonly middleOffset: number },
): Promise<Record<string, number>> => {
  const { createQuery } = await import('../../src/adapters/nats/reading/query.js')
  const { openEventIdIndex } = await import('../../src/adapters/nats/reading/eventIdIndex.js')
  const { validateQueryRequest } = await import('../../src/domain/reading/queryRequest.js')
  const index = await openEventIdIndex(b.nc)
  const query = createQuery(b.nc, idsIndexed ? { index } : {})
  const time = async (body: Record<string, unknown>): Promise<number> => {
    const q = validateQueryRequest(body)
    if (q._tag === 'Left') throw new Error(JSON.stringify(q.left))
    const t0 = performance.now()
    const r = await query('bench', q.right)
    const ms = performance.now() - t0
    if (r._tag === 'Left') throw new Error(JSON.stringify(r.left))
    if (r.right.events.length === 0) throw new Error(`query ${JSON.stringify(body)} found nothing`)
    return ms
  }
  return {
    'one stream (all its events)': await time({ stream: sample.stream }),
    'type, first page of 1,000': await time({ type: 'thing.happened', limit: 1000 }),
    'type, page from the middle': await time({ type: 'thing.happened', limit: 1000, fromOffset: sample.middleOffset }),
    ...(idsIndexed ? { 'by event id (indexed)': await time({ id: sample.id }) } : {}),
  }
}

/**
 * Issue 13's filtered query rate: `where` over the tenant's whole log through the query (the
 * processor's `createQuery`, default scan budget), following `nextOffset` page after page until the
 * end, as `client.query()` does. Events of the log scanned per second (every event, matched or not),
 * to set beside the raw ordered consumer's rate on the same log. Checks the matches against
 * `expectedMatches`.
 */
export const filteredQueryRate = async (b: BenchServer, logEvents: number, where: unknown, expectedMatches: number): Promise<number> => {
  const { createQuery } = await import('../../src/adapters/nats/reading/query.js')
  const { validateQueryRequest } = await import('../../src/domain/reading/queryRequest.js')
  const query = createQuery(b.nc)
  const t0 = performance.now()
  let matched = 0
  let from: number | undefined = 1
  while (from !== undefined) {
    const q = validateQueryRequest({ where, limit: 10_000, fromOffset: from })
    if (q._tag === 'Left') throw new Error(JSON.stringify(q.left))
    const r = await query('bench', q.right)
    if (r._tag === 'Left') throw new Error(JSON.stringify(r.left))
    matched += r.right.events.length
    from = r.right.nextOffset
  }
  const seconds = (performance.now() - t0) / 1000
  if (matched !== expectedMatches) throw new Error(`filtered query matched ${matched} events, expected ${expectedMatches}`)
  return logEvents / seconds
}

/**
 * Scenario 19 on its own (`BENCH_ONLY=query`): a fresh server, the replay scenario's log (1,000,000
 * events in commits of 10 over 1,000 streams; 5,000 over 20 in quick mode), then R rounds of the
 * raw ordered consumer and the filtered query, alternating. Returns both series.
 */
export const filteredQueryRounds = async (quick: boolean, R: number): Promise<{ raw: number[]; filtered: number[] }> => {
  const events = quick ? 5_000 : 1_000_000
  const streams = quick ? 20 : 1_000
  const b = await freshServer()
  try {
    await writeLog(b, events, streams, 10)
    const raw: number[] = []
    const filtered: number[] = []
    for (let i = 0; i < R; i++) {
      raw.push(await replayRaw(b, events))
      filtered.push(await filteredQueryRate(b, events, `payload.s < ${streams / 10}`, events / 10))
    }
    return { raw, filtered }
  } finally {
    await b.stop()
  }
}
