import type { RecordedEvent } from '../streams/event.js'
import { categoryOf } from '../streams/ids.js'
import type { Filter } from '../reading/filter.js'
import { compileFilter, type Predicate } from '../reading/filterEval.js'

/** An event as a projection sees it: where it is in the log and which stream it belongs to. */
export type ProjectedEvent = RecordedEvent & { readonly tenant: string; readonly stream: string; readonly offset: number }

const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/
const KEY_RE = /^[A-Za-z0-9_=.-]{1,255}$/

/** Projection names: one subject token and part of a KV bucket name. */
export const isProjectionName = (s: string): boolean => NAME_RE.test(s)
/** Projection keys: 1–255 of `A–Z a–z 0–9 _ - = .` (a dot splits the topic into tokens). */
export const isProjectionKey = (s: string): boolean => KEY_RE.test(s) && !s.startsWith('.') && !s.endsWith('.') && !s.includes('..')

/**
 * A projection: a pure fold per key over the events it takes. Versioned: a changed `fold` gets a
 * new `version`, and its read model is rebuilt from the log into a new bucket.
 */
export interface ProjectionDefinition<S> {
  readonly name: string
  readonly version: number
  /** Which events it takes; every given filter must match. */
  readonly filter?: {
    readonly types?: readonly string[]
    readonly categories?: readonly string[]
    readonly tenants?: readonly string[]
  }
  /**
   * Only events this filter accepts (docs/querying.md), applied before `key` and `fold`
   * together with `filter`. Part of the fold: changing it needs a new `version`. Checked when the
   * projection starts (an invalid one is refused there).
   */
  readonly where?: Filter
  /** The read-model key an event belongs to, or undefined to skip it. */
  readonly key: (event: ProjectedEvent) => string | undefined
  readonly initialState: S
  /** Pure and total: `(state, event) → state`. */
  readonly fold: (state: S, event: ProjectedEvent) => S
  /**
   * What its topic carries (`allsource.projections.<tenant>.<name>.<key>`):
   * - `'every'` (default): one update per commit and key it changed, with the state after that commit;
   * - `'latest'`: one update per key per read-model write (a chunk: up to the live linger, 5 ms by
   *   default, or up to 16,384 commits while catching up), with the state written. For large
   *   states whose subscribers want the newest one (`event-frequency`'s counts, several KB): every
   *   intermediate state would cost its whole size per event. Offsets still rise per key, and the
   *   last update of a key is always its read-model entry.
   */
  readonly topic?: 'every' | 'latest'
}

const compiled = new WeakMap<Filter, Predicate>()
const accepts = (f: Filter, e: ProjectedEvent): boolean => {
  let p = compiled.get(f)
  if (p === undefined) compiled.set(f, (p = compileFilter(f)))
  return p(e)
}

/** Whether a projection takes an event at all (before its key function). */
export const takes = <S>(p: ProjectionDefinition<S>, e: ProjectedEvent): boolean =>
  (p.filter?.types === undefined || p.filter.types.includes(e.type)) &&
  (p.filter?.categories === undefined || p.filter.categories.includes(categoryOf(e.stream))) &&
  (p.filter?.tenants === undefined || p.filter.tenants.includes(e.tenant)) &&
  (p.where === undefined || accepts(p.where, e))

/** The position of an event in the log: its commit's offset, then its index in the commit. */
export interface Position {
  readonly offset: number
  readonly index: number
}

export const after = (a: Position, b: Position | undefined): boolean =>
  b === undefined || a.offset > b.offset || (a.offset === b.offset && a.index > b.index)

/**
 * The whole fold in memory: the reference every projection runner must agree with. Keys are
 * `<tenant>.<key>`, since read models are per tenant.
 */
export const foldAll = <S>(p: ProjectionDefinition<S>, events: Iterable<ProjectedEvent>): Map<string, S> => {
  const out = new Map<string, S>()
  for (const e of events) {
    if (!takes(p, e)) continue
    const key = p.key(e)
    if (key === undefined) continue
    const k = `${e.tenant}.${key}`
    out.set(k, p.fold(out.has(k) ? (out.get(k) as S) : p.initialState, e))
  }
  return out
}
