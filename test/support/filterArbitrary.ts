import * as fc from 'fast-check'
import type { Comparison, Filter, Scalar } from '../../src/domain/reading/filter.js'

/** The values a log holds, so generated filters often match something. */
export interface FilterWorld {
  readonly types: readonly string[]
  readonly streams: readonly string[]
  /** ISO-8601 times of events in the log. */
  readonly stamps: readonly string[]
  readonly maxOffset: number
  readonly maxVersion: number
}

const ops: readonly Comparison[] = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte']

/** A path and a value generator of values that path may hold (and a few that it cannot). */
const pathsOf = (w: FilterWorld): ReadonlyArray<readonly [string, fc.Arbitrary<Scalar>]> => {
  const num = fc.oneof(fc.integer({ min: -2, max: 6 }), fc.constantFrom(2.5, 0.5))
  const str = fc.constantFrom('a', 'b', 'ab', 'ba', '', 'A')
  return [
    ['type', fc.oneof(fc.constantFrom(...w.types), fc.constantFrom('zzz', 5))],
    ['stream', fc.oneof(fc.constantFrom(...w.streams), fc.constantFrom('nope', 'a.b', '*'))],
    ['version', fc.oneof(fc.integer({ min: 0, max: w.maxVersion + 1 }), fc.constant('1'))],
    ['offset', fc.oneof(fc.integer({ min: 0, max: w.maxOffset + 1 }), fc.double({ min: 0, max: w.maxOffset + 1, noNaN: true }))],
    ['timestamp', fc.constantFrom(...w.stamps)],
    ['payload.n', fc.oneof(num, str, fc.constant(null))],
    ['payload.s', fc.oneof(str, num)],
    ['payload.tags', fc.oneof(str, num)],
    ['payload.o.x', fc.oneof(num, fc.boolean(), fc.constant(null))],
    ['payload.absent', num],
    ['metadata.k', fc.oneof(str, fc.constant(null))],
  ]
}

/** Filters over a world: every operator, nested `and`/`or`/`not` up to `depth`. */
export const worldFilter = (w: FilterWorld, depth = 3): fc.Arbitrary<Filter> => {
  const leaf: fc.Arbitrary<Filter> = fc.constantFrom(...pathsOf(w)).chain(([p, v]): fc.Arbitrary<Filter> => {
    const strings = p === 'type' || p === 'stream' || p === 'payload.s' || p === 'metadata.k'
    return fc.oneof(
      fc.tuple(fc.constantFrom(...ops), v).map(([op, x]) => ({ [op]: [p, x] }) as unknown as Filter),
      fc.array(v, { maxLength: 3 }).map((xs): Filter => ({ in: [p, xs] })),
      fc.tuple(v, v).map(([lo, hi]): Filter => ({ between: [p, lo, hi] })),
      ...(p === 'timestamp' ? [] : [v.map((x): Filter => ({ contains: [p, x] }))]),
      fc.constant<Filter>({ exists: p }),
      ...(strings ? [fc.constantFrom('', 'a', 'b', 'q-', 'order').map((s): Filter => ({ prefix: [p, s] }))] : []),
    )
  })
  const { f } = fc.letrec<{ f: Filter }>((tie) => ({
    f: fc.oneof(
      { maxDepth: depth, depthIdentifier: 'filter' },
      leaf,
      fc.array(tie('f'), { minLength: 1, maxLength: 3 }).map((xs): Filter => ({ and: xs })),
      fc.array(tie('f'), { minLength: 1, maxLength: 3 }).map((xs): Filter => ({ or: xs })),
      tie('f').map((x): Filter => ({ not: x })),
    ),
  }))
  return f
}

/** Any valid filter, with odd strings and numbers everywhere (for the text ↔ JSON round trip). */
export const anyFilter: fc.Arbitrary<Filter> = (() => {
  const segment = fc.string({ minLength: 1, maxLength: 6, unit: 'binary' }).filter((s) => !s.includes('.'))
  const path = fc.oneof(
    fc.constantFrom('type', 'stream', 'version', 'offset', 'id', 'payload', 'metadata'),
    fc.tuple(fc.constantFrom('payload', 'metadata'), fc.array(segment, { minLength: 1, maxLength: 3 })).map(([r, s]) => [r, ...s].join('.')),
  )
  const value: fc.Arbitrary<Scalar> = fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.boolean(), fc.constant(null))
  const time = fc.date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString())
  const leaf: fc.Arbitrary<Filter> = fc.oneof(
    fc.tuple(fc.constantFrom(...ops), path, value).map(([op, p, v]) => ({ [op]: [p, v] }) as unknown as Filter),
    fc.tuple(fc.constantFrom(...ops), time).map(([op, t]) => ({ [op]: ['timestamp', t] }) as unknown as Filter),
    fc.tuple(path, fc.array(value, { maxLength: 3 })).map(([p, vs]): Filter => ({ in: [p, vs] })),
    fc.tuple(path, value, value).map(([p, lo, hi]): Filter => ({ between: [p, lo, hi] })),
    fc.tuple(time, time).map(([lo, hi]): Filter => ({ between: ['timestamp', lo, hi] })),
    fc.tuple(path, value).map(([p, v]): Filter => ({ contains: [p, v] })),
    fc.oneof(path, fc.constant('timestamp')).map((p): Filter => ({ exists: p })),
    fc.tuple(path, fc.string({ unit: 'binary', maxLength: 8 })).map(([p, s]): Filter => ({ prefix: [p, s] })),
  )
  const { f } = fc.letrec<{ f: Filter }>((tie) => ({
    f: fc.oneof(
      { maxDepth: 4, depthIdentifier: 'any' },
      leaf,
      fc.array(tie('f'), { minLength: 1, maxLength: 3 }).map((xs): Filter => ({ and: xs })),
      fc.array(tie('f'), { minLength: 1, maxLength: 3 }).map((xs): Filter => ({ or: xs })),
      tie('f').map((x): Filter => ({ not: x })),
    ),
  }))
  return f
})()

/** The filter with every `and`/`or` of one filter replaced by that filter (what the text form prints). */
export const collapse = (f: Filter): Filter => {
  if ('and' in f) return f.and.length === 1 ? collapse(f.and[0] as Filter) : { and: f.and.map(collapse) }
  if ('or' in f) return f.or.length === 1 ? collapse(f.or[0] as Filter) : { or: f.or.map(collapse) }
  if ('not' in f) return { not: collapse(f.not) }
  return f
}
