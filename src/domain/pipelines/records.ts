import type { Filter } from '../reading/filter.js'
import { compileFilter, type Predicate } from '../reading/filterEval.js'

/**
 * What flows through a pipeline's stages: an event with its place in the log. `map` replaces the
 * payload (the envelope stays, so later filters and windows still see `type`, `stream`,
 * `timestamp`, …); `branch` sets `route`.
 */
export interface PipelineRecord {
  readonly id: string
  readonly type: string
  readonly tenant: string
  readonly stream: string
  readonly version: number
  readonly offset: number
  readonly timestamp: Date
  readonly payload: unknown
  readonly metadata?: unknown
  /** The branch the record took (a derived stream's name, or a read-model key prefix). */
  readonly route?: string
}

const hasOwn = Object.prototype.hasOwnProperty
const isMap = (u: unknown): u is Record<string, unknown> =>
  typeof u === 'object' && u !== null && !Array.isArray(u) && !(u instanceof Date) && !(u instanceof Uint8Array)

/**
 * The value at a path (`type`, `stream`, `payload.a.b`, `metadata.k`, …; the filter language's
 * paths), or undefined when the path runs through a non-object or an absent key.
 */
export const valueAt = (r: PipelineRecord, path: string): unknown => {
  const segments = path.split('.')
  let cur: unknown = r
  for (const k of segments) {
    if (!isMap(cur) || !hasOwn.call(cur, k)) return undefined
    cur = cur[k]
  }
  return cur
}

const compiled = new WeakMap<Filter, Predicate>()
/** Whether the filter accepts the record (compiled once per filter object). */
export const accepts = (f: Filter, r: PipelineRecord): boolean => {
  let p = compiled.get(f)
  if (p === undefined) compiled.set(f, (p = compileFilter(f)))
  return p(r)
}

/** A value as a read-model key or group key: strings as they are, finite numbers and booleans as text. */
export const keyText = (u: unknown): string | undefined =>
  typeof u === 'string' ? u : (typeof u === 'number' && Number.isFinite(u)) || typeof u === 'boolean' ? String(u) : undefined
