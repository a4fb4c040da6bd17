import { isProjectionKey, type ProjectedEvent, type ProjectionDefinition } from '../projections/projection.js'
import { addAggregates, initialAggregates, mergeAggregates } from './aggregates.js'
import type { CustomReducer, PipelineDefinition, ReduceSpec, Stage } from './definition.js'
import { accepts, keyText, type PipelineRecord, valueAt } from './records.js'
import { emptyWindows, type OpenWindow, stepWindows, type WindowState } from './windows.js'

/** One event a derived-stream sink appends. */
export interface Emission {
  readonly stream: string
  readonly type: string
  readonly payload: unknown
  readonly metadata: { readonly pipeline: string; readonly sourceOffset: number; readonly sourceStream: string }
}

/** A closed window's result: its key, its span (ISO UTC) and its aggregates (or `value` for a custom reducer). */
export type WindowResult = Readonly<Record<string, unknown>> & { readonly key: string; readonly start: string; readonly end: string }

/**
 * A pipeline's state per key, as its read model stores it:
 * - `value`: the aggregates (reduce without window), or the last record's payload (no reduce);
 * - `windows`: the open windows, the key's watermark and its late count (windowed reduce);
 * - `closed`: the most recent closed windows' results, oldest first (windowed reduce, read-model sink);
 * - `out`: what the last commit folded into this key emits (derived-stream sink only).
 */
export interface PipelineState {
  readonly value?: unknown
  readonly windows?: WindowState<unknown>
  readonly closed?: readonly WindowResult[]
  readonly out?: { readonly offset: number; readonly emissions: readonly Emission[] }
}

/** What the stateless stages made of an event so far: a record (or none: dropped), or a read-model lookup they need first. */
export type StageStep =
  | { readonly _tag: 'Out'; readonly record: PipelineRecord | undefined }
  | { readonly _tag: 'Need'; readonly projection: string; readonly tenant: string; readonly key: string; readonly resume: (state: unknown) => StageStep }

const isMap = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u) && !(u instanceof Date)

/**
 * Runs the stateless stages (all but `reduce`) from stage `from` on one record. Pure: an `enrich`
 * does not read anything, it answers `Need` with a continuation to call with the state it found
 * (undefined when the key is absent).
 */
export const runStages = (stages: readonly Stage[], record: PipelineRecord, from = 0): StageStep => {
  let r = record
  for (let i = from; i < stages.length; i++) {
    const s = stages[i] as Stage
    if ('filter' in s) {
      if (!accepts(s.filter, r)) return { _tag: 'Out', record: undefined }
    } else if ('map' in s) {
      if ('fn' in s.map) {
        const payload = s.map.fn(r)
        if (payload === undefined) return { _tag: 'Out', record: undefined }
        r = { ...r, payload }
      } else {
        const payload: Record<string, unknown> = {}
        for (const [field, path] of Object.entries(s.map.fields)) {
          const v = valueAt(r, path)
          if (v !== undefined) payload[field] = v
        }
        r = { ...r, payload }
      }
    } else if ('enrich' in s) {
      const key = keyText(valueAt(r, s.enrich.key))
      if (key === undefined || !isProjectionKey(key)) continue
      const at = r
      const as = s.enrich.as
      return {
        _tag: 'Need',
        projection: s.enrich.projection,
        tenant: r.tenant,
        key,
        resume: (state) => runStages(stages, state === undefined ? at : { ...at, payload: { ...(isMap(at.payload) ? at.payload : {}), [as]: state } }, i + 1),
      }
    } else if ('branch' in s) {
      const hit = s.branch.find((b) => accepts(b.where, r))
      if (hit === undefined) return { _tag: 'Out', record: undefined }
      r = { ...r, route: hit.to }
    } else if ('reduce' in s) {
      break
    } else {
      const never: never = s
      return never
    }
  }
  return { _tag: 'Out', record: r }
}

/** A pipeline as the projection machinery runs it, plus what its adapters need. */
export interface CompiledPipeline {
  readonly definition: PipelineDefinition
  /** The fold the projection runner drives (checkpoints, lease, pause/resume/rebuild, read model, topic). */
  readonly projection: ProjectionDefinition<PipelineState>
  /** Whether some stage reads a read model (`enrich`): then every event must be {@link settle}d before it is folded. */
  readonly needsLookups: boolean
  /** Runs the stateless stages of one event. */
  start(e: ProjectedEvent): StageStep
  /** Records what the stateless stages made of an event (after the lookups `start` asked for). */
  settle(e: ProjectedEvent, record: PipelineRecord | undefined): void
  /** Streams a derived-stream sink writes: the pipeline never reads its own output. */
  readonly targets: ReadonlySet<string>
}

const iso = (ms: number): string => new Date(ms).toISOString()

interface Reducer {
  readonly init: () => unknown
  readonly add: (acc: unknown, r: PipelineRecord) => unknown
  readonly merge: (a: unknown, b: unknown) => unknown
  /** The result fields of an accumulator. */
  readonly fields: (acc: unknown) => Readonly<Record<string, unknown>>
}

const reducerOf = (r: ReduceSpec): Reducer => {
  if (r.custom !== undefined) {
    const c: CustomReducer = r.custom
    return { init: () => c.initial, add: c.add, merge: c.merge ?? ((_, b) => b), fields: (value) => ({ value }) }
  }
  const spec = r.aggregates ?? {}
  return {
    init: () => initialAggregates(spec),
    add: (acc, rec) => addAggregates(spec, acc as Record<string, unknown>, rec),
    merge: (a, b) => mergeAggregates(spec, a as Record<string, unknown>, b as Record<string, unknown>),
    fields: (acc) => acc as Record<string, unknown>,
  }
}

/**
 * Compiles a pipeline into a projection definition: the stateless stages decide whether and as
 * what an event is folded, the key is the record's route (if branched) and group key, and the
 * fold is the reduce (with its windows). Pure; the same events give the same read model, however
 * they are chunked, crashed and re-delivered (the projection runner's guarantees).
 *
 * Events whose group key is missing, not a string/number/boolean, or not a valid projection key
 * are skipped (not poison), as are events of the streams a derived-stream sink writes.
 */
export const compilePipeline = (def: PipelineDefinition): CompiledPipeline => {
  const stages = def.stages
  const last = stages[stages.length - 1]
  const reduce = last !== undefined && 'reduce' in last ? last.reduce : undefined
  const reducer = reduce === undefined ? undefined : reducerOf(reduce)
  const derived = 'stream' in def.sink ? def.sink.stream : undefined
  const targets = new Set<string>()
  if (derived !== undefined) {
    targets.add(derived.name)
    for (const s of stages) if ('branch' in s) for (const b of s.branch) targets.add(b.to)
  }
  const retain = reduce?.retain ?? 10
  const settled = new WeakMap<object, PipelineRecord | null>()

  /** The event's record, none (skipped), or the enrichment it still needs (never, unless the adapter forgot to look it up). */
  const recordOf = (e: ProjectedEvent): PipelineRecord | undefined | { readonly unsettled: string } => {
    const known = settled.get(e)
    if (known !== undefined) return known ?? undefined
    const step = runStages(stages, e)
    if (step._tag === 'Need') return { unsettled: step.projection }
    settled.set(e, step.record ?? null)
    return step.record
  }

  const groupOf = (r: PipelineRecord): string | undefined => {
    if (reduce === undefined) return r.stream
    const k = reduce.key
    if (k === undefined) return 'all'
    return keyText(typeof k === 'function' ? k(r) : valueAt(r, k))
  }

  const emission = (r: PipelineRecord, type: string, payload: unknown): Emission => ({
    stream: r.route ?? derived?.name ?? r.stream,
    type,
    payload,
    metadata: { pipeline: def.name, sourceOffset: r.offset, sourceStream: r.stream },
  })

  const projection: ProjectionDefinition<PipelineState> = {
    name: def.name,
    version: def.version,
    ...(def.tenants !== undefined ? { filter: { tenants: def.tenants } } : {}),
    key: (e) => {
      if (derived !== undefined && targets.has(e.stream)) return undefined
      const r = recordOf(e)
      if (r === undefined) return undefined
      // The adapter settles every event of a pipeline with lookups before folding it. If it did not
      // (a defect), a key that is not a projection key parks the fold on this commit as poison, with
      // this sentence as its reason: nothing of it is written.
      if ('unsettled' in r) return `defect: enrich from "${r.unsettled}" was not looked up before the fold`
      const group = groupOf(r)
      if (group === undefined) return undefined
      const key = r.route === undefined ? group : `${r.route}.${group}`
      return isProjectionKey(key) ? key : undefined
    },
    initialState: {},
    fold: (state, e) => {
      // Only events `key` gave a projection key reach the fold: their record is settled.
      const r = recordOf(e) as PipelineRecord
      const group = groupOf(r) as string
      const emitted: Emission[] = []
      let next: PipelineState
      if (reducer === undefined || reduce === undefined) {
        next = { value: r.payload }
        if (derived !== undefined) emitted.push(emission(r, derived.type ?? r.type, r.payload))
      } else if (reduce.window === undefined) {
        const value = reducer.add(state.value === undefined ? reducer.init() : state.value, r)
        next = { value }
        if (derived !== undefined) emitted.push(emission(r, derived.type ?? `${def.name}.updated`, { key: group, ...reducer.fields(value) }))
      } else {
        const ts = r.timestamp instanceof Date ? r.timestamp.getTime() : Date.parse(String(r.timestamp))
        const step = stepWindows(reduce.window, reduce.graceMs ?? 0, state.windows ?? emptyWindows(), ts, reducer.init, (acc) => reducer.add(acc, r), reducer.merge)
        const results = step.closed.map((w: OpenWindow<unknown>): WindowResult => ({ key: group, start: iso(w.start), end: iso(w.end), ...reducer.fields(w.acc) }))
        next = { windows: step.state }
        if (derived !== undefined) for (const res of results) emitted.push(emission(r, derived.type ?? `${def.name}.window`, res))
        else {
          const closed = [...(state.closed ?? []), ...results]
          next = { ...next, closed: closed.slice(Math.max(0, closed.length - retain)) }
        }
      }
      if (derived === undefined) return next
      // The emissions of this commit only: the derived-stream sink writes them before this entry.
      const before = state.out !== undefined && state.out.offset === e.offset ? state.out.emissions : []
      return { ...next, out: { offset: e.offset, emissions: [...before, ...emitted] } }
    },
  }

  return {
    definition: def,
    projection,
    needsLookups: stages.some((s) => 'enrich' in s),
    start: (e) => runStages(stages, e),
    settle: (e, record) => void settled.set(e, record ?? null),
    targets,
  }
}
