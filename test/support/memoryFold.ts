import type { CommitFeed, Entry, FeedMessage, ReadModelStore, TopicUpdate, WriteOutcome } from '../../src/application/projections/ports.js'
import type { Commit } from '../../src/domain/streams/event.js'

/** A deterministic pseudo-random source (mulberry32), so a failing case replays from its seed. */
export const rng = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Lets other tasks run for a random number of turns (0..n-1 macrotask turns). */
export const turns = async (random: () => number, n = 3): Promise<void> => {
  for (let i = Math.floor(random() * n); i > 0; i--) await new Promise((r) => setImmediate(r))
}

/** A log in memory: commits at offsets 1..n, growing until closed; durable consumers are ack floors. */
export class MemoryLog {
  readonly commits: (() => Commit)[] = []
  closed = false
  private wakers: (() => void)[] = []

  append(commit: () => Commit): void {
    this.commits.push(commit)
    this.wake()
  }

  close(): void {
    this.closed = true
    this.wake()
  }

  wake(): void {
    const w = this.wakers
    this.wakers = []
    for (const f of w) f()
  }

  changed(): Promise<void> {
    return new Promise((r) => this.wakers.push(r))
  }
}

export interface Consumer {
  ackFloor: number
}

/**
 * A feed on the log from the consumer's ack floor, as a durable consumer with ack policy "all"
 * delivers it: `pending` is what the log holds past a message; the iteration ends at the end of a
 * closed log or on stop. `ackFails` makes an ack fail (the checkpoint stays put); `onAck` sees each
 * ack before it moves the checkpoint.
 */
export const memoryFeed = (log: MemoryLog, consumer: Consumer, random: () => number, ackFails = 0, onAck?: (offset: number) => void): CommitFeed => {
  let stopped = false
  return {
    messages: {
      async *[Symbol.asyncIterator](): AsyncGenerator<FeedMessage> {
        let next = consumer.ackFloor + 1
        for (;;) {
          if (stopped) return
          if (next <= log.commits.length) {
            const offset = next++
            const commit = log.commits[offset - 1] as () => Commit
            yield {
              offset,
              pending: log.commits.length - offset,
              commit,
              async ack() {
                await turns(random)
                if (random() < ackFails) throw new Error('ack timed out')
                onAck?.(offset)
                consumer.ackFloor = Math.max(consumer.ackFloor, offset)
              },
            }
            if (random() < 0.2) await turns(random)
          } else if (log.closed) return
          else await log.changed()
        }
      },
    },
    stop() {
      stopped = true
      log.wake()
    },
  }
}

export interface Faults {
  /** A put fails and writes nothing. */
  readonly lost?: number
  /** A put is written but answers a failure (its reply was lost). */
  readonly lostReply?: number
  /** Before a put, another writer changes a key the fold has written (appends 'X' to its state). */
  readonly intrude?: number
}

/** A store seen through faults and random delays; intrusions are counted per key. */
export const faultyStore = <S extends readonly string[]>(
  inner: ReadModelStore<S> & { entries(): ReadonlyMap<string, Entry<S>> },
  random: () => number,
  faults: () => Faults,
  intrusions: Map<string, number>,
): ReadModelStore<S> => ({
  isEmpty: () => inner.isEmpty(),
  async get(key) {
    await turns(random)
    return inner.get(key)
  },
  async put(key, entry, expected): Promise<WriteOutcome> {
    const f = faults()
    if (random() < (f.intrude ?? 0)) {
      const keys = [...inner.entries().keys()]
      const victim = random() < 0.5 && keys.includes(key) ? key : keys[Math.floor(random() * keys.length)]
      if (victim !== undefined) {
        const known = await inner.get(victim)
        if (known.entry !== undefined) {
          const r = await inner.put(victim, { ...known.entry, state: [...known.entry.state, 'X'] as unknown as S }, known.revision)
          if (r._tag === 'Stored') intrusions.set(victim, (intrusions.get(victim) ?? 0) + 1)
        }
      }
    }
    await turns(random)
    if (random() < (f.lost ?? 0)) return { _tag: 'Failed', message: 'TimedOut' }
    const r = await inner.put(key, entry, expected)
    await turns(random)
    if (r._tag === 'Stored' && random() < (f.lostReply ?? 0)) return { _tag: 'Failed', message: 'TimedOut' }
    return r
  },
})

/** Collects topic updates. */
export const topicLog = (): { readonly updates: TopicUpdate[]; publish(u: TopicUpdate): void } => {
  const updates: TopicUpdate[] = []
  return { updates, publish: (u) => updates.push(u) }
}
