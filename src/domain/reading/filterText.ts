import * as E from 'fp-ts/lib/Either.js'
import { comparisonOf, filterLimits, pathProblem, scalarOf, validateFilter, type Comparison, type Filter, type Scalar } from './filter.js'
import { textFault, tokenize, type TextFault, type Token } from './filterLexer.js'

/**
 * The text form of a filter (docs/querying.md), parsed by recursive descent into the same
 * `Filter` as the JSON form:
 *
 *   filter    := or
 *   or        := and ("or" and)*
 *   and       := unary ("and" unary)*
 *   unary     := "not" unary | "(" or ")" | "exists" path | predicate
 *   predicate := path ("=" | "!=" | ">" | ">=" | "<" | "<=") value
 *              | path "in" "(" [value ("," value)*] ")"
 *              | path "between" value "and" value
 *              | path "contains" value
 *              | path "prefix" string
 *   value     := string | number | "true" | "false" | "null"
 *
 * Keywords are case-insensitive; `true`, `false`, `null` are lower case. Precedence: not > and > or.
 */

const OPS: Readonly<Record<string, Comparison>> = { '=': 'eq', '!=': 'ne', '>': 'gt', '>=': 'gte', '<': 'lt', '<=': 'lte' }
const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'between', 'contains', 'exists', 'prefix'])
const LITERALS: Readonly<Record<string, Scalar>> = { true: true, false: false, null: null }

class Fail {
  constructor(readonly fault: TextFault) {}
}

const parser = (text: string, tokens: readonly Token[]) => {
  let i = 0
  let nodes = 0
  const peek = (): Token => tokens[i] as Token
  const found = (t: Token): string =>
    t.kind === 'end'
      ? 'the end of the text'
      : t.kind === 'string' || t.kind === 'number'
        ? JSON.stringify(t.value)
        : `"${t.kind === 'path' ? t.path : t.text}"`
  const fail = (t: Token, expected: readonly string[], why?: string): never => {
    throw new Fail(textFault(text, t.at, expected, found(t), why))
  }
  const isWord = (t: Token, w: string): boolean => t.kind === 'word' && t.text.toLowerCase() === w
  const count = (t: Token) => {
    if (++nodes > filterLimits.maxNodes) fail(t, [], `a filter has at most ${filterLimits.maxNodes} nodes`)
  }
  const keyword = (w: string) => {
    const t = peek()
    if (!isWord(t, w)) fail(t, [`"${w}"`])
    i++
  }

  const path = (): { readonly path: string; readonly at: Token } => {
    const t = peek()
    const p = t.kind === 'path' ? t.path : t.kind === 'word' && !KEYWORDS.has(t.text.toLowerCase()) && !(t.text in LITERALS) ? t.text : undefined
    if (p === undefined) return fail(t, ['a path (type, stream, version, offset, timestamp, id, payload.…, metadata.…)'])
    const problem = pathProblem(p)
    if (problem !== undefined) fail(t, [], problem)
    i++
    return { path: p, at: t }
  }

  const value = (forPath: string): Scalar => {
    const t = peek()
    const v: Scalar | undefined =
      t.kind === 'string' || t.kind === 'number' ? t.value : t.kind === 'word' && t.text in LITERALS ? LITERALS[t.text] : undefined
    if (v === undefined) return fail(t, ['a value (a "string", a number, true, false or null)'])
    const checked = scalarOf(v, forPath)
    if (E.isLeft(checked)) fail(t, [], checked.left)
    i++
    return v
  }

  const predicate = (): Filter => {
    const { path: p, at } = path()
    const t = peek()
    if (t.kind === 'punct' && t.text in OPS) {
      i++
      return comparisonOf(OPS[t.text] as Comparison, p, value(p))
    }
    if (isWord(t, 'in')) {
      i++
      const open = peek()
      if (!(open.kind === 'punct' && open.text === '(')) fail(open, ['"("'])
      i++
      const values: Scalar[] = []
      while (!(peek().kind === 'punct' && (peek() as { text: string }).text === ')')) {
        if (values.length > 0) {
          const comma = peek()
          if (!(comma.kind === 'punct' && comma.text === ',')) fail(comma, ['","', '")"'])
          i++
        }
        if (values.length >= filterLimits.maxInValues) fail(peek(), [], `in takes at most ${filterLimits.maxInValues} values`)
        values.push(value(p))
      }
      i++
      return { in: [p, values] }
    }
    if (isWord(t, 'between')) {
      i++
      const lo = value(p)
      keyword('and')
      return { between: [p, lo, value(p)] }
    }
    if (isWord(t, 'contains')) {
      if (p === 'timestamp') fail(at, [], 'contains applies to strings and arrays, not to timestamp')
      i++
      return { contains: [p, value(p)] }
    }
    if (isWord(t, 'prefix')) {
      if (p === 'timestamp') fail(at, [], 'prefix applies to strings, not to timestamp')
      i++
      const s = peek()
      if (s.kind !== 'string') return fail(s, ['a "string"'])
      value(p)
      return { prefix: [p, s.value] }
    }
    return fail(t, ['= != > >= < <=', 'in', 'between', 'contains', 'prefix'])
  }

  const unary = (depth: number): Filter => {
    const t = peek()
    // An "or" of "and"s sits at depth + 2 in the tree: stricter than the validator, never looser.
    if (depth + 2 > filterLimits.maxDepth) fail(t, [], `filters nest at most ${filterLimits.maxDepth} deep`)
    if (!(t.kind === 'punct' && t.text === '(')) count(t)
    if (isWord(t, 'not')) {
      i++
      return { not: unary(depth + 1) }
    }
    if (isWord(t, 'exists')) {
      i++
      return { exists: path().path }
    }
    if (t.kind === 'punct' && t.text === '(') {
      i++
      const f = or(depth + 2)
      const close = peek()
      if (!(close.kind === 'punct' && close.text === ')')) fail(close, ['"and"', '"or"', '")"'])
      i++
      return f
    }
    return predicate()
  }

  const chain = (op: 'and' | 'or', next: () => Filter): Filter => {
    const first = next()
    if (!isWord(peek(), op)) return first
    count(peek())
    const all = [first]
    while (isWord(peek(), op)) {
      i++
      all.push(next())
    }
    return op === 'and' ? { and: all } : { or: all }
  }
  const and = (depth: number): Filter => chain('and', () => unary(depth))
  const or = (depth: number): Filter => chain('or', () => and(depth))

  return () => {
    const f = or(0)
    const t = peek()
    if (t.kind !== 'end') fail(t, ['"and"', '"or"', 'the end of the text'])
    return f
  }
}

/**
 * Parses the text form into a `Filter` (the same one its JSON form validates to), or the first
 * error with its offset, line:column, what was expected and what was found. Never throws;
 * bounded by `filterLimits`.
 */
export const parseFilterText = (text: string): E.Either<TextFault, Filter> => {
  if (text.length > filterLimits.maxTextLength) return E.left(textFault(text, filterLimits.maxTextLength, [], 'more text', `a text filter has at most ${filterLimits.maxTextLength} characters`))
  const tokens = tokenize(text)
  if (E.isLeft(tokens)) return tokens
  let f: Filter
  try {
    f = parser(text, tokens.right)()
  } catch (e) {
    if (e instanceof Fail) return E.left(e.fault)
    throw e
  }
  // The parser checks as it goes; this only guards against the two drifting apart.
  const checked = validateFilter(f)
  return E.isLeft(checked) ? E.left(textFault(text, 0, [], 'the filter', `${checked.left.path}: ${checked.left.message}`)) : checked
}

const BARE = /^[A-Za-z0-9_$-]+$/
const printPath = (p: string): string => {
  const [root, ...rest] = p.split('.')
  return [root, ...rest.map((s) => (BARE.test(s) ? s : JSON.stringify(s)))].join('.')
}
const printValue = (v: Scalar): string => JSON.stringify(v)
const SYMBOLS: Readonly<Record<Comparison, string>> = { eq: '=', ne: '!=', gt: '>', gte: '>=', lt: '<', lte: '<=' }

/**
 * The text form of a filter: `parseFilterText(printFilter(f))` gives `f` back, except that an
 * `and` or `or` of a single filter prints as that filter.
 */
export const printFilter = (f: Filter): string => {
  const group = (g: Filter, inside: 'and' | 'or' | 'not'): string => {
    const kids = 'and' in g ? g.and : 'or' in g ? g.or : undefined
    if (kids === undefined) return printFilter(g)
    if (kids.length === 1) return group(kids[0] as Filter, inside)
    return 'and' in g && inside === 'or' ? printFilter(g) : `(${printFilter(g)})`
  }
  if ('and' in f) return f.and.map((g) => group(g, 'and')).join(' and ')
  if ('or' in f) return f.or.map((g) => group(g, 'or')).join(' or ')
  if ('not' in f) return `not ${group(f.not, 'not')}`
  if ('exists' in f) return `exists ${printPath(f.exists)}`
  if ('in' in f) return `${printPath(f.in[0])} in (${f.in[1].map(printValue).join(', ')})`
  if ('between' in f) return `${printPath(f.between[0])} between ${printValue(f.between[1])} and ${printValue(f.between[2])}`
  if ('contains' in f) return `${printPath(f.contains[0])} contains ${printValue(f.contains[1])}`
  if ('prefix' in f) return `${printPath(f.prefix[0])} prefix ${printValue(f.prefix[1])}`
  for (const op of Object.keys(SYMBOLS) as Comparison[]) {
    const c = (f as Partial<Record<Comparison, readonly [string, Scalar]>>)[op]
    if (c !== undefined) return `${printPath(c[0])} ${SYMBOLS[op]} ${printValue(c[1])}`
  }
  throw new Error(`printFilter: not a filter: ${JSON.stringify(f)}`)
}
