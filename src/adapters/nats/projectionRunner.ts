import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream'
import { type KV, Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import { after, isProjectionKey, type Position, type ProjectedEvent, type ProjectionDefinition, takes } from '../../domain/projections/projection.js'
import { decodeCommit } from '../codec/commitCodec.js'
import { decodeMsgpack, encodeMsgpack } from '../codec/msgpack.js'

/** A read-model entry as stored in KV: the state and the position of the last event folded into it. */
interface Entry<S> {
  readonly state: S
  readonly offset: number
  readonly index: number
}

/** One change of one key, as published on the projection topic. */
interface Update {
  readonly tenant: string
  readonly key: string
  readonly state: unknown
  readonly offset: number
}

export interface ProjectionStatus {
  readonly name: string
  readonly version: number
  readonly state: 'starting' | 'catching-up' | 'live' | 'failed' | 'stopped'
  /** Offset of the last commit fully applied and acknowledged. */
  readonly checkpoint: number
  /** Commits of the log not yet applied. */
  readonly lag: number
  readonly eventsPerSecond: number
  readonly lastError?: { readonly offset: number; readonly message: string }
}

export interface ProjectionRunner {
  status(): ProjectionStatus
  stop(): Promise<void>
}

export const bucketOf = (p: { readonly name: string; readonly version: number }) => `ALLSOURCE_PROJ_${p.name}_v${p.version}`
const durableOf = (p: { readonly name: string; readonly version: number }) => `proj=${p.name}=v${p.version}`

/** Reads one key of a projection's read model: `{ key, state, offset }`, or undefined. */
export const readProjection = async (
  nc: NatsConnection,
  p: { readonly name: string; readonly version: number },
  tenant: string,
  key: string,
): Promise<{ readonly key: string; readonly state: unknown; readonly offset: number } | undefined> => {
  const kv = await new Kvm(nc).open(bucketOf(p))
  const e = await kv.get(`${tenant}.${key}`)
  if (e === null || e.operation !== 'PUT') return undefined
  const entry = decodeMsgpack(e.value) as Entry<unknown>
  return { key, state: entry.state, offset: entry.offset }
}

/**
 * Folds the log into a projection's read model (KV bucket `ALLSOURCE_PROJ_<name>_v<version>`,
 * key `<tenant>.<key>`) and publishes every change on `allsource.projections.<tenant>.<name>.<key>`
 * as `{ projection, tenant, key, state, offset }`, in offset order per key.
 *
 * Exactly once per key: each entry records the position (offset, index in commit) of the last
 * event folded into it, and an event at or before that position is skipped. A commit is acked
 * (the checkpoint) only after all its keys are written, so a crash anywhere re-delivers it and
 * re-applies nothing. A topic update may repeat after a crash; it carries its offset. A fold that
 * throws or returns undefined parks the projection in `failed` with the offending offset.
 */
export const startProjection = async <S>(
  nc: NatsConnection,
  def: ProjectionDefinition<S>,
  options: { readonly prefix?: string } = {},
): Promise<ProjectionRunner> => {
  const prefix = options.prefix ?? 'allsource'
  const jsm = await jetstreamManager(nc)
  const kv: KV = await new Kvm(nc).create(bucketOf(def), { history: 1 })
  const name = durableOf(def)
  const existing = await jsm.consumers.info('ALLSOURCE_EVENTS', name).catch(() => undefined)
  if (existing === undefined || existing.num_ack_pending > 0) {
    // Resume right after the last commit fully applied (see durable subscriptions).
    if (existing !== undefined) await jsm.consumers.delete('ALLSOURCE_EVENTS', name)
    await jsm.consumers.add('ALLSOURCE_EVENTS', {
      durable_name: name,
      filter_subject: `${prefix}.events.>`,
      ack_policy: AckPolicy.Explicit,
      max_ack_pending: 1_000,
      ...(existing === undefined
        ? { deliver_policy: DeliverPolicy.All }
        : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: existing.ack_floor.stream_seq + 1 }),
    })
  }
  const consumer = await jetstream(nc).consumers.get('ALLSOURCE_EVENTS', name)
  const messages = await consumer.consume({ max_messages: 512 })
  const cache = new Map<string, Entry<S>>()
  const initial = await consumer.info()
  let state: ProjectionStatus['state'] = initial.num_pending === 0 ? 'live' : 'catching-up'
  let checkpoint = initial.ack_floor.stream_seq
  let lag = 0
  let lastError: ProjectionStatus['lastError']
  let folded = 0
  const started = Date.now()

  const entryOf = async (k: string): Promise<Entry<S> | undefined> => {
    const cached = cache.get(k)
    if (cached !== undefined) return cached
    const e = await kv.get(k)
    if (e === null || e.operation !== 'PUT') return undefined
    const entry = decodeMsgpack(e.value) as Entry<S>
    cache.set(k, entry)
    return entry
  }

  /** Folds one commit into `changed` (the chunk's pending writes); throws on a poison event. */
  const foldCommit = async (m: JsMsg, changed: Map<string, Entry<S>>, updates: Update[]): Promise<void> => {
    const commit = decodeCommit(m.data, m.seq)
    const mine = new Map<string, Entry<S>>()
    const myUpdates: Update[] = []
    for (let index = 0; index < commit.events.length; index++) {
      const e: ProjectedEvent = { ...(commit.events[index] as ProjectedEvent), tenant: commit.tenant, stream: commit.stream, offset: m.seq }
      if (!takes(def, e)) continue
      const key = def.key(e)
      if (key === undefined) continue
      if (!isProjectionKey(key)) throw new Error(`key "${key}" is not a valid projection key`)
      const k = `${commit.tenant}.${key}`
      const current = mine.get(k) ?? changed.get(k) ?? (await entryOf(k))
      const position: Position = { offset: m.seq, index }
      if (current !== undefined && !after(position, current)) continue
      const next = def.fold(current === undefined ? def.initialState : current.state, e)
      if (next === undefined) throw new Error('fold returned undefined')
      mine.set(k, { state: next, offset: m.seq, index })
      folded++
    }
    // Only a commit folded whole joins the chunk: a poison event leaves no partial commit behind.
    for (const [k, entry] of mine) {
      changed.set(k, entry)
      myUpdates.push({ tenant: commit.tenant, key: k.slice(commit.tenant.length + 1), state: entry.state, offset: m.seq })
    }
    updates.push(...myUpdates)
  }

  /** Writes a chunk's keys once each, then publishes its updates in order, then acks its commits. */
  const flush = async (chunk: JsMsg[], changed: Map<string, Entry<S>>, updates: Update[]): Promise<void> => {
    await Promise.all([...changed].map(([k, entry]) => kv.put(k, encodeMsgpack(entry))))
    for (const [k, entry] of changed) cache.set(k, entry)
    for (const u of updates) {
      nc.publish(`${prefix}.projections.${u.tenant}.${def.name}.${u.key}`, encodeMsgpack({ projection: def.name, ...u }))
    }
    const last = chunk[chunk.length - 1]
    if (last === undefined) return
    for (const m of chunk.slice(0, -1)) m.ack()
    await last.ackAck() // acks travel in order on one connection: this one lands last
    checkpoint = last.seq
    lag = last.info.pending
    state = lag === 0 ? 'live' : 'catching-up'
    if (cache.size > 100_000) cache.clear()
  }

  const loop = (async () => {
    let chunk: JsMsg[] = []
    let changed = new Map<string, Entry<S>>()
    let updates: Update[] = []
    for await (const m of messages) {
      try {
        await foldCommit(m, changed, updates)
      } catch (err) {
        // Park: keep what came before, write and ack nothing of this commit, no retry loop.
        await flush(chunk, changed, updates)
        state = 'failed'
        lastError = { offset: m.seq, message: err instanceof Error ? err.message : String(err) }
        messages.stop()
        break
      }
      chunk.push(m)
      // Write in chunks while catching up; at once when caught up (live).
      if (chunk.length >= 256 || m.info.pending === 0) {
        await flush(chunk, changed, updates)
        chunk = []
        changed = new Map()
        updates = []
      }
    }
  })()

  return {
    status: () => ({
      name: def.name,
      version: def.version,
      state,
      checkpoint,
      lag,
      eventsPerSecond: Math.round(folded / Math.max(0.001, (Date.now() - started) / 1000)),
      ...(lastError !== undefined ? { lastError } : {}),
    }),
    async stop() {
      messages.stop()
      await loop.catch(() => undefined)
      if (state !== 'failed') state = 'stopped'
    },
  }
}
