import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { type Filter, pathProblem } from '../reading/filter.js'
import { parseWhere } from '../reading/where.js'
import { isProjectionKey, isProjectionName } from '../projections/projection.js'
import { badRequest, type DomainError } from '../streams/errors.js'
import { EventType, StreamId } from '../streams/ids.js'
import { boundedInt, checkedString, closedObject, describeFailure } from '../security/ruleCodecs.js'
import type { Aggregate } from './aggregates.js'
import type { PipelineRecord } from './records.js'
import type { WindowSpec } from './windows.js'

/** A reducer written in TypeScript (not expressible as JSON): a fold over records, with `merge` for session windows. */
export interface CustomReducer<A = unknown> {
  readonly initial: A
  readonly add: (acc: A, r: PipelineRecord) => A
  /** Combines two session windows' accumulators (the second is newer); required with session windows. */
  readonly merge?: (a: A, b: A) => A
}

export interface ReduceSpec {
  /** Path of the group key (default: one group, key `all`). In TypeScript, a function may stand in. */
  readonly key?: string | ((r: PipelineRecord) => string | undefined)
  /** Common reducers by output name (JSON). Exactly one of `aggregates` and `custom`. */
  readonly aggregates?: Readonly<Record<string, Aggregate>>
  /** TypeScript only. */
  readonly custom?: CustomReducer
  readonly window?: WindowSpec
  /** How long after a window's end it still takes events (event time, ms; default 0). */
  readonly graceMs?: number
  /** Closed windows kept in a read-model entry, newest last (default 10). */
  readonly retain?: number
}

/** One step of a pipeline. Stateless stages run in order; `reduce`, if any, is the last. */
export type Stage =
  | { readonly filter: Filter }
  /** `fields`: output field → path; the record's payload becomes `{ field: value }` (missing values left out). `fn`: TypeScript only, returns the new payload or undefined to drop the record. */
  | { readonly map: { readonly fields: Readonly<Record<string, string>> } | { readonly fn: (r: PipelineRecord) => unknown } }
  /** Attaches the state of `projection`'s key (the value at path `key`) as `payload[as]`; absent keys attach nothing. */
  | { readonly enrich: { readonly projection: string; readonly key: string; readonly as: string } }
  /** The first branch whose `where` accepts the record sets its route; a record no branch accepts is dropped. */
  | { readonly branch: readonly { readonly where: Filter; readonly to: string }[] }
  | { readonly reduce: ReduceSpec }

export type Sink =
  /** The projection machinery's read model (KV) and topic; `retain` overrides reduce's `retain`. */
  | { readonly readModel: Readonly<Record<string, never>> }
  /** A derived stream of the same tenant, appended through the append service; `type` names the emitted events (default: the record's type, or `<name>.updated` / `<name>.window`). */
  | { readonly stream: { readonly name: string; readonly type?: string } }

/**
 * A pipeline: stages over the log's events, into a sink. As a projection, `version` decides
 * whether its state is rebuilt (a new version starts over from the start of the log).
 */
export interface PipelineDefinition {
  readonly name: string
  readonly version: number
  /** Only events of these tenants (a pipeline defined through the admin API gets its own tenant). */
  readonly tenants?: readonly string[]
  readonly stages: readonly Stage[]
  readonly sink: Sink
  readonly description?: string
}

export const pipelineLimits = { maxStages: 32, maxFields: 64, maxBranches: 32, maxAggregates: 32, maxRetain: 1_000, maxWindowMs: 366 * 86_400_000, maxWindowsPerEvent: 100 } as const

/** Aggregate and payload field names of a window result that a reducer may not take. */
const RESERVED = new Set(['key', 'start', 'end'])
const FIELD_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/

const Path = checkedString('Path', pathProblem)
const Field = checkedString('Field', (s) => (FIELD_RE.test(s) ? undefined : 'must be 1–64 of A–Z a–z 0–9 _, not starting with a digit'))
const Name = checkedString('Name', (s) => (isProjectionName(s) ? undefined : 'must be 1–64 of A–Z a–z 0–9 _ -'))
const Route = checkedString('Route', (s) => (StreamId.is(s) && isProjectionKey(s) ? undefined : 'must be 1–200 of A–Z a–z 0–9 _ - ='))
const TypeName = checkedString('EventType', (s) => (EventType.is(s) ? undefined : 'must be an event type (a letter, then letters, digits, _ . : -)'))
const Where = new t.Type<Filter, Filter, unknown>(
  'Where',
  (u): u is Filter => E.isRight(parseWhere(u)),
  (u, c) => {
    const r = parseWhere(u, 'where')
    return E.isRight(r) ? t.success(r.right) : t.failure(u, c, ('message' in r.left ? r.left.message : 'is invalid').replace(/^where: /, ''))
  },
  t.identity,
)
const Ms = (name: string) => boundedInt(name, 1, pipelineLimits.maxWindowMs)

/** An object with one field of free name (`record`): each name a {@link Field}, at most `max`. */
const fieldMap = <A>(name: string, value: t.Type<A, A, unknown>, max: number): t.Type<Readonly<Record<string, A>>, Readonly<Record<string, A>>, unknown> => {
  const validate = (u: unknown, c: t.Context): t.Validation<Readonly<Record<string, A>>> => {
    if (typeof u !== 'object' || u === null || Array.isArray(u)) return t.failure(u, c, 'must be an object')
    const entries = Object.entries(u)
    if (entries.length === 0 || entries.length > max) return t.failure(u, c, `must hold 1 to ${max} fields`)
    for (const [k, v] of entries) {
      const kc = t.appendContext(c, k, value, v)
      if (!FIELD_RE.test(k)) return t.failure(v, kc, 'is not a field name (1–64 of A–Z a–z 0–9 _, not starting with a digit)')
      const r = value.validate(v, kc)
      if (E.isLeft(r)) return r
    }
    return t.success(u as Readonly<Record<string, A>>)
  }
  return new t.Type(name, (u): u is Readonly<Record<string, A>> => E.isRight(validate(u, [])), validate, t.identity)
}

/** A list of at most `max` values, keeping what each value decoded to (a text filter becomes its JSON form). */
const list = <A>(item: t.Type<A, A, unknown>, max: number): t.Type<readonly A[], readonly A[], unknown> => {
  const validate = (u: unknown, c: t.Context): t.Validation<readonly A[]> => {
    if (!Array.isArray(u)) return t.failure(u, c, 'must be a list')
    if (u.length > max) return t.failure(u, c, `must hold at most ${max} entries (got ${u.length})`)
    const out: A[] = []
    for (let i = 0; i < u.length; i++) {
      const r = item.validate(u[i], t.appendContext(c, String(i), item, u[i]))
      if (E.isLeft(r)) return r
      out.push(r.right)
    }
    return t.success(out)
  }
  return new t.Type(`Array<${item.name}>`, (u): u is readonly A[] => E.isRight(validate(u, [])), validate, t.identity)
}

/** An object with exactly one of the given fields (a tagged union keyed by field), with the field in the path. */
const oneOf = <A>(name: string, cases: Readonly<Record<string, t.Mixed>>): t.Type<A, A, unknown> => {
  const known = Object.keys(cases)
  const validate = (u: unknown, c: t.Context): t.Validation<A> => {
    if (typeof u !== 'object' || u === null || Array.isArray(u)) return t.failure(u, c, `must be an object with one of: ${known.join(', ')}`)
    const keys = Object.keys(u)
    const k = keys[0]
    const codec = k === undefined ? undefined : cases[k]
    if (keys.length !== 1 || k === undefined || codec === undefined || !Object.prototype.hasOwnProperty.call(cases, k)) {
      return t.failure(u, c, `must have exactly one of: ${known.join(', ')} (got ${keys.length === 0 ? 'none' : keys.join(', ')})`)
    }
    const v = (u as Record<string, unknown>)[k]
    const r = codec.validate(v, t.appendContext(c, k, codec, v))
    return E.isLeft(r) ? r : t.success({ [k]: r.right } as A)
  }
  return new t.Type<A, A, unknown>(name, (u): u is A => E.isRight(validate(u, [])), validate, t.identity)
}

const AggregateCodec = oneOf<Aggregate>('Aggregate', {
  count: new t.Type<true, true, unknown>('true', (u): u is true => u === true, (u, c) => (u === true ? t.success(true) : t.failure(u, c, 'must be true')), t.identity),
  sum: Path,
  min: Path,
  max: Path,
  last: Path,
})

const WindowCodec = oneOf<WindowSpec>('Window', {
  tumbling: closedObject('Tumbling', { sizeMs: Ms('sizeMs') }, {}),
  sliding: closedObject('Sliding', { sizeMs: Ms('sizeMs'), slideMs: Ms('slideMs') }, {}, (s) =>
    s.slideMs > s.sizeMs ? 'slideMs must not exceed sizeMs' : s.sizeMs / s.slideMs > pipelineLimits.maxWindowsPerEvent ? `sizeMs / slideMs must be at most ${pipelineLimits.maxWindowsPerEvent}` : undefined,
  ),
  session: closedObject('Session', { gapMs: Ms('gapMs') }, {}),
})

const ReduceCodec = closedObject(
  'Reduce',
  { aggregates: fieldMap('Aggregates', AggregateCodec, pipelineLimits.maxAggregates) },
  { key: Path, window: WindowCodec, graceMs: boundedInt('graceMs', 0, pipelineLimits.maxWindowMs), retain: boundedInt('retain', 0, pipelineLimits.maxRetain) },
  (r) => {
    const bad = Object.keys(r.aggregates).find((k) => RESERVED.has(k))
    return bad === undefined ? undefined : `aggregate name "${bad}" is reserved (key, start, end name a window result)`
  },
)

const StageCodec = oneOf<Stage>('Stage', {
  filter: Where,
  map: closedObject('Map', { fields: fieldMap('Fields', Path, pipelineLimits.maxFields) }, {}),
  enrich: closedObject('Enrich', { projection: Name, key: Path, as: Field }, {}),
  branch: list(closedObject('Branch', { where: Where, to: Route }, {}), pipelineLimits.maxBranches),
  reduce: ReduceCodec,
})

const SinkCodec = oneOf<Sink>('Sink', {
  readModel: closedObject('ReadModel', {}, {}),
  stream: closedObject('Stream', { name: Route }, { type: TypeName }),
})

const PipelineCodec = closedObject(
  'Pipeline',
  { name: Name, stages: list(StageCodec, pipelineLimits.maxStages), sink: SinkCodec },
  { version: boundedInt('version', 1, 1_000_000), description: checkedString('Description', (s) => (s.length <= 1_000 ? undefined : 'must be at most 1000 characters')) },
)

/** Cross-stage rules, for JSON and TypeScript definitions alike; the problem's path and message, or undefined. */
export const structureProblem = (def: Pick<PipelineDefinition, 'stages' | 'sink'>): { readonly path: string; readonly message: string } | undefined => {
  const last = def.stages.length - 1
  for (let i = 0; i < def.stages.length; i++) {
    const s = def.stages[i] as Stage
    if ('reduce' in s) {
      if (i !== last) return { path: `stages[${i}].reduce`, message: 'reduce must be the last stage' }
      const r = s.reduce
      if ((r.aggregates === undefined) === (r.custom === undefined)) return { path: `stages[${i}].reduce`, message: 'reduce needs exactly one of aggregates and custom' }
      if (r.custom !== undefined && r.window !== undefined && 'session' in r.window && r.custom.merge === undefined) return { path: `stages[${i}].reduce.custom`, message: 'a custom reducer over session windows needs merge' }
    }
    if ('branch' in s && def.stages.slice(0, i).some((x) => 'branch' in x)) return { path: `stages[${i}].branch`, message: 'at most one branch stage' }
  }
  return undefined
}

/**
 * Decodes a pipeline definition sent as JSON (the admin API). Unknown fields are refused; a fault
 * is `BAD_REQUEST` with `details.path` (`stages[2].reduce.window.tumbling.sizeMs`). `version`
 * defaults to 1. Never throws.
 */
export const decodePipeline = (u: unknown): E.Either<DomainError, PipelineDefinition> => {
  const r = PipelineCodec.decode(u)
  if (E.isLeft(r)) {
    const f = describeFailure(r.left, 'pipeline')
    return E.left(badRequest(f.message, { path: f.path }))
  }
  const def: PipelineDefinition = { ...r.right, version: r.right.version ?? 1 }
  const p = structureProblem(def)
  return p === undefined ? E.right(def) : E.left(badRequest(`pipeline.${p.path} ${p.message}`, { path: `pipeline.${p.path}` }))
}
