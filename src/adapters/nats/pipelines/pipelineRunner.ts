import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { structureProblem, type PipelineDefinition } from '../../../domain/pipelines/definition.js'
import { compilePipeline } from '../../../domain/pipelines/pipeline.js'
import { validateFilter } from '../../../domain/reading/filter.js'
import { isProjectionName } from '../../../domain/projections/projection.js'
import type { ReadModelStore } from '../../../application/projections/ports.js'
import type { FoldDecorators } from '../projections/projectionFold.js'
import { type ProjectionRunner, type ProjectionRunnerOptions, startProjection } from '../projections/projectionRunner.js'
import type { ProjectionReader } from '../projections/projectionReader.js'
import { createAllSourceClient } from '../service/client.js'
import { derivedStreamStore, type DerivedAppend, enrichFeed, type EnrichLookup } from './pipelineSinks.js'

export interface PipelineRunnerOptions extends Omit<ProjectionRunnerOptions, 'decorate'> {
  /** Where `enrich` reads read models (required when a stage enriches). */
  readonly reader?: ProjectionReader
  /** How a derived-stream sink appends (default: the append service over NATS, `<prefix>.append.<tenant>.<stream>`). */
  readonly append?: DerivedAppend
  /** Whether the append client asks for replies under `_INBOX.<tenant>.` (the processor's connection in auth mode). */
  readonly tenantReplies?: boolean
  /** Extra decorators around the sink's store and the feed, outermost (tests: a slowed sink). */
  readonly decorate?: FoldDecorators
}

/** Throws when a TypeScript definition breaks a rule the JSON codec would have refused. */
const check = (def: PipelineDefinition): void => {
  if (!isProjectionName(def.name)) throw new Error(`pipeline name "${def.name}" is not 1–64 of A–Z a–z 0–9 _ -`)
  const p = structureProblem(def)
  if (p !== undefined) throw new Error(`pipeline "${def.name}": ${p.path}: ${p.message}`)
  def.stages.forEach((s, i) => {
    const filters = 'filter' in s ? [s.filter] : 'branch' in s ? s.branch.map((b) => b.where) : []
    for (const f of filters) {
      const r = validateFilter(f)
      if (E.isLeft(r)) throw new Error(`pipeline "${def.name}": stages[${i}]: ${r.left.path === '' ? 'the filter' : r.left.path}: ${r.left.message}`)
    }
  })
}

/**
 * Runs a pipeline as a projection actor ({@link startProjection}): the same lease, durable
 * consumer checkpoint, pause/resume/rebuild through the projection control subjects
 * (`<prefix>.admin.projection.<name>.*`), KV read model (`ALLSOURCE_PROJ_<name>_<generation>`)
 * and topic (`<prefix>.projections.<tenant>.<name>.<key>`). A derived-stream sink additionally
 * appends what each commit emits before that commit's state is written (see
 * {@link derivedStreamStore}); it folds one commit per chunk so that each write carries exactly
 * one commit's emissions.
 */
export const startPipeline = async (nc: NatsConnection, def: PipelineDefinition, options: PipelineRunnerOptions = {}): Promise<ProjectionRunner> => {
  check(def)
  const compiled = compilePipeline(def)
  const { reader, append: appendOption, decorate: extra, tenantReplies, ...projectionOptions } = options
  let lookup: EnrichLookup | undefined
  if (compiled.needsLookups) {
    if (reader === undefined) throw new Error(`pipeline "${def.name}" enriches from a read model: pass a projection reader`)
    lookup = async (projection, tenant, key) => (await reader.get(projection, tenant, key))?.state
  }
  const derived = 'stream' in def.sink
  let append = appendOption
  if (derived && append === undefined) {
    const client = createAllSourceClient(nc, { ...(options.prefix !== undefined ? { prefix: options.prefix } : {}), tenantReplies: tenantReplies ?? false })
    append = async (tenant, stream, events, commitId) => {
      const r = await client.tryAppend(tenant, stream, events, { commitId })
      return E.isLeft(r) ? `${r.left.code}: ${r.left.message}` : undefined
    }
  }
  const sinkStore = derived && append !== undefined ? derivedStreamStore(def.name, append) : undefined
  const decorate: FoldDecorators = {
    store: <S>(s: ReadModelStore<S>): ReadModelStore<S> => {
      const inner = sinkStore === undefined ? s : sinkStore(s)
      return extra?.store === undefined ? inner : extra.store(inner)
    },
    feed: (f) => {
      const inner = lookup === undefined ? f : enrichFeed(compiled, lookup)(f)
      return extra?.feed === undefined ? inner : extra.feed(inner)
    },
  }
  return startProjection(nc, compiled.projection, {
    ...projectionOptions,
    // One commit per chunk for a derived stream: a key's entry then holds exactly that commit's emissions.
    ...(derived ? { chunk: 1 } : {}),
    decorate,
  })
}
