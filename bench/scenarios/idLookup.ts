import { jetstreamManager } from '@nats-io/jetstream'
import { Kvm } from '@nats-io/kv'
import * as E from 'fp-ts/lib/Either.js'
import { decodeCommit, encodeCommit } from '../../src/adapters/codec/commitCodec.js'
import { PipelinedPublisher } from '../../src/adapters/nats/log/pipelinedPublisher.js'
import { WireHeaders } from '../../src/adapters/nats/log/wireHeaders.js'
import { LEGACY_ID_INDEX_BUCKET, openEventIdIndex, startEventIdIndexer } from '../../src/adapters/nats/reading/eventIdIndex.js'
import { createQuery } from '../../src/adapters/nats/reading/query.js'
import { uuidv7 } from '../../src/adapters/system/uuidv7.js'
import { validateQueryRequest } from '../../src/domain/reading/queryRequest.js'
import type { Commit } from '../../src/domain/streams/event.js'
import type { CommitId, EventId, EventType, StreamId, TenantId, Version } from '../../src/domain/streams/ids.js'
import { kvSubject } from '../../src/adapters/nats/subjects.js'
import { type BenchServer, createEventStream, freshServer, payload } from './common.js'
import type { Row } from '../report.js'

const PER_COMMIT = 10
const STREAMS = 1_000
/** One event in ten carries a client-supplied id that is not a UUIDv7. */
const SUPPLIED_EVERY = 10

export interface IdLookupResult {
  readonly events: number
  readonly fillSeconds: number
  readonly legacyFillSeconds: number
  readonly indexSeconds: number
  /** Milliseconds per lookup, sorted. */
  readonly rawGet: readonly number[]
  readonly legacyV7: readonly number[]
  readonly legacySupplied: readonly number[]
  readonly v7: readonly number[]
  readonly supplied: readonly number[]
  readonly unknownV7: readonly number[]
  readonly unknownSupplied: readonly number[]
  readonly indexKeys: number
}

/** An event id written to the log, with the offset of its commit. */
export interface WrittenId {
  readonly id: string
  readonly offset: number
}

/**
 * Fills the log with `events` events (commits of 10 over 1,000 streams, one tenant, raw pipelined
 * publishes of valid commits, ids minted as they are published, one in ten a supplied `order-…`
 * id, 200 commits in flight). Returns the ids by kind.
 */
export const fillLog = async (b: BenchServer, events: number, log: (l: string) => void, tenant = 'bench') => {
  await createEventStream(b.nc)
  const pub = new PipelinedPublisher(b.nc, 120_000)
  const commits = Math.ceil(events / PER_COMMIT)
  const v7: WrittenId[] = []
  const supplied: WrittenId[] = []
  const t0 = performance.now()
  let n = 0
  // Commits in flight: ids are minted as a commit is handed to the publisher, as the stream actor
  // does, so this is how many commits are stored between an id's minting and its own commit, as
  // with a service serving 200 appends at once.
  const window = 200
  const inFlight = new Set<Promise<void>>()
  let failure: unknown
  for (let c = 0; c < commits; c++) {
    const s = c % STREAMS
    const v = Math.floor(c / STREAMS) * PER_COMMIT
    const commit: Commit = {
      commitId: uuidv7() as CommitId,
      tenant: tenant as TenantId,
      stream: `s-${s}` as StreamId,
      events: Array.from({ length: PER_COMMIT }, (_, k) => ({
        id: (++n % SUPPLIED_EVERY === 0 ? `order-${n}` : uuidv7()) as EventId,
        type: 'thing.happened' as EventType,
        version: (v + k + 1) as Version,
        timestamp: new Date(),
        payload: payload(c, s),
      })),
    }
    const p = pub.publish(`allsource.events.${tenant}.s-${s}`, encodeCommit(commit), WireHeaders.of(['Nats-Msg-Id', commit.commitId], ['AllSource-Types', 'thing.happened'])).then((r) => {
      if (r._tag !== 'Stored') throw new Error(`fill failed: ${JSON.stringify(r)}`)
      for (const e of commit.events) (e.id.startsWith('order-') ? supplied : v7).push({ id: e.id, offset: r.seq })
    })
    inFlight.add(p)
    p.then(
      () => inFlight.delete(p),
      (e: unknown) => {
        inFlight.delete(p)
        failure ??= e
      },
    )
    if (failure !== undefined) throw failure
    if (inFlight.size >= window) await Promise.race(inFlight)
    if (c % 20_000 === 0 && c > 0) log(`    filled ${c * PER_COMMIT} events`)
  }
  await Promise.all(inFlight)
  pub.close()
  if (failure !== undefined) throw failure
  return { v7, supplied, fillSeconds: (performance.now() - t0) / 1000 }
}

/**
 * {@link fillLog}, then writes the per-event KV index of earlier versions for the same events (a
 * put per event, pipelined), then runs the supplied-id indexer over the log.
 */
const fill = async (b: BenchServer, events: number, log: (l: string) => void) => {
  const { v7, supplied, fillSeconds } = await fillLog(b, events, log)
  const pub = new PipelinedPublisher(b.nc, 120_000)

  // The index of earlier versions: a KV key per event, written the way its indexer wrote them.
  await new Kvm(b.nc).create(LEGACY_ID_INDEX_BUCKET, { history: 1 })
  const t1 = performance.now()
  const enc = new TextEncoder()
  const all = [...v7, ...supplied]
  for (let i = 0; i < all.length; i += 2_000) {
    await Promise.all(
      all.slice(i, i + 2_000).map(async ({ id, offset }) => {
        const r = await pub.publish(kvSubject(LEGACY_ID_INDEX_BUCKET, `bench.${Buffer.from(id).toString('base64url')}`), enc.encode(String(offset)))
        if (r._tag !== 'Stored') throw new Error(`legacy index put failed: ${JSON.stringify(r)}`)
      }),
    )
    if (i % 200_000 === 0 && i > 0) log(`    legacy index: ${i} keys`)
  }
  const legacyFillSeconds = (performance.now() - t1) / 1000
  pub.close()

  const t2 = performance.now()
  const lastSeq = (await (await jetstreamManager(b.nc)).streams.info('ALLSOURCE_EVENTS')).state.last_seq
  const indexer = await startEventIdIndexer(b.nc)
  const index = await openEventIdIndex(b.nc)
  while ((await index.checkpoint()) < lastSeq) await new Promise((r) => setTimeout(r, 100))
  const indexSeconds = (performance.now() - t2) / 1000
  await indexer.stop()
  return { v7, supplied, fillSeconds, legacyFillSeconds, indexSeconds }
}

export const sample = <T>(xs: readonly T[], k: number): T[] => Array.from({ length: k }, (_, i) => xs[Math.floor(((i + 0.5) * xs.length) / k)] as T)

/** Times `fn` on each item, in turn; milliseconds, sorted. */
const timeEach = async <T>(items: readonly T[], fn: (x: T) => Promise<void>): Promise<number[]> => {
  const out: number[] = []
  for (const x of items) {
    const t0 = performance.now()
    await fn(x)
    out.push(performance.now() - t0)
  }
  return out.sort((a, b) => a - b)
}

/**
 * Issue 13's id lookup on a log of `events` events: before (the per-event KV: one KV get, one
 * direct get) and after (`createQuery` with `{ id }`: by time for UUIDv7 ids, the supplied-id
 * index for the others), next to a raw direct get of a known offset.
 */
export const idLookup = async (b: BenchServer, events: number, lookups: number, log: (l: string) => void): Promise<IdLookupResult> => {
  const f = await fill(b, events, log)
  log(`    filled in ${f.fillSeconds.toFixed(1)} s, legacy index in ${f.legacyFillSeconds.toFixed(1)} s, supplied-id index in ${f.indexSeconds.toFixed(1)} s`)
  const jsm = await jetstreamManager(b.nc)
  const legacy = await new Kvm(b.nc).open(LEGACY_ID_INDEX_BUCKET)
  const v7 = sample(f.v7, lookups)
  const supplied = sample(f.supplied, lookups)

  const rawGet = await timeEach(v7, async ({ offset }) => {
    const m = await jsm.direct.getMessage('ALLSOURCE_EVENTS', { seq: offset })
    if (m === null) throw new Error('raw get: missing')
    decodeCommit(m.data, m.seq)
  })
  const legacyLookup = async ({ id, offset }: { id: string; offset: number }) => {
    const e = await legacy.get(`bench.${Buffer.from(id).toString('base64url')}`)
    const at = Number(e?.string())
    if (at !== offset) throw new Error(`legacy lookup: ${id} at ${at}, expected ${offset}`)
    const m = await jsm.direct.getMessage('ALLSOURCE_EVENTS', { seq: at })
    if (m === null || !decodeCommit(m.data, m.seq).events.some((x) => x.id === id)) throw new Error('legacy lookup: wrong commit')
  }
  const legacyV7 = await timeEach(v7, legacyLookup)
  const legacySupplied = await timeEach(supplied, legacyLookup)

  const query = createQuery(b.nc, { index: await openEventIdIndex(b.nc) })
  const lookup = (expect: 'found' | 'none') => async ({ id, offset }: { id: string; offset: number }) => {
    const q = validateQueryRequest({ id })
    if (E.isLeft(q)) throw new Error(JSON.stringify(q.left))
    const r = await query('bench', q.right)
    if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
    const got = r.right.events.map((e) => `${e.id}@${e.offset}`)
    const want = expect === 'found' ? [`${id}@${offset}`] : []
    if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`lookup of ${id}: ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`)
  }
  const after = { v7: await timeEach(v7, lookup('found')), supplied: await timeEach(supplied, lookup('found')) }
  // Ids never written: a UUIDv7 minted for a time inside the log (its whole window is scanned), and a supplied one.
  const unknown = sample(f.v7, Math.max(5, Math.floor(lookups / 10))).map(({ id }) => ({ id: `${id.slice(0, 19)}bfff-ffffffffffff`, offset: 0 }))
  const unknownV7 = await timeEach(unknown, lookup('none'))
  const unknownSupplied = await timeEach(unknown.map((_, i) => ({ id: `order-none-${i}`, offset: 0 })), lookup('none'))
  const indexKeys = (await jsm.streams.info('KV_ALLSOURCE_SUPPLIED_IDS')).state.messages
  return { events, fillSeconds: f.fillSeconds, legacyFillSeconds: f.legacyFillSeconds, indexSeconds: f.indexSeconds, rawGet, legacyV7, legacySupplied, v7: after.v7, supplied: after.supplied, unknownV7, unknownSupplied, indexKeys }
}

const pct = (xs: readonly number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? Number.NaN

/** Rows of scenario 20 (one fresh server, one fill; `BENCH_IDLOOKUP_EVENTS` shrinks the log). */
export const idLookupRows = async (quick: boolean, log: (l: string) => void): Promise<Row[]> => {
  const events = Number(process.env.BENCH_IDLOOKUP_EVENTS ?? (quick ? 20_000 : 1_000_000))
  const b = await freshServer()
  let r: IdLookupResult
  try {
    r = await idLookup(b, events, Number(process.env.BENCH_IDLOOKUP_LOOKUPS ?? (quick ? 50 : 300)), log)
  } finally {
    await b.stop()
  }
  const s = `20 id lookup (${events.toLocaleString('en-US')}-event log)`
  const lat = (metric: string, xs: readonly number[], extra: Partial<Row> = {}): Row[] => [
    { scenario: s, metric: `${metric} p50`, value: pct(xs, 50), unit: 'ms', ...extra },
    { scenario: s, metric: `${metric} p99`, value: pct(xs, 99), unit: 'ms' },
  ]
  return [
    ...lat('raw direct get of the offset', r.rawGet),
    ...lat('before (KV key per event), UUIDv7 id', r.legacyV7),
    ...lat('before (KV key per event), supplied id', r.legacySupplied),
    ...lat('after, UUIDv7 id (by time)', r.v7, { target: '≤ 10 ms' }),
    ...lat('after, supplied id (index)', r.supplied, { target: '≤ 10 ms' }),
    ...lat('after, unknown UUIDv7 id', r.unknownV7),
    ...lat('after, unknown supplied id', r.unknownSupplied),
    { scenario: s, metric: 'fill (raw pipelined publishes)', value: r.events / r.fillSeconds, unit: 'events/s' },
    { scenario: s, metric: 'before: KV puts, a key per event', value: r.events / r.legacyFillSeconds, unit: 'events/s' },
    { scenario: s, metric: 'after: supplied-id indexer over the log', value: r.events / r.indexSeconds, unit: 'events/s' },
    { scenario: s, metric: 'after: supplied-id index keys', value: r.indexKeys, unit: 'keys' },
  ]
}

export const ID_LOOKUP_METHOD = `
- **20 id lookup**: one fresh server; the log filled with 1,000,000 events (\`BENCH_IDLOOKUP_EVENTS\`
  to shrink it) by raw pipelined publishes of valid commits (10 events per commit over 1,000
  streams, one tenant, 200 publishes in flight: an id is minted as its commit is handed to the
  publisher, as the stream actor does, so about 200 commits are stored between an id's minting and
  its commit, as in a service serving 200 appends at once), the event ids minted as each commit is
  published, one event in ten with a supplied non-UUIDv7 id (\`order-<n>\`). Then the per-event KV
  index of earlier versions is written for every event (pipelined puts, as its indexer did), and
  the supplied-id indexer runs over the whole log. Lookups one at a time, 300 ids of each kind
  spread evenly over the log: **raw** a direct get of the known offset and a decode; **before**
  a KV get of the id's key, then a direct get and a decode (what the query did with the old index);
  **after** \`createQuery(...)('bench', { id })\` as the service runs it (by time for a UUIDv7:
  passes outwards from the id's millisecond, read by batch direct gets, as on this R1 stream and
  nats-server ≥ 2.11; the supplied-id index for the others); unknown ids are a UUIDv7 of a time inside the log (its
  whole window scanned) and a supplied id that no event has (one KV get, then the log after the
  index's checkpoint).`
