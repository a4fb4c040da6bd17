import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { createActor, fromCallback, fromPromise, type EventObject } from 'xstate'
import { type FoldInput, type ProjectionActorEvent, projectionMachine, type ProjectionSnapshot, stateOf, type SwitchInput } from '../../../../actors/projections/projectionMachine.js'
import { bucketName, durableName, type ProjectionStatus, type ReadModelPointer } from '../../../domain/projections/operations.js'
import type { ProjectionDefinition } from '../../../domain/projections/projection.js'
import { validateFilter } from '../../../domain/reading/filter.js'
import * as E from 'fp-ts/lib/Either.js'
import { KvLease } from '../log/kvLease.js'
import { openProjectionCatalog, type ProjectionCatalog } from './projectionControl.js'
import { type FoldDecorators, LOG_STREAM, runFold, type RunningFold } from './projectionFold.js'
import { defaultPrefix } from '../subjects.js'
import type { Tracing } from '../../../application/observability/ports.js'

/**
 * A live projection's default linger (`ALLSOURCE_PROJECTION_LINGER_MS`): events that arrive one at a
 * time, as a hot stream's sequential appends do, share one read-model write per key and one ack
 * per 5 ms instead of paying for their own (issue 14: with the built-in projections on, those
 * per-event writes had tripled the processor's CPU per sequential append). Reads with `minOffset`
 * and topic subscribers see a change up to this much later.
 */
export const defaultProjectionLingerMs = 5

export interface ProjectionRunnerOptions {
  readonly prefix?: string
  /** This instance's name in leases and status reports. */
  readonly owner?: string
  /** How long a silent lease holder keeps its lease (default 10 s). */
  readonly leaseTtlMs?: number
  /** How long a replaced read model stays readable after a switch-over (default 30 s). */
  readonly retireAfterMs?: number
  /** Commits per KV write chunk while catching up (default 16384). */
  readonly chunk?: number
  /** Most keys cached in memory by the fold (default 100,000). */
  readonly cacheKeys?: number
  /**
   * Caught up, how long a chunk waits for more commits before it is written (default
   * {@link defaultProjectionLingerMs}; 0 writes each at once). See `ChunkedFoldOptions.lingerMs`.
   */
  readonly lingerMs?: number
  /** Spans `projection.fold` per traced commit (see {@link FoldOptions.tracing}); default off. */
  readonly tracing?: Tracing
  /** Called on every change of this instance's state for the projection (for logs). */
  readonly onStateChange?: (status: ProjectionStatus) => void
  /**
   * Failures in the background that the projection survives but someone should hear of: a control
   * watch that ended and is being reopened, an old generation that could not be retired (it is
   * retired again by the next owner's first start). Default: ignored.
   */
  readonly onError?: (message: string) => void
  /** Replicas of the control bucket and the read-model buckets when they are created (default 1; `ALLSOURCE_REPLICAS`). */
  readonly replicas?: number
  /** Wraps every fold's store and feed (pipelines); default none. */
  readonly decorate?: FoldDecorators
  /** The first log offset folded when the projection has never run (default 1, the whole log). */
  readonly startOffset?: number
}

export interface ProjectionRunner {
  readonly name: string
  /** This instance's view: its state, checkpoint, lag, events/s and last error. */
  status(): ProjectionStatus
  /** Events folded by this instance's folds since they (re)started (active and rebuild), for metrics. */
  folded(): number
  /** Resolves once the status satisfies `ready` (polled; for tests and tools). */
  until(ready: (s: ProjectionStatus) => boolean, timeoutMs?: number): Promise<ProjectionStatus>
  /** Stops folding, waits for the chunk in flight, and releases the lease for another instance. */
  stop(): Promise<void>
}

const randomOwner = () => `${process.pid}-${Math.random().toString(36).slice(2, 8)}`

/**
 * Runs one projection's actor on this processor instance: it waits for the projection's lease, then
 * folds the log into the active read model (see {@link runFold} for the exactly-once rules), obeys
 * pause/resume/rebuild requests from the control bucket, and reports its status there about once a
 * second and on every change of state.
 */
export const startProjection = async <S>(nc: NatsConnection, def: ProjectionDefinition<S>, options: ProjectionRunnerOptions = {}): Promise<ProjectionRunner> => {
  const where = def.where === undefined ? undefined : validateFilter(def.where)
  if (where !== undefined && E.isLeft(where)) throw new Error(`projection "${def.name}": where: ${where.left.path === '' ? 'the filter' : where.left.path}: ${where.left.message}`)
  const prefix = options.prefix ?? defaultPrefix
  const owner = options.owner ?? randomOwner()
  const catalog: ProjectionCatalog = await openProjectionCatalog(nc, options.replicas !== undefined ? { replicas: options.replicas } : {})
  const lease = new KvLease(catalog.kv, `${def.name}.lease`, owner, options.leaseTtlMs ?? 10_000)
  const retireAfterMs = options.retireAfterMs ?? 30_000
  const folds = new Set<Promise<void>>()
  const timers = new Set<ReturnType<typeof setTimeout>>()
  const retiring = new Set<number>()
  const stopping = new AbortController()
  /** Last offset published on the topic by any fold here: a rebuild publishes only past it. */
  let publishedThrough = 0
  let firstPrepare = true
  const reportError = (what: string, err: unknown): void => {
    try {
      options.onError?.(`projection "${def.name}": ${what}: ${err instanceof Error ? err.message : String(err)}`)
    } catch {
      // a failing reporter changes nothing here
    }
  }

  const logic = projectionMachine.provide({
    actors: {
      acquireLease: fromPromise(() => lease.acquire(stopping.signal)),
      holdLease: fromCallback<EventObject, { name: string }>(({ sendBack }) => {
        // One renewal at a time: two in flight would race each other's compare-and-set.
        let timer: ReturnType<typeof setTimeout> | undefined
        let done = false
        const next = () => {
          timer = setTimeout(() => {
            lease.renew().then(
              (ok) => {
                if (done) return
                if (ok) next()
                else sendBack({ type: 'LEASE_LOST' } satisfies ProjectionActorEvent)
              },
              // A NATS blip: try again; the lease's expiry decides whether it is still held.
              () => done || next(),
            )
          }, lease.renewEveryMs)
        }
        next()
        return () => {
          done = true
          clearTimeout(timer)
        }
      }),
      watchControl: fromCallback<EventObject, { name: string }>(({ sendBack }) => {
        let stop: (() => void) | undefined
        let gone = false
        catalog
          .watchControl(
            def.name,
            (control) => sendBack({ type: 'CONTROL', control } satisfies ProjectionActorEvent),
            // It is opened again by the catalog, and delivers the current control record when it is.
            (e) => gone || reportError('control watch ended, reopening it', e),
          )
          .then(
            (s) => (gone ? s() : (stop = s)),
            (e: unknown) => gone || sendBack({ type: 'FAILURE', role: 'active', message: `control watch: ${e instanceof Error ? e.message : String(e)}` } satisfies ProjectionActorEvent),
          )
        return () => {
          gone = true
          stop?.()
        }
      }),
      prepare: fromPromise(async () => {
        await Promise.all(folds) // a fold from before (a switch, a retry) must be done before another starts
        const pointer = await catalog.ensurePointer(def.name, def.version, options.startOffset)
        // The generation before the active one outlives a switch-over only by `retireAfterMs`, unless its
        // owner died first: a new owner retires it.
        if (firstPrepare && pointer.generation > 1) await retire(pointer.generation - 1).catch((e: unknown) => reportError(`retiring generation ${pointer.generation - 1}`, e))
        firstPrepare = false
        return { pointer, control: await catalog.control(def.name) }
      }),
      fold: fromCallback<EventObject, FoldInput>(({ input, sendBack }) => {
        if (input.idle === true) return () => undefined
        let running: RunningFold | undefined
        let cancelled = false
        const { role } = input
        const target = { bucket: bucketName(def.name, input.pointer.generation), durable: durableName(def.name, input.pointer.generation), fromOffset: input.pointer.fromOffset }
        const done = (async () => {
          if (role === 'rebuild') await freshRebuildTarget(input.pointer)
          if (cancelled) return
          running = await runFold(nc, def, target, {
            prefix,
            ...(options.replicas !== undefined ? { replicas: options.replicas } : {}),
            chunk: options.chunk,
            cacheKeys: options.cacheKeys,
            lingerMs: options.lingerMs ?? defaultProjectionLingerMs,
            publishAfter: () => publishedThrough,
            published: (offset) => (publishedThrough = Math.max(publishedThrough, offset)),
            mayWrite: () => lease.isHeld() && !cancelled,
            ...(options.tracing !== undefined ? { tracing: options.tracing } : {}),
            ...(options.decorate !== undefined ? { decorate: options.decorate } : {}),
          }, {
            progress: (p) => !cancelled && sendBack({ type: 'PROGRESS', role, ...p } satisfies ProjectionActorEvent),
            poison: (p) => !cancelled && sendBack({ type: 'POISON', role, ...p } satisfies ProjectionActorEvent),
            failure: (message) => !cancelled && sendBack({ type: 'FAILURE', role, message } satisfies ProjectionActorEvent),
          })
          if (cancelled) await running.stop()
        })().catch((err: unknown) => {
          if (!cancelled) sendBack({ type: 'FAILURE', role, message: err instanceof Error ? err.message : String(err) } satisfies ProjectionActorEvent)
        })
        const tracked = done.then(() => undefined)
        folds.add(tracked)
        tracked.finally(() => folds.delete(tracked)).catch(() => undefined)
        return () => {
          cancelled = true
          const stopped = running?.stop() ?? Promise.resolve()
          folds.add(stopped)
          stopped.finally(() => folds.delete(stopped)).catch(() => undefined)
        }
      }),
      switchOver: fromPromise<ReadModelPointer, SwitchInput>(async ({ input }) => {
        await Promise.all(folds)
        await catalog.switchPointer(def.name, input.from, input.to)
        await catalog.updateControl(def.name, (c) => (c.rebuild?.id === input.to.rebuildId ? { paused: c.paused, retry: c.retry } : c))
        // Readers elsewhere may still hold the old pointer for a moment: retire the old generation later.
        retiring.add(input.from.generation)
        const timer = setTimeout(() => {
          timers.delete(timer)
          retiring.delete(input.from.generation)
          // On failure the next owner retires it on its first prepare.
          retire(input.from.generation).catch((e: unknown) => reportError(`retiring generation ${input.from.generation}`, e))
        }, retireAfterMs)
        timers.add(timer)
        return input.to
      }),
    },
  })

  /** Deletes a generation's consumer and bucket; one already gone is fine, any other failure rejects. */
  const retire = async (generation: number): Promise<void> => {
    const jsm = await jetstreamManager(nc)
    const unlessGone = (code: number) => (e: unknown) => {
      if (!(e instanceof JetStreamApiError && e.code === code)) throw e
    }
    await jsm.consumers.delete(LOG_STREAM, durableName(def.name, generation)).then(() => undefined, unlessGone(JetStreamApiCodes.ConsumerNotFound))
    await jsm.streams.delete(`KV_${bucketName(def.name, generation)}`).then(() => undefined, unlessGone(JetStreamApiCodes.StreamNotFound))
  }

  /** A rebuild resumes where a dead owner left it, but one asked for anew starts from an empty bucket. */
  const freshRebuildTarget = async (to: ReadModelPointer): Promise<void> => {
    const key = `${def.name}.rebuilding`
    const e = await catalog.kv.get(key)
    const was = e !== null && e.operation === 'PUT' ? (e.json() as ReadModelPointer) : undefined
    if (was !== undefined && JSON.stringify(was) === JSON.stringify(to)) return
    await retire(to.generation)
    await catalog.kv.put(key, JSON.stringify(to))
  }

  const actor = createActor(logic, { input: { name: def.name, version: def.version } })
  let last: { folded: number; at: number; rate: number } = { folded: 0, at: performance.now(), rate: 0 }

  const statusOf = (s: ProjectionSnapshot): ProjectionStatus => {
    const c = s.context
    const now = performance.now()
    const folded = c.active.folded + (c.rebuild?.folded ?? 0)
    if (folded < last.folded) last = { folded, at: now, rate: 0 }
    else if (now - last.at >= 1_000) last = { folded, at: now, rate: Math.round(((folded - last.folded) * 1_000) / (now - last.at)) }
    return {
      name: def.name,
      version: def.version,
      state: stateOf(s),
      checkpoint: c.active.checkpoint,
      lag: c.active.lag,
      eventsPerSecond: last.rate,
      ...(c.pointer !== undefined ? { generation: c.pointer.generation } : {}),
      ...(c.rebuild !== undefined ? { rebuild: { id: c.rebuild.id, fromOffset: c.rebuild.fromOffset, checkpoint: c.rebuild.checkpoint, lag: c.rebuild.lag } } : {}),
      ...(c.lastError !== undefined ? { lastError: { ...c.lastError, at: new Date(c.lastError.at).toISOString() } } : {}),
      owner,
      updatedAt: new Date().toISOString(),
    }
  }

  // Report to the control bucket on every change of state, and at most once a second otherwise;
  // only the lease holder writes the shared status.
  let reported: { state: string; at: number } = { state: '', at: 0 }
  let reporting = Promise.resolve()
  let local = ''
  const report = (s: ProjectionSnapshot) => {
    const state = stateOf(s)
    if (state !== local) {
      local = state
      options.onStateChange?.(statusOf(s))
    }
    if (!lease.isHeld() || (state === reported.state && performance.now() - reported.at < 1_000)) return
    reported = { state, at: performance.now() }
    const status = statusOf(s)
    reporting = reporting.then(() => catalog.putStatus(status)).catch(() => undefined)
  }
  const subscription = actor.subscribe({ next: (s) => report(s), error: () => undefined })
  const ticker = setInterval(() => report(actor.getSnapshot()), 1_000)
  actor.start()

  return {
    name: def.name,
    status: () => statusOf(actor.getSnapshot()),
    folded: () => {
      const c = actor.getSnapshot().context
      return c.active.folded + (c.rebuild?.folded ?? 0)
    },
    async until(ready, timeoutMs = 60_000) {
      const t0 = performance.now()
      for (;;) {
        const s = statusOf(actor.getSnapshot())
        if (ready(s)) return s
        if (performance.now() - t0 > timeoutMs) throw new Error(`projection "${def.name}" not ready after ${timeoutMs} ms: ${JSON.stringify(s)}`)
        await new Promise((r) => setTimeout(r, 20))
      }
    },
    async stop() {
      stopping.abort()
      clearInterval(ticker)
      actor.send({ type: 'STOP' })
      subscription.unsubscribe()
      await Promise.all(folds)
      for (const t of timers) clearTimeout(t)
      // A switch-over done here retires its old generation now rather than never.
      await Promise.all([...retiring].map((g) => retire(g).catch((e: unknown) => reportError(`retiring generation ${g}`, e))))
      const held = lease.isHeld()
      await lease.release()
      if (held) await reporting.then(() => catalog.putStatus(statusOf(actor.getSnapshot()))).catch(() => undefined)
      actor.stop()
    },
  }
}
