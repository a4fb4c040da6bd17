import * as E from 'fp-ts/lib/Either.js'
import { jetstreamManager } from '@nats-io/jetstream'
import { beforeAll, describe, expect, it } from 'vitest'
import type { FeedMessage, ReadModelStore } from '../../../src/application/projections/ports.js'
import { startPipeline } from '../../../src/adapters/nats/pipelines/pipelineRunner.js'
import { createProjectionReader } from '../../../src/adapters/nats/projections/projectionReader.js'
import { startProjection } from '../../../src/adapters/nats/projections/projectionRunner.js'
import { openProjectionCatalog } from '../../../src/adapters/nats/projections/projectionControl.js'
import { LOG_STREAM } from '../../../src/adapters/nats/projections/projectionFold.js'
import { durableName } from '../../../src/domain/projections/operations.js'
import { decodePipeline, type PipelineDefinition } from '../../../src/domain/pipelines/definition.js'
import { compilePipeline, type Emission, type PipelineState } from '../../../src/domain/pipelines/pipeline.js'
import { eventCounter } from '../../../src/domain/projections/builtins.js'
import { foldAll, type ProjectedEvent } from '../../../src/domain/projections/projection.js'
import { withProcessor } from '../../support/processorFixture.js'
import { acmeEvents, writeCommitsToLog } from '../../support/logWriter.js'
import { readModel, waitFor } from '../../support/projections.js'

const T0 = Date.parse('2026-12-01T00:00:00Z')
const COMMITS = 1_500

const ok = (u: unknown): PipelineDefinition => {
  const r = decodePipeline(u)
  if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
  return r.right
}

/** Every emission the pure fold makes over the events, in order (what a derived stream must hold exactly once). */
const pureEmissions = (def: PipelineDefinition, events: readonly ProjectedEvent[]): Emission[] => {
  const p = compilePipeline(def).projection
  const states = new Map<string, PipelineState>()
  const out: Emission[] = []
  for (const e of events) {
    const key = p.key(e)
    if (key === undefined) continue
    const k = `${e.tenant}.${key}`
    const before = states.get(k) ?? p.initialState
    const s = p.fold(before, e)
    states.set(k, s)
    out.push(...(s.out?.emissions.slice(before.out?.offset === e.offset ? before.out.emissions.length : 0) ?? []))
  }
  return out
}

describe('pipelines over a real nats-server', () => {
  const fixture = withProcessor()
  let events: ProjectedEvent[] = []

  beforeAll(async () => {
    const { nc } = fixture()
    // 4 events per commit, one second of event time per commit, 20 streams.
    await writeCommitsToLog(nc, COMMITS, 20, { at: (n, k) => new Date(T0 + n * 1_000 + k) })
    events = await acmeEvents(nc)
  })

  it('filter + map + tumbling window into a read model equals the pure fold; pause, resume and rebuild', async () => {
    const { nc } = fixture()
    const def = ok({
      name: 'per-stream-minutes',
      stages: [
        { filter: { in: ['type', ['t0', 't1', 't2']] } },
        { map: { fields: { s: 'stream', v: 'payload.f1', t: 'type' } } },
        { reduce: { key: 'payload.s', aggregates: { n: { count: true }, sum: { sum: 'payload.v' }, last: { last: 'payload.t' } }, window: { tumbling: { sizeMs: 60_000 } }, retain: 1_000 } },
      ],
      sink: { readModel: {} },
    })
    const runner = await startPipeline(nc, def)
    const last = events.at(-1)?.offset ?? 0
    await runner.until((s) => s.state === 'live' && s.checkpoint === last)
    const expected = foldAll(compilePipeline(def).projection, events)
    expect(await readModel(nc, def.name)).toEqual(expected)
    // 1,500 s of event time per stream in minutes: 24 windows closed per stream, the last one open.
    expect((expected.get('acme.p-0') as PipelineState).closed).toHaveLength(24)

    const catalog = await openProjectionCatalog(nc)
    await catalog.updateControl(def.name, (c) => ({ ...c, paused: true }))
    await runner.until((s) => s.state === 'paused')
    await writeCommitsToLog(nc, 100, 20, { first: COMMITS, at: (n, k) => new Date(T0 + n * 1_000 + k) })
    const more = await acmeEvents(nc)
    await catalog.updateControl(def.name, (c) => ({ ...c, paused: false, retry: c.retry + 1 }))
    await runner.until((s) => s.state === 'live' && s.checkpoint === more.at(-1)?.offset)
    const after = foldAll(compilePipeline(def).projection, more)
    expect(await readModel(nc, def.name)).toEqual(after)

    await catalog.updateControl(def.name, (c) => ({ ...c, rebuild: { id: 'r1', fromOffset: 1 } }))
    await runner.until((s) => s.generation === 2 && s.state === 'live' && s.checkpoint === more.at(-1)?.offset)
    expect(await readModel(nc, def.name)).toEqual(after)
    await runner.stop()
    events = more
  })

  it('enrich attaches a read model\'s state', async () => {
    const { nc } = fixture()
    const counter = await startProjection(nc, { ...eventCounter, name: 'types' })
    await counter.until((s) => s.checkpoint === events.at(-1)?.offset)
    await counter.stop()
    const reader = await createProjectionReader(nc)
    const def = ok({ name: 'enriched', stages: [{ enrich: { projection: 'types', key: 'type', as: 'seen' } }, { map: { fields: { type: 'type', count: 'payload.seen.count' } } }, { reduce: { key: 'payload.type', aggregates: { count: { last: 'payload.count' } } } }], sink: { readModel: {} } })
    const runner = await startPipeline(nc, def, { reader })
    await runner.until((s) => s.state === 'live' && s.checkpoint === events.at(-1)?.offset)
    const perType = new Map<string, number>()
    for (const e of events) perType.set(e.type, (perType.get(e.type) ?? 0) + 1)
    expect(await readModel(nc, def.name)).toEqual(new Map([...perType].map(([t, n]) => [`acme.${t}`, { value: { count: n } }])))
    await runner.stop()
    reader.close()
  })

  it('a derived stream: writes that fail after the append, and a restart, leave every emission exactly once', async () => {
    const { nc, app } = fixture()
    const def = ok({
      name: 'minute-stats',
      stages: [{ filter: { eq: ['type', 't0'] } }, { reduce: { key: 'stream', aggregates: { n: { count: true } }, window: { tumbling: { sizeMs: 60_000 } } } }],
      sink: { stream: { name: 'minute-stats', type: 'stats.minute' } },
    })
    // A few writes below the sink fail after their append, as a crash between the append and the write would.
    let puts = 0
    const failAt = new Set([3, 40, 41, 300, 700])
    const failing = <S>(inner: ReadModelStore<S>): ReadModelStore<S> => ({
      ...inner,
      put: (k, e, r) => (failAt.has(++puts) ? Promise.resolve({ _tag: 'Failed', message: 'injected' }) : inner.put(k, e, r)),
    })
    const first = await startPipeline(nc, def, { decorate: { store: failing } })
    await first.until((s) => s.checkpoint >= COMMITS / 3, 120_000)
    await first.stop()
    const second = await startPipeline(nc, def, { decorate: { store: failing } })
    await second.until((s) => s.state === 'live' && s.lag === 0 && s.checkpoint > (events.at(-1)?.offset ?? 0), 120_000)
    await second.stop()
    const page = await app.read('acme', 'minute-stats', { limit: 10_000 })
    if (E.isLeft(page)) throw new Error(JSON.stringify(page.left))
    const expected = pureEmissions(def, events)
    const rows = (xs: readonly { type: string; payload: unknown }[]) => xs.map((e) => JSON.stringify([e.type, e.payload])).sort()
    expect(puts).toBeGreaterThan(700)
    expect(expected.length).toBeGreaterThan(400)
    expect(rows(page.right.events)).toEqual(rows(expected))
    expect(page.right.events.every((e) => (e.metadata as { pipeline?: string } | undefined)?.pipeline === 'minute-stats')).toBe(true)
  })

  it('backpressure: a blocked sink stops the fold reading the log (bounded in-flight commits)', async () => {
    const { nc } = fixture()
    const chunk = 64
    let release: () => void = () => undefined
    const gate = new Promise<void>((r) => (release = r))
    let delivered = 0
    const blocked = <S>(inner: ReadModelStore<S>): ReadModelStore<S> => ({ ...inner, put: async (k, e, r) => (await gate, inner.put(k, e, r)) })
    const counting = (feed: { messages: AsyncIterable<FeedMessage>; stop(): void }) => ({
      stop: () => feed.stop(),
      messages: {
        [Symbol.asyncIterator]: () => {
          const it = feed.messages[Symbol.asyncIterator]()
          return { next: async () => { const r = await it.next(); if (r.done !== true) delivered++; return r }, return: async () => (await it.return?.(), { done: true as const, value: undefined }) }
        },
      },
    })
    const def = ok({ name: 'slow-sink', stages: [{ reduce: { key: 'stream', aggregates: { n: { count: true } } } }], sink: { readModel: {} } })
    const runner = await startPipeline(nc, def, { chunk, decorate: { store: blocked, feed: counting } })
    await waitFor(() => delivered >= 2 * chunk)
    // However long the sink stays blocked, the fold holds one chunk being written and one folded.
    await new Promise((r) => setTimeout(r, 500))
    expect(delivered).toBeLessThanOrEqual(2 * chunk + 1)
    // What the server has handed out unacknowledged is bounded by one pull (at most 4,096 commits) and the two chunks.
    const info = await (await jetstreamManager(nc)).consumers.info(LOG_STREAM, durableName(def.name, 1))
    expect(info.num_ack_pending).toBeLessThanOrEqual(4_096 + 2 * chunk)
    expect(info.ack_floor.stream_seq).toBe(0)
    release()
    await runner.until((s) => s.state === 'live' && s.lag === 0)
    expect(delivered).toBeGreaterThan(COMMITS)
    await runner.stop()
  })
})
