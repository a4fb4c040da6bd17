import { after, isProjectionKey, type ProjectedEvent, type ProjectionDefinition, takes } from '../../domain/projections/projection.js'
import type { Commit } from '../../domain/streams/event.js'
import type { CommitFeed, Entry, FeedMessage, Known, ReadModelStore, TopicSink } from './ports.js'

/** What a running fold reports. */
export interface FoldListener {
  /** After each chunk is written and acked: the checkpoint, commits still pending, events folded so far. */
  progress(p: { readonly checkpoint: number; readonly lag: number; readonly folded: number }): void
  /** The fold threw, returned undefined or gave an invalid key: nothing of that commit was written. */
  poison(p: { readonly offset: number; readonly message: string }): void
  /** Anything else (the store unavailable, a write fenced off by another writer): worth a retry. */
  failure(message: string): void
}

export interface ChunkedFoldOptions {
  /** Publish topic updates only for offsets after this (a rebuild stays quiet while the live fold speaks). */
  readonly publishAfter?: () => number
  /** Called with the last offset published, synchronously after publishing. */
  readonly published?: (offset: number) => void
  /** Checked before each chunk is written: false stops the fold (the lease is gone). */
  readonly mayWrite?: () => boolean
  /** Commits per chunk while catching up (one write per key per chunk; default 16384). */
  readonly chunk?: number
  /** Most keys whose entry and revision are kept in memory; past it the cache is cleared (default 100,000). */
  readonly cacheKeys?: number
  /**
   * Caught up (live), how long a chunk waits for more commits before it is written (default 0: at
   * once). Events that arrive one at a time then share one write per key and one ack instead of
   * paying for their own; the read model and the checkpoint trail the log by up to this much more.
   */
  readonly lingerMs?: number
}

export interface ChunkedFold {
  /** Stops pulling; resolves when the chunk in flight is written and acked (or abandoned). */
  stop(): Promise<void>
  /** Settles (never rejects) when the fold has ended: stopped, parked on a poison commit, or failed. */
  readonly done: Promise<void>
}

class Fenced extends Error {}

/** The linger's time is up (a value no feed yields). */
const lingered = Symbol('lingered')

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/**
 * What a key's state in a chunk was folded from, and so what its compare-and-set write must
 * expect: the revision it was read at, or the revisions written by the chunk before it (when it
 * built on that chunk's entry, not yet written while this one was folded).
 */
type Base = number | ReadonlyMap<string, number>

interface Chunk<S> {
  readonly msgs: FeedMessage[]
  readonly changed: Map<string, Entry<S>>
  readonly base: Map<string, Base>
  /** The revision each key got when this chunk was written. */
  readonly written: Map<string, number>
  readonly updates: { tenant: string; key: string; state: unknown; offset: number }[]
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err))

/**
 * Folds a feed of commits into a read-model store (key `<tenant>.<key>`) and announces every change
 * on the topic sink. The same result as {@link foldAll} over the log, whatever the chunk size, the
 * cache size, crashes and restarts, or other writers (they fence it off rather than be overwritten).
 *
 * - Exactly once per key: each entry records the position (offset, index in commit) of the last
 *   event folded into it, and an event at or before it is skipped.
 * - Writes are compare-and-set on the key's revision as it was when its entry was folded, so a
 *   second writer (a stale owner) is fenced off rather than overwriting, and this fold stops.
 * - Commits are folded in chunks (one write per key per chunk); the next chunk is folded while the
 *   one before is written. A chunk is acked (the checkpoint) only after all its keys are written,
 *   so a crash anywhere re-delivers it and re-applies nothing; a topic update may then repeat.
 * - A poison commit (the fold throws, returns undefined or gives an invalid key) parks the fold:
 *   everything before it is written and acked, nothing of it is.
 */
export const runChunkedFold = <S>(
  def: ProjectionDefinition<S>,
  store: ReadModelStore<S>,
  feed: CommitFeed,
  topic: TopicSink,
  options: ChunkedFoldOptions,
  listener: FoldListener,
): ChunkedFold => {
  const chunkSize = options.chunk ?? 16_384
  /** One topic update per commit and key (`'every'`), or per key per chunk written (`'latest'`). */
  const everyChange = def.topic !== 'latest'
  const lingerMs = Math.max(0, options.lingerMs ?? 0)
  const cacheKeys = options.cacheKeys ?? 100_000
  const cache = new Map<string, Known<S>>()
  const validKeys = new Set<string>()
  let folded = 0
  let stopped = false
  /** The store was empty at the start: it holds nothing this fold did not write (and cache). */
  let startedEmpty = false

  /** A key as the store has it, cached. */
  const entryOf = async (k: string): Promise<Known<S>> => {
    const cached = cache.get(k)
    if (cached !== undefined) return cached
    const known = await store.get(k)
    cache.set(k, known)
    return known
  }

  const fresh = (): Chunk<S> => ({ msgs: [], changed: new Map(), base: new Map(), written: new Map(), updates: [] })

  /**
   * Folds one commit into the chunk; throws (without touching the chunk) on a poison commit. It is
   * synchronous while every key is known: a key seen nowhere yet is read from the store, and then
   * the commit is folded again from the start (nothing of it was kept), so the common case costs no await.
   */
  const foldCommit = (m: FeedMessage, chunk: Chunk<S>, commit: Commit = m.commit()): Promise<void> | undefined => {
    const mine = new Map<string, Entry<S>>()
    let bases: Map<string, Base> | undefined
    let count = 0
    for (let index = 0; index < commit.events.length; index++) {
      // The decoded event is ours alone: annotate it in place rather than copy it.
      const e = commit.events[index] as Mutable<ProjectedEvent>
      e.tenant = commit.tenant
      e.stream = commit.stream
      e.offset = m.offset
      if (!takes(def, e)) continue
      const key = def.key(e)
      if (key === undefined) continue
      if (!validKeys.has(key)) {
        if (typeof key !== 'string' || !isProjectionKey(key)) throw new Error(`key ${JSON.stringify(key)} is not a valid projection key`)
        if (validKeys.size >= 100_000) validKeys.clear()
        validKeys.add(key)
      }
      const k = `${commit.tenant}.${key}`
      let current = mine.get(k) ?? chunk.changed.get(k)
      if (current === undefined) {
        const pending = inflight?.changed.get(k)
        if (pending !== undefined && inflight !== undefined) {
          current = pending
          ;(bases ??= new Map()).set(k, inflight.written)
        } else {
          let known = cache.get(k)
          if (known === undefined && startedEmpty) cache.set(k, (known = { revision: 0 }))
          // Only a key seen nowhere yet costs a read (and an await).
          if (known === undefined) return entryOf(k).then(() => foldCommit(m, chunk, commit))
          current = known.entry
          ;(bases ??= new Map()).set(k, known.revision)
        }
      }
      if (current !== undefined && !after({ offset: m.offset, index }, current)) continue
      const next = def.fold(current === undefined ? def.initialState : current.state, e)
      if (next === undefined) throw new Error('fold returned undefined')
      mine.set(k, { state: next, offset: m.offset, index })
      count++
    }
    folded += count
    for (const [k, entry] of mine) {
      if (!chunk.base.has(k)) {
        const base = bases?.get(k)
        if (base === undefined) throw new Error(`defect: no base revision for "${k}"`)
        chunk.base.set(k, base)
      }
      chunk.changed.set(k, entry)
      if (everyChange) chunk.updates.push({ tenant: commit.tenant, key: k.slice(commit.tenant.length + 1), state: entry.state, offset: m.offset })
    }
    return undefined
  }

  /** A compare-and-set write: the revision the entry was folded from (0: the key did not exist) must still be current. */
  const write = async (chunk: Chunk<S>, k: string, entry: Entry<S>): Promise<void> => {
    const base = chunk.base.get(k)
    const expected = typeof base === 'number' ? base : base?.get(k)
    if (expected === undefined) throw new Error(`defect: no revision to expect for "${k}"`)
    const r = await store.put(k, entry, expected)
    if (r._tag === 'Stored') {
      chunk.written.set(k, r.revision)
      cache.set(k, { entry, revision: r.revision })
      return
    }
    cache.delete(k)
    if (r._tag === 'Fenced') throw new Fenced(`write of "${k}" fenced off: another writer changed it (${r.message})`)
    throw new Error(`write of "${k}" failed: ${r.message}`)
  }

  /** Writes a chunk's keys once each, publishes its updates in order, then acks its commits. */
  const flush = async (chunk: Chunk<S>): Promise<void> => {
    const last = chunk.msgs[chunk.msgs.length - 1]
    if (last === undefined) return
    if (options.mayWrite !== undefined && !options.mayWrite()) throw new Fenced('the lease is no longer held')
    await Promise.all([...chunk.changed].map(([k, entry]) => write(chunk, k, entry)))
    const publishAfter = options.publishAfter?.() ?? 0
    let lastPublished = 0
    if (everyChange) {
      for (const u of chunk.updates) {
        if (u.offset <= publishAfter) continue
        topic.publish({ projection: def.name, tenant: u.tenant, key: u.key, state: u.state, offset: u.offset })
        lastPublished = u.offset
      }
    } else {
      // The state each key was written with (a tenant id holds no dot: the key is what follows the first).
      for (const [k, entry] of chunk.changed) {
        if (entry.offset <= publishAfter) continue
        const dot = k.indexOf('.')
        topic.publish({ projection: def.name, tenant: k.slice(0, dot), key: k.slice(dot + 1), state: entry.state, offset: entry.offset })
        lastPublished = Math.max(lastPublished, entry.offset)
      }
    }
    if (lastPublished > 0) options.published?.(lastPublished)
    await last.ack() // acknowledges every commit of the chunk
    if (cache.size > cacheKeys) {
      cache.clear()
      startedEmpty = false
    }
    listener.progress({ checkpoint: last.offset, lag: last.pending, folded })
  }

  // The next chunk is folded while the previous one is written: one flush in flight at a time, in order.
  let inflight: Chunk<S> | undefined
  let flushing: Promise<void> = Promise.resolve()
  const startFlush = (chunk: Chunk<S>): void => {
    const previous = flushing
    inflight = chunk
    flushing = previous.then(() => flush(chunk)).finally(() => {
      if (inflight === chunk) inflight = undefined
    })
    flushing.catch(() => undefined) // observed at the next await of `flushing`
  }

  const done = (async () => {
    let chunk = fresh()
    /** Set while a caught-up chunk lingers: resolves to `lingered` when its time is up. */
    let linger: Promise<typeof lingered> | undefined
    let lingerTimer: ReturnType<typeof setTimeout> | undefined
    const endLinger = (): void => {
      if (lingerTimer !== undefined) clearTimeout(lingerTimer)
      lingerTimer = undefined
      linger = undefined
    }
    try {
      // A store empty at the start holds nothing this fold did not write: no key needs a read until
      // the cache is cleared. A rebuild's new generation starts this way.
      startedEmpty = await store.isEmpty()
      const messages = feed.messages[Symbol.asyncIterator]()
      let next: Promise<IteratorResult<FeedMessage>> | undefined
      for (;;) {
        next ??= messages.next()
        const got = linger === undefined ? await next : await Promise.race([next, linger])
        if (got === lingered) {
          // Nothing more came in time: write what lingered.
          endLinger()
          await flushing
          startFlush(chunk)
          chunk = fresh()
          continue
        }
        next = undefined
        if (got.done === true) break
        const m = got.value
        try {
          const pending = foldCommit(m, chunk)
          if (pending !== undefined) await pending
        } catch (err) {
          // Park: keep what came before, write and ack nothing of this commit, no retry loop.
          startFlush(chunk)
          await flushing
          feed.stop()
          if (!stopped) listener.poison({ offset: m.offset, message: message(err) })
          return
        }
        chunk.msgs.push(m)
        // Write in chunks while catching up; when caught up (live), at once or after the linger.
        if (chunk.msgs.length >= chunkSize || (m.pending === 0 && lingerMs === 0)) {
          endLinger()
          await flushing // a failed write stops the fold here
          startFlush(chunk)
          chunk = fresh()
        } else if (m.pending === 0 && linger === undefined) {
          linger = new Promise((resolve) => {
            lingerTimer = setTimeout(() => resolve(lingered), lingerMs)
          })
        }
      }
      endLinger()
      // The feed ended (stopped): what lingered is written too (safe either way: unacked commits come again).
      if (chunk.msgs.length > 0 && lingerMs > 0) {
        await flushing
        startFlush(chunk)
      }
      await flushing
    } catch (err) {
      feed.stop()
      if (!stopped) listener.failure(message(err))
    } finally {
      endLinger()
      await flushing.catch(() => undefined)
    }
  })()

  return {
    done,
    async stop() {
      stopped = true
      feed.stop()
      await done
    },
  }
}
