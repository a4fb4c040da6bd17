import * as E from 'fp-ts/lib/Either.js'
import { badRequest, type DomainError } from '../streams/errors.js'
import { validateFilter, type Filter } from './filter.js'
import { parseFilterText } from './filterText.js'

/**
 * Reads a `where` field: a filter in its JSON form (an object) or its text form (a string).
 * A fault is `BadRequest` whose details name the `field` and either the `path` of the fault in
 * the JSON form (`or[0].gt[1]`) or its `offset`, `line`, `column` and `expected` in the text.
 */
export const parseWhere = (u: unknown, field = 'where'): E.Either<DomainError, Filter> => {
  if (typeof u === 'string') {
    const r = parseFilterText(u)
    if (E.isRight(r)) return r
    const f = r.left
    return E.left(badRequest(`${field}: ${f.message}`, { field, offset: f.offset, line: f.line, column: f.column, expected: f.expected }))
  }
  const r = validateFilter(u)
  if (E.isRight(r)) return r
  const where = r.left.path === '' ? 'the filter' : r.left.path
  return E.left(badRequest(`${field}: ${where}: ${r.left.message}`, { field, path: r.left.path }))
}
