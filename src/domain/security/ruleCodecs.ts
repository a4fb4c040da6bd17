import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'

/**
 * Small io-ts building blocks for codecs whose failures must read well in a `BAD_REQUEST`
 * (policy rules): every failure carries a message, objects refuse unknown fields instead of
 * stripping them (a misspelt `eventtype` must not turn a rule into a match-all), and validation
 * stops at the first problem. None of them transforms a valid value.
 */

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)
const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k)

/** A string refined by `problem` (`undefined` means valid), failing with the problem as message. */
export const checkedString = <A extends string = string>(
  name: string,
  problem: (s: string) => string | undefined,
): t.Type<A, A, unknown> => {
  const validate = (u: unknown, c: t.Context): t.Validation<A> => {
    if (typeof u !== 'string') return t.failure(u, c, 'must be a string')
    const p = problem(u)
    return p === undefined ? t.success(u as A) : t.failure(u, c, p)
  }
  return new t.Type<A, A, unknown>(name, (u): u is A => typeof u === 'string' && problem(u) === undefined, validate, t.identity)
}

/** An integer in [min, max]. */
export const boundedInt = (name: string, min: number, max: number): t.Type<number, number, unknown> =>
  new t.Type<number, number, unknown>(
    name,
    (u): u is number => Number.isSafeInteger(u) && (u as number) >= min && (u as number) <= max,
    (u, c) =>
      Number.isSafeInteger(u) && (u as number) >= min && (u as number) <= max
        ? t.success(u as number)
        : t.failure(u, c, `must be an integer from ${min} to ${max}`),
    t.identity,
  )

/** One value, or a list of 1–`max` values (any of which may match). */
export const oneOrMany = <A>(item: t.Type<A, A, unknown>, max: number): t.Type<A | readonly A[], A | readonly A[], unknown> => {
  const validate = (u: unknown, c: t.Context): t.Validation<A | readonly A[]> => {
    if (!Array.isArray(u)) return item.validate(u, c)
    if (u.length === 0 || u.length > max) return t.failure(u, c, `must be a value or a list of 1 to ${max} values (got ${u.length})`)
    for (let i = 0; i < u.length; i++) {
      const r = item.validate(u[i], t.appendContext(c, String(i), item, u[i]))
      if (E.isLeft(r)) return r
    }
    return t.success(u as readonly A[])
  }
  return new t.Type(`${item.name} | Array<${item.name}>`, (u): u is A | readonly A[] => E.isRight(validate(u, [])), validate, t.identity)
}

/** A list of at most `max` values. */
export const boundedArray = <A>(item: t.Type<A, A, unknown>, max: number): t.Type<readonly A[], readonly A[], unknown> => {
  const validate = (u: unknown, c: t.Context): t.Validation<readonly A[]> => {
    if (!Array.isArray(u)) return t.failure(u, c, 'must be a list')
    if (u.length > max) return t.failure(u, c, `must hold at most ${max} entries (got ${u.length})`)
    for (let i = 0; i < u.length; i++) {
      const r = item.validate(u[i], t.appendContext(c, String(i), item, u[i]))
      if (E.isLeft(r)) return r
    }
    return t.success(u as readonly A[])
  }
  return new t.Type(`Array<${item.name}>`, (u): u is readonly A[] => E.isRight(validate(u, [])), validate, t.identity)
}

type Required<P extends t.Props> = { readonly [K in keyof P]: t.TypeOf<P[K]> }
type Optional<O extends t.Props> = { readonly [K in keyof O]?: t.TypeOf<O[K]> }

/**
 * An object with `required` and `optional` fields and no other: an unknown field is a failure
 * naming it. `check` runs last, over the whole decoded object (cross-field rules). An optional
 * field set to `undefined` counts as absent and is left out of the result.
 */
export const closedObject = <P extends t.Props, O extends t.Props>(
  name: string,
  required: P,
  optional: O,
  check: (a: Required<P> & Optional<O>) => string | undefined = () => undefined,
): t.Type<Required<P> & Optional<O>, Required<P> & Optional<O>, unknown> => {
  type A = Required<P> & Optional<O>
  const known = [...Object.keys(required), ...Object.keys(optional)]
  const validate = (u: unknown, c: t.Context): t.Validation<A> => {
    if (!isRecord(u)) return t.failure(u, c, 'must be an object')
    for (const k of Object.keys(u)) {
      if (!has(required, k) && !has(optional, k)) {
        return t.failure(u[k], t.appendContext(c, k, t.unknown, u[k]), `is not a known field (known: ${known.join(', ')})`)
      }
    }
    const out: Record<string, unknown> = {}
    const fields: ReadonlyArray<readonly [string, t.Mixed, boolean]> = [
      ...Object.entries(required).map(([k, codec]) => [k, codec, true] as const),
      ...Object.entries(optional).map(([k, codec]) => [k, codec, false] as const),
    ]
    for (const [k, codec, isRequired] of fields) {
      const v = u[k]
      if (v === undefined) {
        if (isRequired) return t.failure(v, t.appendContext(c, k, codec, v), 'is required')
        continue
      }
      const r = codec.validate(v, t.appendContext(c, k, codec, v))
      if (E.isLeft(r)) return r
      out[k] = r.right
    }
    const p = check(out as A)
    return p === undefined ? t.success(out as A) : t.failure(u, c, p)
  }
  return new t.Type<A, A, unknown>(name, (u): u is A => E.isRight(validate(u, [])), validate, t.identity)
}

/** The first failure as `path message` (`match.eventType[1] must not be empty`), for a `BAD_REQUEST`. */
export const describeFailure = (errors: t.Errors, root: string): { readonly path: string; readonly message: string } => {
  const first = errors[0]
  if (first === undefined) return { path: root, message: `${root} is invalid` }
  let path = root
  for (const entry of first.context) {
    if (entry.key === '') continue
    path += /^\d+$/.test(entry.key) ? `[${entry.key}]` : `.${entry.key}`
  }
  return { path, message: `${path} ${first.message ?? 'is invalid'}` }
}
