import * as E from 'fp-ts/lib/Either.js'
import { type Actor, createActor, fromPromise } from 'xstate'
import type { AppendCommand } from '../../src/domain/streams/appendRequest.js'
import type { CommitId, StreamId, TenantId } from '../../src/domain/streams/ids.js'
import { categoryOf } from '../../src/domain/streams/ids.js'
import type { ModuleRegistry } from '../../src/domain/streams/module.js'
import { internal, unavailable } from '../../src/application/streams/errors.js'
import { loadStream } from '../../src/application/streams/loadStream.js'
import type { Clock, EventLog, IdGenerator, SnapshotStore } from '../../src/application/streams/ports.js'
import { type StreamEffects, streamMachine, takeWork } from './streamMachine.js'
import type { Mailbox, RunOptions } from './dispatch.js'
import type { Work } from './work.js'
import { AppendJob, type AppendReply, ExecuteJob } from './jobs.js'
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
  /**
   * Write queued commits of one stream as one run (one atomic write) when the log can
   * (`EventLog.appendRun`; docs/writing.md, "Runs: a busy stream"). Default here: off, one commit
   * per write; `createAllSource` turns it on where the server has atomic batches.
   */
  readonly runs?: RunOptions
}

/** Runs written so far (`EventLog.appendRun`): stored, not stored (then written one by one), and commits stored in runs. */
export interface RunCounts {
  readonly stored: number
  readonly notStored: number
  readonly commits: number
}

/** How stale the least-recently-used order may be; far below any sensible idle timeout. */
const LRU_GRANULARITY_MS = 1_000

interface Entry {
  readonly actor: Actor<typeof streamMachine>
  /** The actor's mailbox (its context holds it by reference), for the idle fast path. */
  readonly box: Mailbox
  lastUsed: number
  /** When the entry was last moved to the end of the map: the map is in `movedAt` order. */
  movedAt: number
  /** Work sent to the actor and not answered yet: answered here if the actor dies. */
  readonly outstanding: Set<Work>
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
  private readonly effects: StreamEffects
  private readonly answered = (): void => {
    this.pending--
    if (this.pending === 0 && this.drained !== undefined) this.drained()
  }
  private readonly maxResident: number
  private readonly idleTimeoutMs: number
  private readonly maxMailbox: number
  private readonly maxConflictRetries: number
  private readonly tracing: Tracing
  private readonly runOptions: RunOptions | undefined
  /** Counted in the write callbacks, beside the actor's event: no extra step per append. */
  private readonly counts = { conflicts: 0, runsStored: 0, runsNotStored: 0, runCommits: 0 }
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
    this.runOptions = opts.runs !== undefined && opts.log.appendRun !== undefined && opts.runs.max > 1 ? { min: Math.max(2, opts.runs.min), max: opts.runs.max } : undefined
    const log = opts.log
    const snapshots = opts.snapshots
    this.machine = streamMachine.provide({
      actors: {
        load: fromPromise(({ input }) => loadStream(log, input.module, input.tenant, input.stream, snapshots)),
        findDuplicate: fromPromise(({ input }) => log.findDuplicate(input.commit)),
      },
    })
    this.effects = {
      write: (commit, expectedLastOffset, meta, to) => {
        log.append(commit, expectedLastOffset, meta).then(
          (outcome) => {
            if (outcome._tag === 'Conflict') this.counts.conflicts++
            to.send({ type: 'WRITTEN', outcome })
          },
          (error: unknown) => to.send({ type: 'WRITE_FAILED', error }),
        )
      },
      writeRun: (commits, expectedLastOffset, metas, to) => {
        const appendRun = log.appendRun
        if (appendRun === undefined) {
          to.send({ type: 'WRITTEN_RUN', outcome: { _tag: 'NotStored', reason: 'this log writes commit by commit' } })
          return
        }
        appendRun.call(log, commits, expectedLastOffset, metas).then(
          (outcome) => {
            if (outcome._tag === 'Appended') {
              this.counts.runsStored++
              this.counts.runCommits += outcome.offsets.length
            } else if (outcome._tag === 'NotStored') this.counts.runsNotStored++
            to.send({ type: 'WRITTEN_RUN', outcome })
          },
          (error: unknown) => to.send({ type: 'WRITE_FAILED', error }),
        )
      },
      snapshot: (input, s) => {
        if (snapshots === undefined || input.module === undefined) return
        const snapshot = { stateVersion: input.module.stateVersion, version: s.version, offset: s.offset, state: s.state, takenAt: opts.clock.now() }
        snapshots.save(input.tenant, input.stream, snapshot).catch((e: unknown) => opts.onSnapshotError?.(e))
      },
    }
    this.sweeper = setInterval(() => this.sweep(), Math.max(50, Math.floor(this.idleTimeoutMs / 2)))
    this.sweeper.unref()
  }

  /** Appends the log refused since start because another writer moved the stream on (each cost its actor a reload). */
  get conflicts(): number {
    return this.counts.conflicts
  }

  /** Runs written since start: stored, not stored (then written one by one), and commits stored in runs. */
  runs(): RunCounts {
    return { stored: this.counts.runsStored, notStored: this.counts.runsNotStored, commits: this.counts.runCommits }
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
      const n = actor.getSnapshot().context.box.queue.length
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
    const answered = this.submit(command.tenant, command.stream, (resolve, entry) => new AppendJob(resolve, entry.outstanding, this.answered, command, commitId, clientCommitId, requestId, traceparent))
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
    return this.submit(tenant, stream, (resolve, entry) => new ExecuteJob(resolve, entry.outstanding, this.answered, tenant, stream, command, id, commitId !== undefined))
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

  /**
   * Hands the work to its stream's actor. An actor that is `ready` with nothing in flight and
   * nothing queued takes it here, in this call, by the same step its `WORK` event runs
   * (`takeWork`): one xstate event per append (`WRITTEN`) instead of two, and the same order,
   * since nothing else can touch the mailbox between the actor's synchronous transitions.
   */
  private submit(tenant: TenantId, stream: StreamId, make: (resolve: (r: AppendReply) => void, entry: Entry) => Work): Promise<AppendReply> {
    if (this.closing !== undefined) return Promise.resolve(E.left(unavailable('processor is shutting down; retry with the same commitId')))
    return new Promise<AppendReply>((resolve) => {
      this.pending++
      const entry = this.entryFor(tenant, stream)
      const work = make(resolve, entry)
      entry.outstanding.add(work)
      const snapshot = entry.actor.getSnapshot()
      if (snapshot.value === 'ready' && entry.box.idle) takeWork(snapshot.context.input, entry.box, work, entry.actor)
      else entry.actor.send({ type: 'WORK', work })
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
        runs: this.runOptions,
        maxMailbox: this.maxMailbox,
        maxConflictRetries: this.maxConflictRetries,
        snapshotEvery: this.opts.snapshots === undefined ? 0 : (this.opts.snapshotEvery ?? 100),
        effects: this.effects,
      },
    })
    const entry: Entry = { actor, box: actor.getSnapshot().context.box, lastUsed: now, movedAt: now, outstanding: new Set() }
    const forget = () => {
      if (this.actors.get(key) === entry) this.actors.delete(key)
    }
    actor.subscribe({
      complete: forget,
      error: (err: unknown) => {
        // A defect inside the actor: it is gone, but nobody waiting on it may hang.
        forget()
        for (const work of [...entry.outstanding]) work.reply(E.left(internal(`stream actor failed: ${String(err)}`)))
      },
    })
    this.actors.set(key, entry)
    actor.start()
    if (this.actors.size > this.maxResident) this.evict(this.actors.size - this.maxResident)
    return entry
  }

  /**
   * Passivates the idle resident actors of the streams `which` picks (partition routing, when this
   * instance lets a partition go: the next owner writes to them, and a cached head here would cost
   * a conflict if the partition came back). Busy ones are left to the idle timeout. Returns how many.
   */
  passivateWhere(which: (tenant: TenantId, stream: StreamId) => boolean): number {
    let n = 0
    for (const entry of this.actors.values()) {
      const input = entry.actor.getSnapshot().context.input
      if (this.isIdle(entry) && which(input.tenant, input.stream)) {
        entry.actor.send({ type: 'PASSIVATE' })
        n++
      }
    }
    return n
  }

  private isIdle(entry: Entry): boolean {
    const s = entry.actor.getSnapshot()
    return s.status === 'active' && s.value === 'ready' && s.context.box.idle
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
