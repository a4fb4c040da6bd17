import { isoTimeMs, type Comparison, type Filter, type Scalar } from './filter.js'

/** An event as a query answers it (the fields a filter can name). */
export interface FilterableEvent {
  readonly id: string
  readonly type: string
  readonly stream: string
  readonly version: number
  readonly offset: number
  /** A Date as decoded; an ISO string or epoch milliseconds are read as times too. */
  readonly timestamp: Date | string | number
  readonly payload: unknown
  readonly metadata?: unknown
}

/** What a path finds: a value, or nothing (a path through a non-object or an absent key). */
const MISSING: unique symbol = Symbol('missing')
type Found = unknown | typeof MISSING

const hasOwn = Object.prototype.hasOwnProperty
const isMap = (u: unknown): u is Record<string, unknown> =>
  typeof u === 'object' && u !== null && !Array.isArray(u) && !(u instanceof Date) && !(u instanceof Uint8Array)

const timeOf = (u: Date | string | number): number => (u instanceof Date ? u.getTime() : typeof u === 'number' ? u : Date.parse(u))

type Resolve = (e: FilterableEvent) => Found

const resolver = (path: string): Resolve => {
  const [root, ...keys] = path.split('.')
  const walk = (start: (e: FilterableEvent) => Found): Resolve =>
    keys.length === 0
      ? start
      : (e) => {
          let cur = start(e)
          for (const k of keys) {
            if (!isMap(cur) || !hasOwn.call(cur, k)) return MISSING
            cur = cur[k]
          }
          return cur
        }
  switch (root) {
    case 'type':
      return (e) => e.type
    case 'stream':
      return (e) => e.stream
    case 'id':
      return (e) => e.id
    case 'version':
      return (e) => e.version
    case 'offset':
      return (e) => e.offset
    case 'timestamp':
      return (e) => new Date(timeOf(e.timestamp))
    case 'payload':
      return walk((e) => e.payload)
    default:
      return walk((e) => (e.metadata === undefined ? MISSING : e.metadata))
  }
}

/** An operand, with its time when it is an ISO-8601 string (compared with dates as a time). */
interface Operand {
  readonly value: Scalar
  readonly ms: number | undefined
}
const operand = (value: Scalar): Operand => ({ value, ms: typeof value === 'string' ? isoTimeMs(value) : undefined })

/**
 * How a value compares with an operand: -1, 0 or 1, or undefined when they are of unlike kinds
 * (or either is missing). Numbers compare numerically, strings by UTF-16 code unit, dates as
 * times (against an ISO-8601 operand); booleans and null are only equal (`'='`) or not (`'≠'`).
 */
const compare = (v: Found, o: Operand): -1 | 0 | 1 | '=' | '≠' | undefined => {
  const x = o.value
  if (v instanceof Date) {
    if (o.ms === undefined) return undefined
    const t = v.getTime()
    return t < o.ms ? -1 : t > o.ms ? 1 : t === o.ms ? 0 : undefined
  }
  if (typeof v === 'number' && typeof x === 'number') return v < x ? -1 : v > x ? 1 : v === x ? 0 : undefined
  if (typeof v === 'string' && typeof x === 'string') return v < x ? -1 : v > x ? 1 : 0
  if ((typeof v === 'boolean' && typeof x === 'boolean') || (v === null && x === null)) return v === x ? '=' : '≠'
  return undefined
}

const ordered = (c: ReturnType<typeof compare>): c is -1 | 0 | 1 => c === -1 || c === 0 || c === 1

const TESTS: Readonly<Record<Comparison, (c: ReturnType<typeof compare>) => boolean>> = {
  eq: (c) => c === 0 || c === '=',
  ne: (c) => c === -1 || c === 1 || c === '≠',
  gt: (c) => c === 1,
  gte: (c) => c === 1 || c === 0,
  lt: (c) => c === -1,
  lte: (c) => c === -1 || c === 0,
}

export type Predicate = (e: FilterableEvent) => boolean

/**
 * Compiles a (validated) filter into a predicate over one event, following the contract's
 * semantics: a missing value makes every comparison false (`ne` too, so `ne` differs from
 * `not eq`); unlike kinds compare false, never throw; `exists` is true for a key present with
 * null; `contains` is a case-sensitive substring or an array member; `timestamp` compares as a
 * time. Pure and total: it never throws, whatever the event holds.
 */
export const compileFilter = (f: Filter): Predicate => {
  if ('and' in f) {
    const all = f.and.map(compileFilter)
    return (e) => all.every((p) => p(e))
  }
  if ('or' in f) {
    const any = f.or.map(compileFilter)
    return (e) => any.some((p) => p(e))
  }
  if ('not' in f) {
    const p = compileFilter(f.not)
    return (e) => !p(e)
  }
  if ('exists' in f) {
    const r = resolver(f.exists)
    return (e) => r(e) !== MISSING
  }
  if ('in' in f) {
    const r = resolver(f.in[0])
    const os = f.in[1].map(operand)
    return (e) => {
      const v = r(e)
      return v !== MISSING && os.some((o) => TESTS.eq(compare(v, o)))
    }
  }
  if ('between' in f) {
    const r = resolver(f.between[0])
    const lo = operand(f.between[1])
    const hi = operand(f.between[2])
    return (e) => {
      const v = r(e)
      const a = compare(v, lo)
      const b = compare(v, hi)
      return ordered(a) && ordered(b) && a >= 0 && b <= 0
    }
  }
  if ('contains' in f) {
    const r = resolver(f.contains[0])
    const o = operand(f.contains[1])
    return (e) => {
      const v = r(e)
      if (typeof v === 'string') return typeof o.value === 'string' && v.includes(o.value)
      return Array.isArray(v) && v.some((x: unknown) => TESTS.eq(compare(x, o)))
    }
  }
  if ('prefix' in f) {
    const r = resolver(f.prefix[0])
    const s = f.prefix[1]
    return (e) => {
      const v = r(e)
      return typeof v === 'string' && v.startsWith(s)
    }
  }
  for (const op of Object.keys(TESTS) as Comparison[]) {
    const c = (f as Partial<Record<Comparison, readonly [string, Scalar]>>)[op]
    if (c === undefined) continue
    const r = resolver(c[0])
    const o = operand(c[1])
    const test = TESTS[op]
    return (e) => test(compare(r(e), o))
  }
  return () => false
}
