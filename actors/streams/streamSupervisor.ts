import * as E from 'fp-ts/lib/Either.js'
import { type Actor, createActor, fromPromise } from 'xstate'
import type { AppendCommand } from '../../src/domain/streams/appendRequest.js'
import type { CommitId, StreamId, TenantId } from '../../src/domain/streams/ids.js'
import { categoryOf } from '../../src/domain/streams/ids.js'
import type { ModuleRegistry } from '../../src/domain/streams/module.js'
import type { AppendResult } from '../../src/application/streams/appendResult.js'
import { type AppendError, internal, unavailable } from '../../src/application/streams/errors.js'
import { loadStream } from '../../src/application/streams/loadStream.js'
import type { Clock, EventLog, IdGenerator, SnapshotStore } from '../../src/application/streams/ports.js'
import { streamMachine, type SnapshotRequest, type WriteRequest } from './streamMachine.js'
import type { Reply, Work } from './work.js'
import { noTracing, type RequestContext, type Tracing } from '../../src/application/observability/ports.js'

export interface StreamSupervisorOptions {
  readonly log: EventLog
  readonly modules: ModuleRegistry
  readonly clock: Clock
  readonly ids: IdGenerator
  /** Most stream actors kept in memory; least recently used idle ones are passivated beyond it. */
  readonly maxResident?: number
  /** An actor with nothing to do for this long is passivated. */
  readonly idleTimeoutMs?: number
  /** Most requests queued per stream; more get UNAVAILABLE (backpressure). */
  readonly maxMailbox?: number
  /** Where module streams keep snapshots; without one, hydration always folds the whole stream. */
  readonly snapshots?: SnapshotStore
  /** Snapshot a module stream every this many events (default 100; 0 = never). */
  readonly snapshotEvery?: number
  /** Told when a snapshot could not be saved (it is only an optimisation; nothing is lost). */
  readonly onSnapshotError?: (error: unknown) => void
  readonly maxConflictRetries?: number
  /** Spans `stream.actor` (from the work's arrival to its answer); default off. */
  readonly tracing?: Tracing
}

type AppendReply = E.Either<AppendError, AppendResult>

/** How stale the least-recently-used order may be; far below any sensible idle timeout. */
const LRU_GRANULARITY_MS = 1_000

interface Entry {
  readonly actor: Actor<typeof streamMachine>
  lastUsed: number
  /** When the entry was last moved to the end of the map: the map is in `movedAt` order. */
  movedAt: number
  /** Work sent to the actor and not answered yet: answered here if the actor dies. */
  readonly outstanding: Set<Reply>
}

/**
 * Routes `(tenant, stream)` to one stream actor, spawning it on demand. At most one actor per
 * stream is resident in this process, so appends to a stream are served in arrival order.
 * Memory stays bounded: idle actors passivate after `idleTimeoutMs`, and past `maxResident`
 * the least recently used idle ones are passivated at once (busy actors are never cut off, so
 * the cap can be exceeded only by streams with work in flight).
 */
export class StreamSupervisor {
  private readonly actors = new Map<string, Entry>()
  private readonly machine
  private readonly maxResident: number
  private readonly idleTimeoutMs: number
  private readonly maxMailbox: number
  private readonly maxConflictRetries: number
  private readonly tracing: Tracing
  private readonly sweeper: NodeJS.Timeout
  private pending = 0
  private closing: Promise<void> | undefined
  private drained: (() => void) | undefined

  constructor(private readonly opts: StreamSupervisorOptions) {
    this.maxResident = opts.maxResident ?? 10_000
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 60_000
    this.maxMailbox = opts.maxMailbox ?? 1_000
    this.maxConflictRetries = opts.maxConflictRetries ?? 10
    this.tracing = opts.tracing ?? noTracing
    const log = opts.log
    const snapshots = opts.snapshots
    this.machine = streamMachine.provide({
      actors: {
        load: fromPromise(({ input }) => loadStream(log, input.module, input.tenant, input.stream, snapshots)),
        findDuplicate: fromPromise(({ input }) => log.findDuplicate(input.commit)),
      },
      actions: {
        snapshot: ({ context }, s: SnapshotRequest) => {
          if (snapshots === undefined || context.input.module === undefined) return
          const snapshot = { stateVersion: context.input.module.stateVersion, version: s.version, offset: s.offset, state: s.state, takenAt: opts.clock.now() }
          snapshots.save(context.input.tenant, context.input.stream, snapshot).catch((e: unknown) => opts.onSnapshotError?.(e))
        },
        write: ({ self }, w: WriteRequest) => {
          log.append(w.commit, w.expectedLastOffset, w.meta).then(
            (outcome) => self.send({ type: 'WRITTEN', outcome }),
            (error: unknown) => self.send({ type: 'WRITE_FAILED', error }),
          )
        },
      },
    })
    this.sweeper = setInterval(() => this.sweep(), Math.max(50, Math.floor(this.idleTimeoutMs / 2)))
    this.sweeper.unref()
  }

  /** Number of stream actors in memory now. */
  get resident(): number {
    return this.actors.size
  }

  /** Requests accepted and not yet answered. */
  get inFlight(): number {
    return this.pending
  }

  /**
   * Sum and largest of the stream actors' mailboxes (work queued behind the commit in flight), for
   * metrics: one pass over the resident actors, so call it on a scrape, not per request.
   */
  mailboxDepth(): { readonly sum: number; readonly max: number } {
    let sum = 0
    let max = 0
    for (const { actor } of this.actors.values()) {
      const n = actor.getSnapshot().context.mailbox.length
      sum += n
      if (n > max) max = n
    }
    return { sum, max }
  }

  /**
   * Appends a validated command through its stream's actor. Never rejects. `context` (the
   * request's id and trace context) goes with the work into the commit's headers; the actor's
   * span is a child of `context.traceparent`.
   */
  append(command: AppendCommand, context?: RequestContext): Promise<AppendReply> {
    const clientCommitId = command.commitId !== undefined
    const commitId = command.commitId ?? this.opts.ids.commitId()
    const span = this.tracing.start('stream.actor', context?.traceparent, this.tracing.enabled ? { 'allsource.tenant': command.tenant, 'allsource.stream': command.stream, 'allsource.commit_id': commitId } : undefined)
    const requestId = context?.requestId
    const traceparent = span.traceparent
    const answered = this.submit(command.tenant, command.stream, (reply) => ({ kind: 'append', command, commitId, clientCommitId, reply, requestId, traceparent }))
    // Tracing off: no extra promise turn on the hot path.
    if (!this.tracing.enabled) return answered
    return answered.then((r) => {
      span.end(r._tag === 'Left' ? r.left._tag : undefined)
      return r
    })
  }

  /**
   * Runs a library command through the stream category's decider against the actor's state and
   * appends what it decides. An already-applied command answers with no event ids.
   */
  execute(tenant: TenantId, stream: StreamId, command: unknown, commitId?: CommitId): Promise<AppendReply> {
    const id = commitId ?? this.opts.ids.commitId()
    return this.submit(tenant, stream, (reply) => ({
      kind: 'execute',
      tenant,
      stream,
      command,
      commitId: id,
      clientCommitId: commitId !== undefined,
      reply,
    }))
  }

  /**
   * Stops taking work, waits until every accepted request is answered, then stops all actors.
   * Idempotent: every call resolves when that one close has finished.
   */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      clearInterval(this.sweeper)
      if (this.pending > 0) await new Promise<void>((resolve) => (this.drained = resolve))
      for (const { actor } of this.actors.values()) actor.stop()
      this.actors.clear()
    })())
  }

  private submit(tenant: TenantId, stream: StreamId, make: (reply: Reply) => Work): Promise<AppendReply> {
    if (this.closing !== undefined) return Promise.resolve(E.left(unavailable('processor is shutting down; retry with the same commitId')))
    return new Promise<AppendReply>((resolve) => {
      this.pending++
      const entry = this.entryFor(tenant, stream)
      let answered = false
      const reply: Reply = (r) => {
        if (answered) return
        answered = true
        entry.outstanding.delete(reply)
        this.pending--
        resolve(r)
        if (this.pending === 0 && this.drained !== undefined) this.drained()
      }
      entry.outstanding.add(reply)
      entry.actor.send({ type: 'WORK', work: make(reply) })
    })
  }

  private entryFor(tenant: TenantId, stream: StreamId): Entry {
    const key = `${tenant}.${stream}`
    const now = Date.now()
    const found = this.actors.get(key)
    if (found !== undefined && found.actor.getSnapshot().status === 'active') {
      // Keep the map in least-recently-used order by re-inserting at the end, at most once per
      // LRU_GRANULARITY_MS per stream: a hot stream then costs no map churn per append.
      if (now - found.movedAt >= LRU_GRANULARITY_MS) {
        this.actors.delete(key)
        this.actors.set(key, found)
        found.movedAt = now
      }
      found.lastUsed = now
      return found
    }
    const actor = createActor(this.machine, {
      input: {
        tenant,
        stream,
        module: this.opts.modules.get(categoryOf(stream)),
        deps: { clock: this.opts.clock, ids: this.opts.ids },
        maxMailbox: this.maxMailbox,
        maxConflictRetries: this.maxConflictRetries,
        snapshotEvery: this.opts.snapshots === undefined ? 0 : (this.opts.snapshotEvery ?? 100),
      },
    })
    const entry: Entry = { actor, lastUsed: now, movedAt: now, outstanding: new Set() }
    const forget = () => {
      if (this.actors.get(key) === entry) this.actors.delete(key)
    }
    actor.subscribe({
      complete: forget,
      error: (err: unknown) => {
        // A defect inside the actor: it is gone, but nobody waiting on it may hang.
        forget()
        for (const reply of [...entry.outstanding]) reply(E.left(internal(`stream actor failed: ${String(err)}`)))
      },
    })
    this.actors.set(key, entry)
    actor.start()
    if (this.actors.size > this.maxResident) this.evict(this.actors.size - this.maxResident)
    return entry
  }

  private isIdle(entry: Entry): boolean {
    const s = entry.actor.getSnapshot()
    return s.status === 'active' && s.value === 'ready' && s.context.current === undefined && s.context.mailbox.length === 0
  }

  private evict(count: number): void {
    let left = count
    for (const entry of this.actors.values()) {
      if (left <= 0) break
      if (this.isIdle(entry)) {
        entry.actor.send({ type: 'PASSIVATE' })
        left--
      }
    }
  }

  private sweep(): void {
    const cutoff = Date.now() - this.idleTimeoutMs
    for (const entry of this.actors.values()) {
      if (entry.movedAt > cutoff) break // so is every later entry, and lastUsed ≥ movedAt
      if (entry.lastUsed <= cutoff && this.isIdle(entry)) entry.actor.send({ type: 'PASSIVATE' })
    }
  }
}
