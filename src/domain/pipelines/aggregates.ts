import { type PipelineRecord, valueAt } from './records.js'

/** A common reducer as data: `count`, or `sum`/`min`/`max`/`last` of the value at a path. */
export type Aggregate =
  | { readonly count: true }
  | { readonly sum: string }
  | { readonly min: string }
  | { readonly max: string }
  | { readonly last: string }

/** Accumulated values by output name; `min`, `max` and `last` stay absent until a value is seen. */
export type Aggregates = Readonly<Record<string, unknown>>

const num = (u: unknown): number | undefined => (typeof u === 'number' && Number.isFinite(u) ? u : undefined)

/** The aggregates before any record: `count` and `sum` are 0, the others absent. */
export const initialAggregates = (spec: Readonly<Record<string, Aggregate>>): Aggregates => {
  const out: Record<string, unknown> = {}
  for (const [name, a] of Object.entries(spec)) if ('count' in a || 'sum' in a) out[name] = 0
  return out
}

/**
 * Adds one record. `sum`, `min` and `max` take finite numbers only (anything else is skipped, as
 * a filter skips unlike types); `last` takes any present value. Pure: returns a new object.
 */
export const addAggregates = (spec: Readonly<Record<string, Aggregate>>, acc: Aggregates, r: PipelineRecord): Aggregates => {
  const out: Record<string, unknown> = { ...acc }
  for (const [name, a] of Object.entries(spec)) {
    if ('count' in a) out[name] = (num(acc[name]) ?? 0) + 1
    else if ('sum' in a) out[name] = (num(acc[name]) ?? 0) + (num(valueAt(r, a.sum)) ?? 0)
    else if ('min' in a || 'max' in a) {
      const v = num(valueAt(r, 'min' in a ? a.min : a.max))
      if (v === undefined) continue
      const cur = num(acc[name])
      out[name] = cur === undefined ? v : 'min' in a ? Math.min(cur, v) : Math.max(cur, v)
    } else {
      const v = valueAt(r, a.last)
      if (v !== undefined) out[name] = v
    }
  }
  return out
}

/** Combines the aggregates of two merged session windows; `b`'s `last` wins when it has one. */
export const mergeAggregates = (spec: Readonly<Record<string, Aggregate>>, a: Aggregates, b: Aggregates): Aggregates => {
  const out: Record<string, unknown> = {}
  for (const [name, s] of Object.entries(spec)) {
    const x = a[name]
    const y = b[name]
    if ('count' in s || 'sum' in s) out[name] = (num(x) ?? 0) + (num(y) ?? 0)
    else if ('last' in s) {
      if (y !== undefined) out[name] = y
      else if (x !== undefined) out[name] = x
    } else {
      const vs = [num(x), num(y)].filter((v): v is number => v !== undefined)
      if (vs.length > 0) out[name] = 'min' in s ? Math.min(...vs) : Math.max(...vs)
    }
  }
  return out
}
