import * as E from 'fp-ts/lib/Either.js'
import type * as t from 'io-ts'
import type { AppendError } from '../../application/streams/errors.js'
import { badRequest, invalidId } from '../../domain/streams/errors.js'

/** Codec kinds whose context keys are real path steps (object properties, array indexes). */
const CONTAINERS = new Set(['InterfaceType', 'PartialType', 'ArrayType', 'ReadonlyArrayType', 'DictionaryType', 'ExactType', 'StrictType'])

const describe = (u: unknown): string => (u === null ? 'null' : Array.isArray(u) ? 'an array' : typeof u === 'string' ? (u.length > 40 ? `a string of ${u.length} characters` : JSON.stringify(u)) : typeof u)

/**
 * The path of a validation error (`events[0].type`), and the codec it stopped at: the outermost
 * union on the way (its branches' own failures would mislead: "expectedVersion must be
 * ExpectedVersion", not "must be Version"), else the innermost codec.
 */
export const pathOf = (context: t.Context): { readonly path: string; readonly at: t.ContextEntry } => {
  let path = ''
  let at = context[context.length - 1] as t.ContextEntry
  for (let i = 1; i < context.length; i++) {
    const parent = context[i - 1] as t.ContextEntry
    const entry = context[i] as t.ContextEntry
    const tag = (parent.type as unknown as { _tag?: string })._tag ?? ''
    if (CONTAINERS.has(tag)) path += /^[0-9]+$/.test(entry.key) && tag.includes('Array') ? `[${entry.key}]` : path === '' ? entry.key : `.${entry.key}`
    if ((entry.type as unknown as { _tag?: string })._tag === 'UnionType') {
      at = entry
      break
    }
  }
  return { path, at }
}

/**
 * Decodes `value` (`what`: `body`, `query`) with `codec`. The first failure is a typed error with its
 * path: a value of the right base type that a branded id codec refuses is `INVALID_ID` (`field` =
 * the path), anything else (a missing field, a wrong type, a bad literal) `BAD_REQUEST` with
 * `path`. Never throws.
 */
export const decodeWith = <A>(codec: t.Decoder<unknown, A>, value: unknown, what: string): E.Either<AppendError, A> => {
  const r = codec.decode(value)
  if (E.isRight(r)) return r
  const first = r.left[0]
  if (first === undefined) return E.left(badRequest(`${what} is not valid`))
  const { path, at } = pathOf(first.context)
  const type = at.type as unknown as { _tag?: string; name: string; type?: t.Mixed }
  const where = path === '' ? what : path
  const got = describe(at.actual)
  if (type._tag === 'RefinementType' && type.type !== undefined && type.type.is(at.actual) && type.name !== 'Int') {
    return E.left(invalidId(where, `${where} is not a valid ${type.name}; got ${got}`))
  }
  const message = at.actual === undefined ? `${where} is required` : first.message !== undefined ? `${where} ${first.message}; got ${got}` : `${where} must be ${type.name}; got ${got}`
  return E.left(badRequest(message, { path: where }))
}
