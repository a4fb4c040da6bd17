import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'

/**
 * The filter language of `where` (DESIGN.md, "Query language"): a JSON tree with one operator per
 * node. This module holds its types, its limits and its validator (JSON → `Filter`, the fault's
 * path on failure); the text form is in `filterText.ts`, the evaluator in `filterEval.ts`.
 */

/** An operand: a JSON scalar. Arrays and objects are not operands (use `contains` for arrays). */
export type Scalar = string | number | boolean | null

export const comparisons = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte'] as const
export type Comparison = (typeof comparisons)[number]

export type Filter =
  | { readonly and: readonly Filter[] }
  | { readonly or: readonly Filter[] }
  | { readonly not: Filter }
  | { readonly eq: readonly [string, Scalar] }
  | { readonly ne: readonly [string, Scalar] }
  | { readonly gt: readonly [string, Scalar] }
  | { readonly gte: readonly [string, Scalar] }
  | { readonly lt: readonly [string, Scalar] }
  | { readonly lte: readonly [string, Scalar] }
  | { readonly in: readonly [string, readonly Scalar[]] }
  | { readonly between: readonly [string, Scalar, Scalar] }
  | { readonly contains: readonly [string, Scalar] }
  | { readonly exists: string }
  | { readonly prefix: readonly [string, string] }

export const operators = ['and', 'or', 'not', ...comparisons, 'in', 'between', 'contains', 'exists', 'prefix'] as const
export type Operator = (typeof operators)[number]

/** The node `{ [op]: [path, value] }` of a comparison or `contains`. */
export const comparisonOf = (op: Comparison | 'contains', path: string, v: Scalar): Filter => {
  const pv = [path, v] as const
  switch (op) {
    case 'eq':
      return { eq: pv }
    case 'ne':
      return { ne: pv }
    case 'gt':
      return { gt: pv }
    case 'gte':
      return { gte: pv }
    case 'lt':
      return { lt: pv }
    case 'lte':
      return { lte: pv }
    case 'contains':
      return { contains: pv }
    default: {
      const never: never = op
      return never
    }
  }
}

/** Limits of one filter, so a hostile one costs bounded work (checked by the validator and the parser). */
export const filterLimits = {
  /** Nesting of `and`/`or`/`not` (and of parentheses in the text form). */
  maxDepth: 32,
  /** Filter nodes in all, operators of every kind counted. */
  maxNodes: 1_000,
  /** Values of one `in` list. */
  maxInValues: 10_000,
  /** Segments of one path (`payload.a.b` has 3). */
  maxPathSegments: 32,
  /** Characters of a path, of a string operand, and of the text form. */
  maxPathLength: 1_000,
  maxStringLength: 10_000,
  maxTextLength: 65_536,
} as const

/** Fields of the event with a fixed type; `payload` and `metadata` are walked by key. */
export const fixedRoots = ['type', 'stream', 'version', 'offset', 'timestamp', 'id'] as const
export type FixedRoot = (typeof fixedRoots)[number]
const fixedSet: ReadonlySet<string> = new Set(fixedRoots)

/** A fault in a filter: where (`or[0].gt[1]`, relative to the filter; `""` is the filter itself) and why. */
export interface FilterFault {
  readonly path: string
  readonly message: string
}

/** The path's problem, or undefined when it is a valid path. */
export const pathProblem = (p: string): string | undefined => {
  if (p.length === 0 || p.length > filterLimits.maxPathLength) return `a path is 1–${filterLimits.maxPathLength} characters`
  const segments = p.split('.')
  const root = segments[0] as string
  if (fixedSet.has(root)) return segments.length === 1 ? undefined : `${root} has no fields`
  if (root !== 'payload' && root !== 'metadata') return `unknown path "${root}": use type, stream, version, offset, timestamp, id, payload.… or metadata.…`
  if (segments.length > filterLimits.maxPathSegments) return `a path has at most ${filterLimits.maxPathSegments} segments`
  return segments.some((s) => s === '') ? 'a path segment is never empty' : undefined
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/

/** Epoch milliseconds of an ISO-8601 time (date, or date-time with `Z` or an offset), else undefined. */
export const isoTimeMs = (s: string): number | undefined => {
  if (!ISO_TIME.test(s)) return undefined
  const ms = Date.parse(s)
  return Number.isFinite(ms) ? ms : undefined
}

/** The operand as a scalar (a Date becomes its ISO string, -0 becomes 0), or the problem. */
export const scalarOf = (u: unknown, path: string): E.Either<string, Scalar> => {
  if (path === 'timestamp' && typeof u !== 'string' && !(u instanceof Date)) return E.left('timestamp compares with ISO-8601 times ("2026-12-01" or "2026-12-01T10:00:00Z")')
  if (u instanceof Date) return Number.isNaN(u.getTime()) ? E.left('an invalid date') : E.right(u.toISOString())
  if (typeof u === 'number') return Number.isFinite(u) ? E.right(u === 0 ? 0 : u) : E.left('a number must be finite')
  if (typeof u === 'string') {
    if (u.length > filterLimits.maxStringLength) return E.left(`a string operand has at most ${filterLimits.maxStringLength} characters`)
    if (path === 'timestamp' && isoTimeMs(u) === undefined) return E.left('timestamp compares with ISO-8601 times ("2026-12-01" or "2026-12-01T10:00:00Z")')
    return E.right(u)
  }
  if (typeof u === 'boolean' || u === null) return E.right(u)
  return E.left('an operand is a string, a number, true, false or null')
}

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === 'object' && u !== null && !Array.isArray(u) && !(u instanceof Uint8Array) && !(u instanceof Date)

const at = (base: string, key: string | number): string =>
  typeof key === 'number' ? `${base}[${key}]` : base === '' ? key : `${base}.${key}`

interface Ctx {
  nodes: number
}
type V<A> = E.Either<FilterFault, A>
const fault = (path: string, message: string): V<never> => E.left({ path, message })

const pathAt = (u: unknown, where: string): V<string> => {
  if (typeof u !== 'string') return fault(where, 'a path is a string like "type" or "payload.total"')
  const problem = pathProblem(u)
  return problem === undefined ? E.right(u) : fault(where, problem)
}

const operandAt = (u: unknown, path: string, where: string): V<Scalar> => {
  const s = scalarOf(u, path)
  return E.isLeft(s) ? fault(where, s.left) : s
}

const node = (u: unknown, where: string, depth: number, ctx: Ctx): V<Filter> => {
  if (depth > filterLimits.maxDepth) return fault(where, `filters nest at most ${filterLimits.maxDepth} deep`)
  if (++ctx.nodes > filterLimits.maxNodes) return fault(where, `a filter has at most ${filterLimits.maxNodes} nodes`)
  if (!isRecord(u)) return fault(where, 'a filter is an object with one operator, like {"eq":["type","a"]}')
  const keys = Object.keys(u)
  if (keys.length !== 1) return fault(where, `a filter has exactly one operator (found ${keys.length === 0 ? 'none' : keys.slice(0, 5).join(', ')})`)
  const op = keys[0] as string
  const arg = u[op]
  const here = at(where, op)
  const args = (n: number, shape: string): V<readonly unknown[]> =>
    Array.isArray(arg) && arg.length === n ? E.right(arg) : fault(here, `${op} takes ${shape}`)
  switch (op as Operator) {
    case 'and':
    case 'or': {
      if (!Array.isArray(arg) || arg.length === 0) return fault(here, `${op} takes a non-empty array of filters`)
      const out: Filter[] = []
      for (let i = 0; i < arg.length; i++) {
        const f = node(arg[i], at(here, i), depth + 1, ctx)
        if (E.isLeft(f)) return f
        out.push(f.right)
      }
      return E.right(op === 'and' ? { and: out } : { or: out })
    }
    case 'not': {
      const f = node(arg, here, depth + 1, ctx)
      return E.isLeft(f) ? f : E.right({ not: f.right })
    }
    case 'eq':
    case 'ne':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
    case 'contains': {
      const a = args(2, '[path, value]')
      if (E.isLeft(a)) return a
      const p = pathAt(a.right[0], at(here, 0))
      if (E.isLeft(p)) return p
      if (op === 'contains' && p.right === 'timestamp') return fault(at(here, 0), 'contains applies to strings and arrays, not to timestamp')
      const v = operandAt(a.right[1], p.right, at(here, 1))
      return E.isLeft(v) ? v : E.right(comparisonOf(op as Comparison | 'contains', p.right, v.right))
    }
    case 'in': {
      const a = args(2, '[path, [values]]')
      if (E.isLeft(a)) return a
      const p = pathAt(a.right[0], at(here, 0))
      if (E.isLeft(p)) return p
      const list = a.right[1]
      if (!Array.isArray(list)) return fault(at(here, 1), 'in takes [path, [values]]')
      if (list.length > filterLimits.maxInValues) return fault(at(here, 1), `in takes at most ${filterLimits.maxInValues} values`)
      const values: Scalar[] = []
      for (let i = 0; i < list.length; i++) {
        const v = operandAt(list[i], p.right, at(at(here, 1), i))
        if (E.isLeft(v)) return v
        values.push(v.right)
      }
      return E.right({ in: [p.right, values] })
    }
    case 'between': {
      const a = args(3, '[path, low, high] (both inclusive)')
      if (E.isLeft(a)) return a
      const p = pathAt(a.right[0], at(here, 0))
      if (E.isLeft(p)) return p
      const lo = operandAt(a.right[1], p.right, at(here, 1))
      if (E.isLeft(lo)) return lo
      const hi = operandAt(a.right[2], p.right, at(here, 2))
      return E.isLeft(hi) ? hi : E.right({ between: [p.right, lo.right, hi.right] })
    }
    case 'exists': {
      const p = pathAt(arg, here)
      return E.isLeft(p) ? p : E.right({ exists: p.right })
    }
    case 'prefix': {
      const a = args(2, '[path, "string"]')
      if (E.isLeft(a)) return a
      const p = pathAt(a.right[0], at(here, 0))
      if (E.isLeft(p)) return p
      if (p.right === 'timestamp') return fault(at(here, 0), 'prefix applies to strings, not to timestamp')
      const s = a.right[1]
      if (typeof s !== 'string') return fault(at(here, 1), 'prefix takes a string')
      const v = operandAt(s, p.right, at(here, 1))
      return E.isLeft(v) ? v : E.right({ prefix: [p.right, s] })
    }
    default:
      return fault(here, `unknown operator "${op.slice(0, 40)}": use ${operators.join(', ')}`)
  }
}

/**
 * Validates a filter in its JSON form. Returns it normalised (dates as ISO strings, -0 as 0) or
 * the first fault with its path relative to the filter (`or[0].gt[1]`). Never throws; bounded
 * by `filterLimits` (depth, nodes, lengths), so a hostile filter costs bounded work.
 */
export const validateFilter = (u: unknown): E.Either<FilterFault, Filter> => node(u, '', 0, { nodes: 0 })

/** The filter codec: `decode` validates as `validateFilter`, reporting the fault's path. */
export const FilterCodec = new t.Type<Filter, Filter, unknown>(
  'Filter',
  (u): u is Filter => E.isRight(validateFilter(u)),
  (u, c) => {
    const r = validateFilter(u)
    return E.isRight(r) ? t.success(r.right) : t.failure(u, c, `${r.left.path === '' ? 'filter' : r.left.path}: ${r.left.message}`)
  },
  t.identity,
)
