import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { Kvm, type KV } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import { unavailable } from '../../../application/streams/errors.js'
import { partitionsOwnedBy } from '../../../domain/routing/partitions.js'
import { abortableSleep } from '../../system/abortableSleep.js'
import { asProcessRef, processGone, type ProcessRef } from '../../system/processIdentity.js'
import { LEASE_BUCKET } from '../ingest/leasedIngest.js'
import { subjects } from '../subjects.js'
import type { AttachedSubject, Endpoint } from './endpoint.js'
import { type Heartbeat, type HeartbeatConnection, lateTimerReporter, startMainThreadHeartbeat, startWorkerHeartbeat } from './heartbeat.js'
import type { WireFailure } from './errorCodes.js'

/** KV keys of the routing membership in `ALLSOURCE_LEASES`: `routing.members.<member>`. */
export const MEMBER_KEY_PREFIX = 'routing.members.'

export interface PartitionRoutingOptions {
  readonly prefix: string
  /** Partitions of the server's mapping (`{{partition(n,1,2)}}`); every instance must use the same. */
  readonly partitions: number
  /** This instance's member id (a KV key token: `A–Z a–z 0–9 _ - =`), unique among the instances. */
  readonly member: string
  /**
   * How long a member whose heartbeat stopped still counts as alive (default 3000 ms); it beats
   * every `ttlMs / 3`, and steps back from its partitions (fences itself) when its last renewal
   * was sent more than `ttlMs - ttlMs / 6` ago by its own monotonic clock.
   */
  readonly ttlMs?: number
  /**
   * How long this instance keeps serving a partition it gave away (a member joined), so the new
   * owner has subscribed before it lets go (default `ttlMs`).
   */
  readonly handoffMs?: number
  /** Replicas of `ALLSOURCE_LEASES` when it is created here (default 1). */
  readonly replicas?: number
  /**
   * Told of partitions that moved: those this instance let go (handed off, or fenced) and those it
   * is about to take (before it subscribes). Streams on them may have been written elsewhere, so
   * what this instance cached of them is stale (the processor passivates their idle actors).
   */
  readonly onMoved?: (partitions: ReadonlySet<number>) => void
  /**
   * Beat from a worker thread with a connection of its own to these servers (the processor passes
   * its own; heartbeat.ts): a busy main thread then does not make the heartbeat late. Without it
   * the heartbeat runs on this thread's event loop, on `nc`.
   */
  readonly heartbeatConnection?: HeartbeatConnection
  /** Told of each NATS failure (the heartbeat goes on) and of membership changes. */
  readonly log?: (message: string) => void
}

export interface PartitionRouting {
  /** The partitions this instance serves now (including those it is handing off; none while fenced). */
  served(): ReadonlySet<number>
  /** How often this instance fenced itself (its heartbeat lapsed) and how many requests its fence answered `UNAVAILABLE`. */
  fencing(): { readonly fences: number; readonly refused: number; readonly fenced: boolean }
  /** The members this instance counts as alive now (itself included). */
  members(): readonly string[]
  /**
   * Leaves: deletes this member's key, keeps serving for one heartbeat and the handoff so the
   * others take its partitions over first, then stops listening on them.
   */
  stop(): Promise<void>
}

/**
 * A member's heartbeat value: the wall clock when written (a first sight of an old one counts as
 * dead), the partition count, the partitions it served when it wrote it (a member rejoining
 * after a fence waits until no live member claims its partitions), and its process (a member on
 * this host whose process is gone counts as dead at once).
 */
interface Beat {
  readonly at: number
  readonly partitions: number
  readonly serving?: readonly number[]
  /** The member's process (`processIdentity.ts`); absent from older members and where it cannot be named. */
  readonly process?: ProcessRef
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const beatOf = (e: { json<T>(): T }): Beat | undefined => {
  try {
    const b = e.json<Beat>()
    if (typeof b !== 'object' || b === null || typeof b.at !== 'number' || typeof b.partitions !== 'number') return undefined
    const process = asProcessRef(b.process)
    return { at: b.at, partitions: b.partitions, ...(Array.isArray(b.serving) ? { serving: b.serving } : {}), ...(process !== undefined ? { process } : {}) }
  } catch {
    return undefined
  }
}

/** A partition subscribed: its subscription, when a handed-off one is let go, and whether a fence closed it. */
interface Subscribed {
  sub?: AttachedSubject
  releaseAt?: number
  closed: boolean
}


/**
 * Routes each stream's appends to one instance (docs/operations.md, "Several processors"). The
 * server maps `allsource.append.<tenant>.<stream>` to `allsource.routed.<tenant>.<stream>.<p>`
 * (`appendMapping`); this instance listens on the partitions `p` it owns, each in queue group
 * `<prefix>-p<p>`. Ownership is rendezvous hashing over the live members (`assignPartitions`),
 * which every instance computes from the heartbeats in KV `ALLSOURCE_LEASES` (keys
 * `routing.members.<member>`, one put every `ttlMs / 3` on a fixed-rate timer of its own, on a
 * worker thread with `heartbeatConnection` (heartbeat.ts), apart from the reading of the others
 * every `ttlMs / 3`).
 *
 * Guarantees and limits:
 * - a member is alive while its key's revision changes within `ttlMs` by the observer's monotonic
 *   clock, measured from when the observer saw the change (clock skew does not matter); one seen
 *   for the first time counts only if its heartbeat's wall time is less than `ttlMs` old (so a
 *   crashed member's key does not hold partitions at start);
 * - self-fencing: an instance serves only while its lease holds, i.e. less than `ttlMs - ttlMs/6`
 *   has passed on its own monotonic clock since it *sent* its last heartbeat that was acknowledged.
 *   The others see that heartbeat no earlier than it was sent and count the member dead `ttlMs`
 *   after they saw it, so it has stopped first, by at least `ttlMs / 6`. The check is synchronous
 *   in every routed request (a process that was stopped or starved answers what it finds buffered
 *   `UNAVAILABLE` and serves nothing), and a timer drains the subscriptions;
 * - a fenced instance whose heartbeat goes through again rejoins only partition by partition, once
 *   no member it counts alive announces that partition in its heartbeat (break before make: a
 *   short gap answered "no responders", never two instances at once);
 * - otherwise a partition gained is subscribed at once; one given away is served `handoffMs`
 *   longer (make before break), so while members agree nothing goes unanswered; two instances may
 *   serve one stream meanwhile, and its appends stay serializable through the log's expected
 *   sequence (a conflict costs a reload);
 * - a member that dies without leaving keeps its partitions unserved until its heartbeat is
 *   `ttlMs` old: requests on them answer "no responders" until then; except that a member on
 *   this host (same boot and pid namespace, `processIdentity.ts`) whose process is gone counts as
 *   dead at the next read of the members (within `ttlMs / 3`), or at once when first seen;
 * - work a fenced instance had started before its lease lapsed (an append whose commit was already
 *   on its way to the log) completes; the log's expected sequence keeps it serializable.
 */
export const startPartitionRouting = async (nc: NatsConnection, endpoint: Endpoint, o: PartitionRoutingOptions): Promise<PartitionRouting> => {
  const ttlMs = o.ttlMs ?? 3_000
  const beatMs = Math.max(50, Math.floor(ttlMs / 3))
  const leaseMs = ttlMs - Math.floor(ttlMs / 6)
  const handoffMs = o.handoffMs ?? ttlMs
  const log = o.log ?? (() => undefined)
  const s = subjects(o.prefix)
  const kv: KV = await new Kvm(nc).create(LEASE_BUCKET, { history: 1, replicas: o.replicas ?? 1 })
  const jsm: JetStreamManager = await jetstreamManager(nc, { checkAPI: false })
  const memberSubjects = `$KV.${LEASE_BUCKET}.${MEMBER_KEY_PREFIX}>`
  const myKey = `${MEMBER_KEY_PREFIX}${o.member}`
  /** Each member seen: its last revision, when (this clock) it last changed, and what it said it served. */
  const seen = new Map<string, { revision: number; changedAt: number; serving: readonly number[] }>()
  /** Each partition subscribed: its subscription, when a handed-off one is let go, and whether a fence closed it. */
  const subs = new Map<number, Subscribed>()
  let alive: readonly string[] = [o.member]
  const stopping = new AbortController()

  const leaseNs = BigInt(leaseMs) * 1_000_000n
  let fenced = false
  /** After a fence: partitions are taken back only once no live member announces them. */
  let rejoining = false
  let fences = 0
  let refused = 0
  /** Set by `stop()` once the heartbeat is deleted: the others take over at once, so no fence. */
  let leaving = false
  const reportLate = lateTimerReporter('routing: lease check', beatMs, log)
  let heartbeat: Heartbeat | undefined

  const moved = (partitions: ReadonlySet<number>): void => {
    if (partitions.size === 0 || o.onMoved === undefined) return
    try {
      o.onMoved(partitions)
    } catch (e) {
      log(`routing: onMoved failed: ${message(e)}`)
    }
  }
  /** Since the last acknowledged heartbeat was sent (ns, process-wide monotonic clock). */
  const sinceRenewal = (): bigint => process.hrtime.bigint() - (heartbeat?.renewedAt() ?? 0n)
  /** The heartbeat's lapse count this instance has fenced for. */
  let lapsesSeen = 0n
  /** The lease has lapsed now, or lapsed since the last fence (and may be renewed already: a resumed process). */
  const lapsed = (): boolean => !leaving && (sinceRenewal() >= leaseNs || (heartbeat?.lapses() ?? 0n) !== lapsesSeen)
  const fenceFailure = (p: number): WireFailure =>
    unavailable(`partition ${p} is not served here now (this processor's membership heartbeat lapsed); retry`, { retryAfterMs: Math.min(1_000, beatMs) })

  /** Steps back from every partition: each subscription refuses what still arrives and is drained. */
  const fence = (): void => {
    lapsesSeen = heartbeat?.lapses() ?? 0n
    if (fenced) return
    fenced = true
    fences++
    const since = Number(sinceRenewal() / 1_000_000n)
    log(`routing: heartbeat lapsed (lease ${leaseMs} ms; the last one acknowledged was sent ${since} ms ago): stepping back from ${subs.size} partitions until it is renewed and they are free`)
    for (const entry of subs.values()) {
      entry.closed = true
      entry.sub?.drain().catch(() => undefined)
    }
    const released = new Set(subs.keys())
    subs.clear()
    announce()
    moved(released)
  }

  /** Asked synchronously for every routed request, before anything else is done with it. */
  const gateOf = (p: number, entry: Subscribed) => (): WireFailure | undefined => {
    if (entry.closed || fenced || (lapsed() && (fence(), true))) {
      refused++
      return fenceFailure(p)
    }
    return undefined
  }

  /** Tells the heartbeat what this instance serves (announced to the others; nothing while fenced). */
  const announce = (): void => heartbeat?.setServing(fenced ? [] : [...subs.keys()].sort((x, y) => x - y))

  const refreshMembers = async (): Promise<void> => {
    // One request (the stream's subjects under the members' prefix), not a consumer as `kv.keys()` makes.
    const info = await jsm.streams.info(`KV_${LEASE_BUCKET}`, { subjects_filter: memberSubjects })
    const keys = Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(`$KV.${LEASE_BUCKET}.`.length))
    const entries = await Promise.all(keys.map(async (key) => ({ member: key.slice(MEMBER_KEY_PREFIX.length), e: await kv.get(key) })))
    const now = performance.now()
    const present = new Set<string>()
    for (const { member, e } of entries) {
      if (e === null || e.operation !== 'PUT') continue
      present.add(member)
      const before = seen.get(member)
      const beatValue = beatOf(e)
      const serving = beatValue?.serving ?? []
      // A member on this host whose process is gone (a SIGKILLed processor restarted) is dead now, not a TTL later.
      const gone = member !== o.member && beatValue?.process !== undefined && processGone(beatValue.process)
      const wasAlive = before === undefined ? beatValue !== undefined && Date.now() - beatValue.at < ttlMs : now - before.changedAt < ttlMs
      if (gone && wasAlive) log(`routing: member ${member} was process ${beatValue?.process?.pid} on this host, which is gone: counted dead now`)
      if (before === undefined) {
        // An old heartbeat seen first counts as changed a whole TTL ago: dead until it changes.
        seen.set(member, { revision: e.revision, changedAt: wasAlive && !gone ? now : now - ttlMs, serving })
        if (beatValue !== undefined && beatValue.partitions !== o.partitions) log(`routing: member ${member} uses ${beatValue.partitions} partitions, this instance ${o.partitions}; set ALLSOURCE_PARTITIONS alike everywhere`)
      } else if (gone) {
        seen.set(member, { revision: e.revision, changedAt: now - ttlMs, serving })
      } else if (before.revision !== e.revision) seen.set(member, { revision: e.revision, changedAt: now, serving })
    }
    for (const m of [...seen.keys()]) if (!present.has(m)) seen.delete(m)
    const next = [...seen.entries()].filter(([m, v]) => m === o.member || now - v.changedAt < ttlMs).map(([m]) => m)
    if (!next.includes(o.member)) next.push(o.member)
    next.sort()
    if (next.join(',') !== alive.join(',')) log(`routing: members ${next.join(', ')}`)
    alive = next
  }

  /** Whether a member this instance counts alive (not itself) announced serving `p` in its last heartbeat. */
  const claimedByOther = (p: number): boolean => alive.some((m) => m !== o.member && (seen.get(m)?.serving.includes(p) ?? false))

  const subscribe = async (owned: ReadonlySet<number>): Promise<void> => {
    if (fenced || lapsed()) return fence()
    let waiting = 0
    for (const p of owned) {
      const held = subs.get(p)
      if (held !== undefined) {
        delete held.releaseAt
        continue
      }
      if (rejoining && claimedByOther(p)) {
        waiting++
        continue
      }
      moved(new Set([p]))
      const epoch = fences
      const entry: Subscribed = { closed: false }
      entry.sub = await endpoint.attach(s.routedAppend('*', '*', p), `${o.prefix}-p${p}`, gateOf(p, entry))
      if (fenced || fences !== epoch) {
        // fenced while subscribing
        entry.closed = true
        entry.sub.drain().catch(() => undefined)
      } else subs.set(p, entry)
    }
    if (rejoining && waiting === 0) {
      rejoining = false
      log(`routing: rejoined, serving ${subs.size} partitions`)
    }
    const now = performance.now()
    for (const [p, entry] of subs) {
      if (owned.has(p)) continue
      if (entry.releaseAt === undefined) entry.releaseAt = now + handoffMs
      else if (now >= entry.releaseAt) {
        subs.delete(p)
        await entry.sub?.drain()
        moved(new Set([p]))
      }
    }
    announce()
  }

  const tick = async (): Promise<void> => {
    try {
      await refreshMembers()
    } catch (e) {
      // Keep serving what we serve (the fence still applies): a stale view at worst serves a partition twice.
      log(`routing: members not read: ${message(e)}; retrying`)
      return
    }
    await subscribe(partitionsOwnedBy(o.member, alive, o.partitions))
  }

  heartbeat =
    o.heartbeatConnection !== undefined
      ? await startWorkerHeartbeat(o.heartbeatConnection, `$KV.${LEASE_BUCKET}.${myKey}`, beatMs, leaseMs, o.partitions, log)
      : await startMainThreadHeartbeat(kv, myKey, beatMs, leaseMs, o.partitions, log)
  await tick()
  // The lease check: fences when the heartbeat lapsed, rejoins when it is renewed again.
  let due = performance.now() + beatMs / 2
  const onCheck = (): void => {
    const now = performance.now()
    reportLate(now - due, now)
    if (lapsed()) fence()
    else if (fenced && !stopping.signal.aborted) {
      fenced = false
      rejoining = true
      log('routing: heartbeat renewed after a fence; taking partitions back once no live member serves them')
    }
    due = now + beatMs / 2
    checkTimer = setTimeout(onCheck, beatMs / 2)
  }
  let checkTimer = setTimeout(onCheck, beatMs / 2)
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
    fencing: () => ({ fences, refused, fenced }),
    async stop() {
      stopping.abort()
      clearTimeout(checkTimer)
      await loop
      leaving = true
      await heartbeat?.stop() // no put may bring the key back after it is deleted
      // Leave, let the others see it (one heartbeat) and take over (their subscribe), then let go.
      const left = await kv.delete(myKey).then(
        () => true,
        () => false,
      )
      if (left && subs.size > 0) await abortableSleep(beatMs + Math.min(handoffMs, beatMs))
      await Promise.all([...subs.values()].map((entry) => entry.sub?.drain()))
      subs.clear()
    },
  }
}
