import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createInMemoryReadModelStore } from '../../../src/adapters/memory/inMemoryReadModelStore.js'
import type { CommitFeed, FeedMessage } from '../../../src/application/projections/ports.js'
import { type FoldListener, runChunkedFold } from '../../../src/application/projections/runChunkedFold.js'
import { foldAll, type ProjectedEvent, type ProjectionDefinition } from '../../../src/domain/projections/projection.js'
import type { Commit } from '../../../src/domain/streams/event.js'
import { type Consumer, faultyStore, type Faults, MemoryLog, memoryFeed, rng, topicLog } from '../../support/memoryFold.js'

type Positions = readonly string[]

/**
 * The state is the list of the positions folded into the key, in order: a repeated, lost or
 * reordered event shows in it. Events of type `skip` are filtered out, a null key is skipped, and
 * a `poison` event throws.
 */
const def: ProjectionDefinition<Positions> = {
  name: 'positions',
  version: 1,
  filter: { types: ['a', 'b', 'poison'] },
  key: (e) => ((e.payload as { key: string | null }).key ?? undefined),
  initialState: [],
  fold: (s, e) => {
    if (e.type === 'poison') throw new Error('poison event')
    return [...s, `${e.offset}:${(e.payload as { index: number }).index}`]
  },
}

interface GenEvent {
  readonly type: 'a' | 'b' | 'skip'
  readonly key: string | null
}
interface GenCommit {
  readonly tenant: string
  readonly events: readonly GenEvent[]
}

const genCommit: fc.Arbitrary<GenCommit> = fc.record({
  tenant: fc.constantFrom('t1', 't2'),
  events: fc.array(
    fc.record({ type: fc.constantFrom<GenEvent['type']>('a', 'a', 'b', 'skip'), key: fc.option(fc.constantFrom('k0', 'k1', 'k2', 'k3', 'k.4', 'k5', 'k6', 'k7'), { freq: 6 }) }),
    { minLength: 1, maxLength: 4 },
  ),
})

/** A fresh decoded commit each time it is delivered (the fold annotates events in place). */
const commitAt = (c: GenCommit, offset: number, poisonAt?: number) => (): Commit =>
  ({
    commitId: `c-${offset}`,
    tenant: c.tenant,
    stream: `s-${offset % 5}`,
    events: c.events.map((e, index) => ({
      id: `e-${offset}-${index}`,
      type: offset === poisonAt && index === 0 ? 'poison' : e.type,
      version: index + 1,
      timestamp: new Date(0),
      payload: { key: offset === poisonAt && index === 0 ? 'k0' : e.key, index },
    })),
  }) as unknown as Commit

const eventsOf = (commits: readonly GenCommit[], upTo = Infinity): ProjectedEvent[] =>
  commits.flatMap((c, i) =>
    i + 1 >= upTo ? [] : c.events.map((e, index) => ({ id: `e-${i + 1}-${index}`, type: e.type, version: index + 1, timestamp: new Date(0), payload: { key: e.key, index }, tenant: c.tenant, stream: `s-${(i + 1) % 5}`, offset: i + 1 }) as unknown as ProjectedEvent),
  )

/** The last position of every key in the log (what each entry's offset/index must be). */
const lastPositions = (events: readonly ProjectedEvent[]): Map<string, { offset: number; index: number }> => {
  const out = new Map<string, { offset: number; index: number }>()
  for (const e of events) {
    const key = def.key(e)
    if (key === undefined || e.type === 'skip') continue
    out.set(`${e.tenant}.${key}`, { offset: e.offset, index: (e.payload as { index: number }).index })
  }
  return out
}

interface Scenario {
  readonly commits: readonly GenCommit[]
  /** How many commits are in the log before the folds start; the rest arrive while they run. */
  readonly preloaded: number
  readonly chunk: number
  readonly lingerMs: number
  readonly cacheKeys: number
  readonly faults: Faults
  readonly ackFails: number
  /** A second writer: another fold of the same projection into the same store (a stale owner). */
  readonly rival: boolean
  readonly seed: number
}

const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    commits: fc.array(genCommit, { minLength: 0, maxLength: Number(process.env.FOLD_COMMITS ?? 60) }),
    preloaded: fc.nat(),
    chunk: fc.integer({ min: 1, max: 12 }),
    lingerMs: fc.constantFrom(0, 0, 1),
    cacheKeys: fc.integer({ min: 0, max: 12 }),
    faults: fc.record({ lost: fc.constantFrom(0, 0.02, 0.1), lostReply: fc.constantFrom(0, 0.02, 0.1), intrude: fc.constantFrom(0, 0, 0.03, 0.15) }),
    ackFails: fc.constantFrom(0, 0, 0.05),
    rival: fc.boolean(),
    seed: fc.integer(),
  })
  .map((s) => ({ ...s, preloaded: s.commits.length === 0 ? 0 : s.preloaded % (s.commits.length + 1) }))

/**
 * Runs one fold (and restarts it after each failure, as the runner does) until its consumer has
 * acked the whole closed log. Faults stop after a number of attempts, so it always gets there.
 */
const foldToEnd = async (
  log: MemoryLog,
  consumer: Consumer,
  store: Parameters<typeof runChunkedFold<Positions>>[1],
  s: Scenario,
  random: () => number,
  attempt: { n: number },
  topic: ReturnType<typeof topicLog>,
  checkpoints: number[],
  onAck: (offset: number) => void,
  d: ProjectionDefinition<Positions> = def,
): Promise<{ poison?: number; failures: string[] }> => {
  const failures: string[] = []
  for (;;) {
    let failed = false
    let poison: number | undefined
    const listener: FoldListener = {
      progress: (p) => checkpoints.push(p.checkpoint),
      poison: (p) => (poison = p.offset),
      failure: (m) => {
        failed = true
        failures.push(m)
      },
    }
    const fold = runChunkedFold(d, store, memoryFeed(log, consumer, random, attempt.n < 8 ? s.ackFails : 0, onAck), topic, { chunk: s.chunk, cacheKeys: s.cacheKeys, lingerMs: s.lingerMs }, listener)
    await fold.done
    attempt.n++
    if (poison !== undefined) return { poison, failures }
    if (!failed) {
      expect(consumer.ackFloor).toBe(log.commits.length)
      return { failures }
    }
    if (attempt.n > 200) throw new Error(`no progress after 200 attempts: ${failures.slice(-3).join('; ')}`)
  }
}

const run = async (s: Scenario, poisonAt?: number, d: ProjectionDefinition<Positions> = def) => {
  const random = rng(s.seed)
  const log = new MemoryLog()
  s.commits.forEach((c, i) => i < s.preloaded && log.append(commitAt(c, i + 1, poisonAt)))
  const inner = createInMemoryReadModelStore<Positions>()
  const intrusions = new Map<string, number>()
  const attempt = { n: 0 }
  const store = faultyStore(inner, random, () => (attempt.n < 8 ? s.faults : {}), intrusions)
  const topic = topicLog()
  const checkpoints: number[] = []
  const rivalCheckpoints: number[] = []
  const grow = (async () => {
    for (let i = s.preloaded; i < s.commits.length; i++) {
      await new Promise((r) => setImmediate(r))
      log.append(commitAt(s.commits[i] as GenCommit, i + 1, poisonAt))
    }
    log.close()
  })()
  // The checkpoint rule: a commit is acked only once every key it changed is written (an entry at
  // or past its position; past it when another fold got further).
  const ackViolations: string[] = []
  const onAck = (offset: number) => {
    const entries = inner.entries()
    for (const [k, p] of lastPositions(eventsOf(s.commits.slice(0, offset), poisonAt))) {
      const e = entries.get(k)
      if (e === undefined || e.offset < p.offset || (e.offset === p.offset && e.index < p.index)) ackViolations.push(`ack of ${offset} before ${k} reached ${p.offset}:${p.index}`)
    }
  }
  const rivalAttempt = { n: 0 }
  const [main] = await Promise.all([
    foldToEnd(log, { ackFloor: 0 }, store, s, random, attempt, topic, checkpoints, onAck, d),
    s.rival ? foldToEnd(log, { ackFloor: 0 }, store, s, random, rivalAttempt, topicLog(), rivalCheckpoints, onAck, d) : undefined,
    grow,
  ])
  expect(ackViolations).toEqual([])
  return { inner, intrusions, topic, checkpoints, main, attempts: attempt.n }
}

/** The read model without the other writer's marks, and the marks counted per key. */
const unmarked = (entries: ReadonlyMap<string, { state: Positions }>) =>
  new Map([...entries].map(([k, e]) => [k, e.state.filter((p) => p !== 'X')]))
const marks = (entries: ReadonlyMap<string, { state: Positions }>) =>
  new Map([...entries].flatMap(([k, e]) => (e.state.includes('X') ? [[k, e.state.filter((p) => p === 'X').length] as const] : [])))

/** One update per commit and key it changed (in the order the commit first changed them), with the state after that commit. */
const everyChange = (s: Scenario): { key: string; state: Positions; offset: number }[] => {
  const expected: { key: string; state: Positions; offset: number }[] = []
  const running = new Map<string, Positions>()
  const events = eventsOf(s.commits)
  for (let offset = 1; offset <= s.commits.length; offset++) {
    const mine = new Map<string, Positions>()
    for (const e of events.filter((x) => x.offset === offset)) {
      const key = def.key(e)
      if (key === undefined || e.type === 'skip') continue
      const k = `${e.tenant}.${key}`
      mine.set(k, def.fold(mine.get(k) ?? running.get(k) ?? [], e))
    }
    for (const [key, state] of mine) {
      running.set(key, state)
      expected.push({ key, state, offset })
    }
  }
  return expected
}

describe('runChunkedFold: the same read model as foldAll, whatever the chunks, cache, faults and other writers', () => {
  it('every key holds exactly its events in log order, its entry the position of its last one, and no write of another writer is lost', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const { inner, intrusions, checkpoints } = await run(s)
        const events = eventsOf(s.commits)
        const entries = inner.entries()
        expect(unmarked(entries)).toEqual(foldAll(def, events))
        // Each mark another writer put is still there: no write fenced it off unseen.
        expect(marks(entries)).toEqual(intrusions)
        const last = lastPositions(events)
        for (const [k, e] of entries) expect({ offset: e.offset, index: e.index }).toEqual(last.get(k))
        // The checkpoint never moves back within one fold, and ends at the end of the log.
        if (s.commits.length > 0) expect(checkpoints[checkpoints.length - 1]).toBe(s.commits.length)
      }),
      { numRuns: Number(process.env.FOLD_RUNS ?? 300) },
    )
  }, 60_000)

  it('without faults or other writers, every change is published once, in log order per key, with its offset', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s0) => {
        const s = { ...s0, faults: {}, ackFails: 0, rival: false }
        const { topic, attempts } = await run(s)
        expect(attempts).toBe(1)
        expect(topic.updates.map((u) => ({ key: `${u.tenant}.${u.key}`, state: u.state, offset: u.offset }))).toEqual(everyChange(s))
      }),
      { numRuns: 150 },
    )
  }, 60_000)

  it("with topic 'latest', each key's updates are states it was written with: offsets rise, the last is the read model, chunks of one publish every change", async () => {
    const latest: ProjectionDefinition<Positions> = { ...def, topic: 'latest' }
    await fc.assert(
      fc.asyncProperty(scenario, async (s0) => {
        const s = { ...s0, faults: {}, ackFails: 0, rival: false }
        const { topic, inner } = await run(s, undefined, latest)
        const every = everyChange(s)
        const stateAt = new Map(every.map((u) => [`${u.key}@${u.offset}`, u.state]))
        const seen = new Map<string, { state: unknown; offset: number }>()
        for (const u of topic.updates) {
          const k = `${u.tenant}.${u.key}`
          // The state after that commit (a state the key really had), and later than the key's last update.
          expect(u.state).toEqual(stateAt.get(`${k}@${u.offset}`))
          expect(u.offset).toBeGreaterThan(seen.get(k)?.offset ?? 0)
          seen.set(k, u)
        }
        const model = inner.entries()
        expect(new Set(seen.keys())).toEqual(new Set(model.keys()))
        for (const [k, e] of model) expect(seen.get(k)).toEqual({ state: e.state, offset: e.offset, tenant: k.split('.')[0], key: k.slice(k.indexOf('.') + 1), projection: def.name })
        expect(topic.updates.length).toBeLessThanOrEqual(every.length)
        if (s.chunk === 1 && s.lingerMs === 0) expect(topic.updates.length).toBe(every.length)
      }),
      { numRuns: 150 },
    )
  }, 60_000)

  it('a poison event parks the fold: everything before its commit is written and acked, nothing of it', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, fc.nat(), async (s0, at) => {
        if (s0.commits.length === 0) return
        const s = { ...s0, faults: {}, ackFails: 0, rival: false }
        const poisonAt = 1 + (at % s.commits.length)
        const { inner, main, checkpoints } = await run(s, poisonAt)
        expect(main.poison).toBe(poisonAt)
        expect(unmarked(inner.entries())).toEqual(foldAll(def, eventsOf(s.commits, poisonAt)))
        expect(Math.max(0, ...checkpoints)).toBe(poisonAt - 1)
      }),
      { numRuns: 150 },
    )
  }, 60_000)

  // Found by modelling a stale owner on the same durable consumer: JetStream splits the durable's
  // messages between the two pullers, and with ack policy "all" one owner's ack also acknowledges a
  // commit the other received but never wrote (fenced off, or crashed). That commit is then never
  // folded. This is why the CommitFeed contract requires a feed to end in an error at a delivery
  // that was not the next one (the NATS feed checks the consumer's delivery sequence,
  // src/adapters/nats/projections/projectionFold.ts); a feed without that check loses commits:
  it.fails('a feed that does not check it is alone: two folds pulling from one durable lose a commit (ack policy all acks what the other got)', async () => {
    const n = 4
    const shared = { ackFloor: 0, next: 1 }
    const splitFeed = (): CommitFeed => {
      let stopped = false
      return {
        messages: {
          async *[Symbol.asyncIterator](): AsyncGenerator<FeedMessage> {
            while (!stopped && shared.next <= n) {
              const offset = shared.next++
              yield { offset, pending: n - offset, commit: commitAt({ tenant: 't1', events: [{ type: 'a', key: 'k0' }] }, offset), ack: async () => void (shared.ackFloor = Math.max(shared.ackFloor, offset)) }
              await new Promise((r) => setImmediate(r))
            }
          },
        },
        stop: () => void (stopped = true),
      }
    }
    const store = createInMemoryReadModelStore<Positions>()
    const quiet = { progress: () => undefined, poison: () => undefined, failure: () => undefined }
    await Promise.all([runChunkedFold(def, store, splitFeed(), topicLog(), { chunk: 1 }, quiet).done, runChunkedFold(def, store, splitFeed(), topicLog(), { chunk: 1 }, quiet).done])
    // The survivor restarts from the ack floor, as a recreated consumer would.
    shared.next = shared.ackFloor + 1
    await runChunkedFold(def, store, splitFeed(), topicLog(), { chunk: 1 }, quiet).done
    expect(store.entries().get('t1.k0')?.state).toEqual(['1:0', '2:0', '3:0', '4:0'])
  })

  it('a feed that checks it is alone (delivery sequence): two folds pulling from one durable lose nothing', async () => {
    const n = 8
    const shared = { ackFloor: 0, next: 1, delivered: 0 }
    const checkedFeed = (): CommitFeed => {
      let stopped = false
      // Starts only when nothing is pending (delivered = acked), from the consumer's delivery count.
      if (shared.next - 1 !== shared.ackFloor) throw new Error('commits pending: held by another fold')
      let last = shared.delivered
      return {
        messages: {
          async *[Symbol.asyncIterator](): AsyncGenerator<FeedMessage> {
            while (!stopped && shared.next <= n) {
              const offset = shared.next++
              const delivery = ++shared.delivered
              if (delivery !== last + 1) throw new Error(`delivery ${delivery}, not ${last + 1}: not alone`)
              last = delivery
              yield { offset, pending: n - offset, commit: commitAt({ tenant: 't1', events: [{ type: 'a', key: 'k0' }] }, offset), ack: async () => void (shared.ackFloor = Math.max(shared.ackFloor, offset)) }
              await new Promise((r) => setImmediate(r))
            }
          },
        },
        stop: () => void (stopped = true),
      }
    }
    const store = createInMemoryReadModelStore<Positions>()
    const failures: string[] = []
    const quiet = { progress: () => undefined, poison: () => undefined, failure: (m: string) => void failures.push(m) }
    await Promise.all([runChunkedFold(def, store, checkedFeed(), topicLog(), { chunk: 1 }, quiet).done, runChunkedFold(def, store, checkedFeed(), topicLog(), { chunk: 1 }, quiet).done])
    expect(failures.length).toBeGreaterThan(0) // they did overlap, and noticed
    // The next owner: the consumer recreated at its ack floor (what ensureFoldConsumer does).
    shared.next = shared.ackFloor + 1
    await runChunkedFold(def, store, checkedFeed(), topicLog(), { chunk: 1 }, quiet).done
    expect(store.entries().get('t1.k0')?.state).toEqual(Array.from({ length: n }, (_, i) => `${i + 1}:0`))
  })
  it('caught up, commits arriving one at a time share a write when they come within the linger; the last is written when the feed ends', async () => {
    const n = 12
    const trickle = (gapMs: (offset: number) => number): CommitFeed => {
      let stopped = false
      return {
        messages: {
          async *[Symbol.asyncIterator](): AsyncGenerator<FeedMessage> {
            for (let offset = 1; offset <= n && !stopped; offset++) {
              // Each commit is the last the consumer has (pending 0), as on a live log.
              yield { offset, pending: 0, commit: commitAt({ tenant: 't1', events: [{ type: 'a', key: 'k0' }] }, offset), ack: async () => undefined }
              await new Promise((r) => setTimeout(r, gapMs(offset)))
            }
          },
        },
        stop: () => void (stopped = true),
      }
    }
    const writesWith = async (lingerMs: number, gapMs: (offset: number) => number) => {
      const inner = createInMemoryReadModelStore<Positions>()
      let puts = 0
      const store = { ...inner, put: (...a: Parameters<typeof inner.put>) => ((puts += 1), inner.put(...a)) }
      const checkpoints: number[] = []
      const listener = { progress: (p: { checkpoint: number }) => void checkpoints.push(p.checkpoint), poison: () => undefined, failure: (m: string) => expect.fail(m) }
      await runChunkedFold(def, store, trickle(gapMs), topicLog(), { lingerMs }, listener).done
      expect(inner.entries().get('t1.k0')?.state).toEqual(Array.from({ length: n }, (_, i) => `${i + 1}:0`))
      expect(checkpoints.at(-1)).toBe(n)
      return { puts, checkpoints }
    }
    // No linger: a write per commit.
    expect((await writesWith(0, () => 0)).puts).toBe(n)
    // Commits 1 ms apart within a linger of 1 s: one write for all (the feed's end writes it).
    expect((await writesWith(1_000, () => 1)).puts).toBe(1)
    // A gap longer than the linger after commit 6: the first six lingered out (one write when the
    // 1 ms timers keep time; more on a machine that delays them past 50 ms), then the rest.
    const gap = await writesWith(50, (o) => (o === 6 ? 300 : 1))
    expect(gap.checkpoints).toContain(6)
    expect(gap.puts).toBeGreaterThanOrEqual(2)
  })
})
