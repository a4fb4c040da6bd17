import { createHash } from 'node:crypto'
import type { CommitFeed, FeedMessage, ReadModelStore } from '../../../application/projections/ports.js'
import type { ProjectedEvent } from '../../../domain/projections/projection.js'
import { takes } from '../../../domain/projections/projection.js'
import type { CompiledPipeline, Emission, PipelineState, StageStep } from '../../../domain/pipelines/pipeline.js'
import type { PipelineRecord } from '../../../domain/pipelines/records.js'
import type { Commit } from '../../../domain/streams/event.js'

/** Appends one commit through the append service; resolves with the failure's message, or undefined when stored (a duplicate too). */
export type DerivedAppend = (tenant: string, stream: string, events: readonly Omit<Emission, 'stream'>[], commitId: string) => Promise<string | undefined>

/**
 * The commitId of what one key of a pipeline emits to one stream for one source commit: the same
 * after a crash and re-delivery, so the append service stores it once (inside its duplicate window).
 */
export const derivedCommitId = (pipeline: string, offset: number, tenantKey: string, stream: string): string =>
  `pl-${pipeline.slice(0, 40)}-${offset}-${createHash('sha256').update(`${pipeline}\0${offset}\0${tenantKey}\0${stream}`).digest('base64url').slice(0, 32)}`

/**
 * The derived-stream sink as a store decorator: before a key's entry is written (compare-and-set,
 * then the chunk's ack), what the entry's last commit emits is appended, one commit per target
 * stream, with a deterministic commitId. A crash after the append and before the write re-folds
 * the same commit into the same emissions and the same commitIds: the append answers `duplicate`.
 * A failed append fails the write (nothing of the chunk is acked; the runner retries with backoff).
 */
export const derivedStreamStore = (pipeline: string, append: DerivedAppend) => <S>(inner: ReadModelStore<S>): ReadModelStore<S> => ({
  isEmpty: () => inner.isEmpty(),
  get: (key) => inner.get(key),
  async put(key, entry, expectedRevision) {
    const out = (entry.state as PipelineState).out
    if (out !== undefined && out.emissions.length > 0) {
      const tenant = key.slice(0, key.indexOf('.'))
      const byStream = new Map<string, Omit<Emission, 'stream'>[]>()
      for (const { stream, ...e } of out.emissions) {
        const list = byStream.get(stream)
        if (list === undefined) byStream.set(stream, [e])
        else list.push(e)
      }
      for (const [stream, events] of byStream) {
        const failed = await append(tenant, stream, events, derivedCommitId(pipeline, out.offset, key, stream))
        if (failed !== undefined) return { _tag: 'Failed', message: `derived stream "${stream}" of tenant "${tenant}": ${failed}` }
      }
    }
    return inner.put(key, entry, expectedRevision)
  },
})

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** Reads one key of a projection's read model for `enrich` (its state, or undefined). */
export type EnrichLookup = (projection: string, tenant: string, key: string) => Promise<unknown>

/**
 * The enrich stage's reads, done before the fold: each commit is decoded here, its events run
 * through the stateless stages, every lookup they ask for is read (once per commit and key), and
 * the outcome is settled on the event, so the fold itself stays synchronous and pure. A commit
 * that cannot be decoded is passed on as it is (the fold parks on it as poison).
 */
export const enrichFeed = (pipeline: CompiledPipeline, lookup: EnrichLookup) => (inner: CommitFeed): CommitFeed => {
  const prepare = async (m: FeedMessage): Promise<FeedMessage> => {
    let commit: Commit
    try {
      commit = m.commit()
    } catch {
      return m
    }
    const cache = new Map<string, Promise<unknown>>()
    // The events' lookups run concurrently (each event's own stages stay in order).
    await Promise.all(
      commit.events.map(async (ev) => {
        const e = ev as Mutable<ProjectedEvent>
        e.tenant = commit.tenant
        e.stream = commit.stream
        e.offset = m.offset
        if (!takes(pipeline.projection, e)) return
        let step: StageStep = pipeline.start(e)
        while (step._tag === 'Need') {
          const k = `${step.projection}\0${step.tenant}\0${step.key}`
          let found = cache.get(k)
          if (found === undefined) cache.set(k, (found = lookup(step.projection, step.tenant, step.key)))
          step = step.resume(await found)
        }
        pipeline.settle(e, step.record as PipelineRecord | undefined)
      }),
    )
    return { offset: m.offset, pending: m.pending, commit: () => commit, ack: () => m.ack() }
  }
  return {
    stop: () => inner.stop(),
    messages: {
      [Symbol.asyncIterator]: () => {
        const it = inner.messages[Symbol.asyncIterator]()
        return {
          next: async (): Promise<IteratorResult<FeedMessage>> => {
            const r = await it.next()
            return r.done === true ? r : { done: false, value: await prepare(r.value) }
          },
          return: async (): Promise<IteratorResult<FeedMessage>> => {
            await it.return?.()
            return { done: true, value: undefined }
          },
        }
      },
    },
  }
}
