import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream'
import { Kvm, type KV } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import { after, isProjectionKey, type ProjectedEvent, type ProjectionDefinition, takes } from '../../../domain/projections/projection.js'
import { decodeCommit } from '../../codec/commitCodec.js'
import type { Commit } from '../../../domain/streams/event.js'
import { decodeMsgpack, encodeMsgpack } from '../../codec/msgpack.js'
import { EVENT_STREAM as LOG_STREAM } from '../log/eventStream.js'
import { PipelinedPublisher } from '../log/pipelinedPublisher.js'
import { WireHeaders } from '../log/wireHeaders.js'
import { MSGPACK_HEADERS } from '../service/wireCodec.js'

/** A read-model entry as stored in KV: the state and the position of the last event folded into it. */
export interface Entry<S> {
  readonly state: S
  readonly offset: number
  readonly index: number
}

/** Where one fold writes: a KV bucket, fed by a durable consumer on the log that starts at `fromOffset`. */
export interface FoldTarget {
  readonly bucket: string
  readonly durable: string
  readonly fromOffset: number
}

/** What a running fold reports. */
export interface FoldListener {
  /** After each chunk is written and acked: the checkpoint, commits still pending, events folded so far. */
  progress(p: { readonly checkpoint: number; readonly lag: number; readonly folded: number }): void
  /** The fold threw, returned undefined or gave an invalid key: nothing of that commit was written. */
  poison(p: { readonly offset: number; readonly message: string }): void
  /** Anything else (NATS unavailable, a write fenced off by another writer): worth a retry. */
  failure(message: string): void
}

export interface FoldOptions {
  readonly prefix: string
  /** Publish topic updates only for offsets after this (a rebuild stays quiet while the live fold speaks). */
  readonly publishAfter?: () => number
  /** Called with the last offset published, synchronously after publishing. */
  readonly published?: (offset: number) => void
  /** Checked before each chunk is written: false stops the fold (the lease is gone). */
  readonly mayWrite?: () => boolean
  /** Commits per chunk while catching up (one KV write per key per chunk; default 16384). */
  readonly chunk?: number
  /** Most keys whose KV entry and revision are kept in memory; past it the cache is cleared (default 100,000). */
  readonly cacheKeys?: number
}

export interface RunningFold {
  /** Stops pulling; resolves when the chunk in flight is written and acked (or abandoned). */
  stop(): Promise<void>
}

export { LOG_STREAM }

class Fenced extends Error {}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** A key as last seen in KV: its entry (none if deleted) and its revision, for compare-and-set. */
interface Known<S> {
  readonly entry?: Entry<S>
  readonly revision: number
}

/** Makes sure the durable consumer exists and will redeliver at once what a dead owner left unacked. */
export const ensureFoldConsumer = async (nc: NatsConnection, target: FoldTarget, prefix: string): Promise<void> => {
  const jsm = await jetstreamManager(nc)
  const existing = await jsm.consumers.info(LOG_STREAM, target.durable).catch(() => undefined)
  if (existing !== undefined && existing.num_ack_pending === 0 && existing.config.ack_policy === AckPolicy.All) return
  // Resume right after the last commit fully applied, not after an ack wait.
  if (existing !== undefined) await jsm.consumers.delete(LOG_STREAM, target.durable)
  const start = Math.max(target.fromOffset, (existing?.ack_floor.stream_seq ?? 0) + 1)
  await jsm.consumers.add(LOG_STREAM, {
    durable_name: target.durable,
    filter_subject: `${prefix}.events.>`,
    // One ack per chunk (the last commit) acknowledges the whole chunk.
    ack_policy: AckPolicy.All,
    max_ack_pending: 50_000,
    ...(start <= 1 ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start }),
  })
}

/**
 * Folds the log into one KV bucket (key `<tenant>.<key>`) and publishes every change on
 * `<prefix>.projections.<tenant>.<name>.<key>` as `{ projection, tenant, key, state, offset }`.
 *
 * Exactly once per key: each entry records the position (offset, index in commit) of the last event
 * folded into it, and an event at or before it is skipped. Writes are compare-and-set on the key's
 * KV revision, so a second writer (a stale owner) is fenced off rather than overwriting. A commit is
 * acked (the checkpoint) only after all its keys are written, so a crash anywhere re-delivers it and
 * re-applies nothing; a topic update may then repeat (it carries its offset).
 */
export const runFold = async <S>(
  nc: NatsConnection,
  def: ProjectionDefinition<S>,
  target: FoldTarget,
  options: FoldOptions,
  listener: FoldListener,
): Promise<RunningFold> => {
  const kv: KV = await new Kvm(nc).create(target.bucket, { history: 1 })
  await ensureFoldConsumer(nc, target, options.prefix)
  const consumer = await jetstream(nc).consumers.get(LOG_STREAM, target.durable)
  const initial = await consumer.info()
  const messages = await consumer.consume({ max_messages: 4_096 })
  const chunkSize = options.chunk ?? 16_384
  const cacheKeys = options.cacheKeys ?? 100_000
  const publisher = new PipelinedPublisher(nc)
  const cache = new Map<string, Known<S>>()
  let folded = 0
  const validKeys = new Set<string>()
  let stopped = false
  listener.progress({ checkpoint: initial.ack_floor.stream_seq, lag: initial.num_pending + initial.num_ack_pending, folded })

  // A bucket empty at the start holds nothing this fold did not write (and cache): no key needs a
  // read until the cache is cleared. A rebuild's new generation starts this way.
  let startedEmpty = (await kv.status()).values === 0

  /** A key as KV has it, cached; an absent key is cached as revision 0 (what a create must expect). */
  const entryOf = async (k: string): Promise<Known<S>> => {
    const cached = cache.get(k)
    if (cached !== undefined) return cached
    const e = await kv.get(k)
    const known: Known<S> =
      e === null ? { revision: 0 } : e.operation === 'PUT' ? { entry: decodeMsgpack(e.value) as Entry<S>, revision: e.revision } : { revision: e.revision }
    cache.set(k, known)
    return known
  }

  /**
   * What a key's state in a chunk was folded from, and so what its compare-and-set write must
   * expect: the KV revision it was read at, or the revisions written by the chunk before it (when
   * it built on that chunk's entry, not yet written while this one was folded).
   */
  type Base = number | ReadonlyMap<string, number>
  type Chunk = {
    msgs: JsMsg[]
    changed: Map<string, Entry<S>>
    base: Map<string, Base>
    /** The revision each key got when this chunk was written. */
    written: Map<string, number>
    updates: { tenant: string; key: string; state: unknown; offset: number }[]
  }
  const fresh = (): Chunk => ({ msgs: [], changed: new Map(), base: new Map(), written: new Map(), updates: [] })

  /**
   * Folds one commit into the chunk; throws (without touching the chunk) on a poison event. It is
   * synchronous while every key is known: a key seen nowhere yet is read from KV, and then the
   * commit is folded again from the start (nothing of it was kept), so the common case costs no await.
   */
  const foldCommit = (m: JsMsg, chunk: Chunk, commit: Commit = decodeCommit(m.data, m.seq)): Promise<void> | undefined => {
    const mine = new Map<string, Entry<S>>()
    let bases: Map<string, Base> | undefined
    let count = 0
    for (let index = 0; index < commit.events.length; index++) {
      // The decoded event is ours alone: annotate it in place rather than copy it.
      const e = commit.events[index] as Mutable<ProjectedEvent>
      e.tenant = commit.tenant
      e.stream = commit.stream
      e.offset = m.seq
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
          // Only a key seen nowhere yet costs a KV read (and an await).
          if (known === undefined) return entryOf(k).then(() => foldCommit(m, chunk, commit))
          current = known.entry
          ;(bases ??= new Map()).set(k, known.revision)
        }
      }
      if (current !== undefined && !after({ offset: m.seq, index }, current)) continue
      const next = def.fold(current === undefined ? def.initialState : current.state, e)
      if (next === undefined) throw new Error('fold returned undefined')
      mine.set(k, { state: next, offset: m.seq, index })
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
      chunk.updates.push({ tenant: commit.tenant, key: k.slice(commit.tenant.length + 1), state: entry.state, offset: m.seq })
    }
    return undefined
  }

  /**
   * A compare-and-set KV write, pipelined: the revision the entry was folded from (0: the key did
   * not exist) must still be current, so a write by anyone else in between fences this fold off.
   */
  const write = async (chunk: Chunk, k: string, entry: Entry<S>): Promise<void> => {
    const base = chunk.base.get(k)
    const expected = typeof base === 'number' ? base : base?.get(k)
    if (expected === undefined) throw new Error(`defect: no revision to expect for "${k}"`)
    const h = WireHeaders.of(['Nats-Expected-Last-Subject-Sequence', String(expected)])
    const r = await publisher.publish(`$KV.${target.bucket}.${k}`, encodeMsgpack(entry), h)
    if (r._tag === 'Stored') {
      chunk.written.set(k, r.seq)
      cache.set(k, { entry, revision: r.seq })
      return
    }
    cache.delete(k)
    if (r._tag === 'Rejected' && r.errCode === 10071) throw new Fenced(`write of "${k}" fenced off: another writer changed it (${r.description})`)
    throw new Error(`write of "${k}" failed: ${r._tag === 'Rejected' ? r.description : r._tag}`)
  }

  /** Writes a chunk's keys once each, publishes its updates in order, then acks its commits. */
  const flush = async (chunk: Chunk): Promise<void> => {
    const last = chunk.msgs[chunk.msgs.length - 1]
    if (last === undefined) return
    if (options.mayWrite !== undefined && !options.mayWrite()) throw new Fenced('the lease is no longer held')
    await Promise.all([...chunk.changed].map(([k, entry]) => write(chunk, k, entry)))
    const publishAfter = options.publishAfter?.() ?? 0
    let lastPublished = 0
    for (const u of chunk.updates) {
      if (u.offset <= publishAfter) continue
      nc.publish(`${options.prefix}.projections.${u.tenant}.${def.name}.${u.key}`, encodeMsgpack({ projection: def.name, tenant: u.tenant, key: u.key, state: u.state, offset: u.offset }), { headers: MSGPACK_HEADERS })
      lastPublished = u.offset
    }
    if (lastPublished > 0) options.published?.(lastPublished)
    await last.ackAck() // AckPolicy.All: acknowledges every commit of the chunk
    if (cache.size > cacheKeys) {
      cache.clear()
      startedEmpty = false
    }
    listener.progress({ checkpoint: last.seq, lag: last.info.pending, folded })
  }

  // The next chunk is folded while the previous one is written: one flush in flight at a time, in order.
  let inflight: Chunk | undefined
  let flushing: Promise<void> = Promise.resolve()
  const startFlush = (chunk: Chunk): void => {
    const previous = flushing
    inflight = chunk
    flushing = previous.then(() => flush(chunk)).finally(() => {
      if (inflight === chunk) inflight = undefined
    })
    flushing.catch(() => undefined) // observed at the next await of `flushing`
  }

  const loop = (async () => {
    let chunk = fresh()
    try {
      for await (const m of messages) {
        try {
          const pending = foldCommit(m, chunk)
          if (pending !== undefined) await pending
        } catch (err) {
          // Park: keep what came before, write and ack nothing of this commit, no retry loop.
          startFlush(chunk)
          await flushing
          messages.stop()
          if (!stopped) listener.poison({ offset: m.seq, message: err instanceof Error ? err.message : String(err) })
          return
        }
        chunk.msgs.push(m)
        // Write in chunks while catching up; at once when caught up (live).
        if (chunk.msgs.length >= chunkSize || m.info.pending === 0) {
          await flushing // a failed write stops the fold here
          startFlush(chunk)
          chunk = fresh()
        }
      }
      await flushing
    } catch (err) {
      messages.stop()
      if (!stopped) listener.failure(err instanceof Error ? err.message : String(err))
    } finally {
      await flushing.catch(() => undefined)
      publisher.close()
    }
  })()

  return {
    async stop() {
      stopped = true
      messages.stop()
      await loop
    },
  }
}
