import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { Kvm, type KV } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import { partitionsOwnedBy } from '../../../domain/routing/partitions.js'
import { abortableSleep } from '../../system/abortableSleep.js'
import { LEASE_BUCKET } from '../ingest/leasedIngest.js'
import { subjects } from '../subjects.js'
import type { Endpoint } from './endpoint.js'

/** KV keys of the routing membership in `ALLSOURCE_LEASES`: `routing.members.<member>`. */
export const MEMBER_KEY_PREFIX = 'routing.members.'

export interface PartitionRoutingOptions {
  readonly prefix: string
  /** Partitions of the server's mapping (`{{partition(n,1,2)}}`); every instance must use the same. */
  readonly partitions: number
  /** This instance's member id (a KV key token: `A–Z a–z 0–9 _ - =`), unique among the instances. */
  readonly member: string
  /** How long a member whose heartbeat stopped still counts as alive (default 3000 ms); it beats every `ttlMs / 3`. */
  readonly ttlMs?: number
  /**
   * How long this instance keeps serving a partition it gave away (a member joined), so the new
   * owner has subscribed before it lets go (default `ttlMs`).
   */
  readonly handoffMs?: number
  /** Replicas of `ALLSOURCE_LEASES` when it is created here (default 1). */
  readonly replicas?: number
  /** Told of each NATS failure (the heartbeat goes on) and of membership changes. */
  readonly log?: (message: string) => void
}

export interface PartitionRouting {
  /** The partitions this instance serves now (including those it is handing off). */
  served(): ReadonlySet<number>
  /** The members this instance counts as alive now (itself included). */
  members(): readonly string[]
  /**
   * Leaves: deletes this member's key, keeps serving for one heartbeat and the handoff so the
   * others take its partitions over first, then stops listening on them.
   */
  stop(): Promise<void>
}

/** A member's heartbeat value: the wall clock when written (a first sight of an old one counts as dead) and the partition count. */
interface Beat {
  readonly at: number
  readonly partitions: number
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * Routes each stream's appends to one instance (docs/operations.md, "Several processors"). The
 * server maps `allsource.append.<tenant>.<stream>` to `allsource.routed.<tenant>.<stream>.<p>`
 * (`appendMapping`); this instance listens on the partitions `p` it owns, each in queue group
 * `<prefix>-p<p>`. Ownership is rendezvous hashing over the live members (`assignPartitions`),
 * which every instance computes from the heartbeats in KV `ALLSOURCE_LEASES` (keys
 * `routing.members.<member>`, one put every `ttlMs / 3`).
 *
 * Guarantees and limits:
 * - a partition gained is subscribed at once; one given away is served `handoffMs` longer (make
 *   before break), so while members agree nothing goes unanswered; two instances may serve one
 *   stream meanwhile, and its appends stay serializable through the log's expected sequence (a
 *   conflict costs a reload);
 * - a member that dies without leaving keeps its partitions unserved until its heartbeat is
 *   `ttlMs` old: requests on them answer "no responders" until then;
 * - a member is alive while its key's revision changes within `ttlMs` by this instance's clock
 *   (clock skew does not matter); one seen for the first time counts only if its heartbeat's wall
 *   time is less than `ttlMs` old (so a crashed member's key does not hold partitions at start).
 */
export const startPartitionRouting = async (nc: NatsConnection, endpoint: Endpoint, o: PartitionRoutingOptions): Promise<PartitionRouting> => {
  const ttlMs = o.ttlMs ?? 3_000
  const beatMs = Math.max(50, Math.floor(ttlMs / 3))
  const handoffMs = o.handoffMs ?? ttlMs
  const log = o.log ?? (() => undefined)
  const s = subjects(o.prefix)
  const kv: KV = await new Kvm(nc).create(LEASE_BUCKET, { history: 1, replicas: o.replicas ?? 1 })
  const jsm: JetStreamManager = await jetstreamManager(nc, { checkAPI: false })
  const memberSubjects = `$KV.${LEASE_BUCKET}.${MEMBER_KEY_PREFIX}>`
  const myKey = `${MEMBER_KEY_PREFIX}${o.member}`
  /** Each member seen: its last revision and when (this clock) it last changed. */
  const seen = new Map<string, { revision: number; changedAt: number }>()
  const subs = new Map<number, { drain(): Promise<void>; releaseAt?: number }>()
  let alive: readonly string[] = [o.member]
  const stopping = new AbortController()

  const beat = async (): Promise<void> => {
    const value: Beat = { at: Date.now(), partitions: o.partitions }
    await kv.put(myKey, JSON.stringify(value))
  }

  const refreshMembers = async (): Promise<void> => {
    const now = performance.now()
    // One request (the stream's subjects under the members' prefix), not a consumer as `kv.keys()` makes.
    const info = await jsm.streams.info(`KV_${LEASE_BUCKET}`, { subjects_filter: memberSubjects })
    const keys = Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(`$KV.${LEASE_BUCKET}.`.length))
    const present = new Set<string>()
    for (const key of keys) {
      const member = key.slice(MEMBER_KEY_PREFIX.length)
      const e = await kv.get(key)
      if (e === null || e.operation !== 'PUT') continue
      present.add(member)
      const before = seen.get(member)
      if (before === undefined) {
        const beatValue = (() => {
          try {
            return e.json<Beat>()
          } catch {
            return undefined
          }
        })()
        const fresh = beatValue !== undefined && Date.now() - beatValue.at < ttlMs
        // An old heartbeat seen first counts as changed a whole TTL ago: dead until it changes.
        seen.set(member, { revision: e.revision, changedAt: fresh ? now : now - ttlMs })
        if (beatValue !== undefined && beatValue.partitions !== o.partitions) log(`routing: member ${member} uses ${beatValue.partitions} partitions, this instance ${o.partitions}; set ALLSOURCE_PARTITIONS alike everywhere`)
      } else if (before.revision !== e.revision) seen.set(member, { revision: e.revision, changedAt: now })
    }
    for (const m of [...seen.keys()]) if (!present.has(m)) seen.delete(m)
    const next = [...seen.entries()].filter(([m, v]) => m === o.member || now - v.changedAt < ttlMs).map(([m]) => m)
    if (!next.includes(o.member)) next.push(o.member)
    next.sort()
    if (next.join(',') !== alive.join(',')) log(`routing: members ${next.join(', ')}`)
    alive = next
  }

  const subscribe = async (owned: ReadonlySet<number>): Promise<void> => {
    const now = performance.now()
    for (const p of owned) {
      const sub = subs.get(p)
      if (sub === undefined) subs.set(p, await endpoint.attach(s.routedAppend('*', '*', p), `${o.prefix}-p${p}`))
      else delete sub.releaseAt
    }
    for (const [p, sub] of subs) {
      if (owned.has(p)) continue
      if (sub.releaseAt === undefined) sub.releaseAt = now + handoffMs
      else if (now >= sub.releaseAt) {
        subs.delete(p)
        await sub.drain()
      }
    }
  }

  const tick = async (): Promise<void> => {
    try {
      await beat()
    } catch (e) {
      log(`routing: heartbeat failed: ${message(e)}; retrying`)
    }
    try {
      await refreshMembers()
    } catch (e) {
      // Keep serving what we serve: a stale view at worst serves a partition twice.
      log(`routing: members not read: ${message(e)}; retrying`)
      return
    }
    await subscribe(partitionsOwnedBy(o.member, alive, o.partitions))
  }

  await tick()
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      await abortableSleep(beatMs, stopping.signal)
      if (stopping.signal.aborted) break
      await tick().catch((e: unknown) => log(`routing: ${message(e)}`))
    }
  })()

  return {
    served: () => new Set(subs.keys()),
    members: () => alive,
    async stop() {
      stopping.abort()
      await loop
      // Leave, let the others see it (one heartbeat) and take over (their subscribe), then let go.
      const left = await kv.delete(myKey).then(
        () => true,
        () => false,
      )
      if (left && subs.size > 0) await abortableSleep(beatMs + Math.min(handoffMs, beatMs))
      await Promise.all([...subs.values()].map((sub) => sub.drain()))
      subs.clear()
    },
  }
}
