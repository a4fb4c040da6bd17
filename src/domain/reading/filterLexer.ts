import * as E from 'fp-ts/lib/Either.js'

/** Where in a text filter: the 0-based offset (UTF-16 code units) and 1-based line and column. */
export interface TextPosition {
  readonly offset: number
  readonly line: number
  readonly column: number
}

/** A syntax error of the text form: where, what the parser expected there, and what it found. */
export interface TextFault extends TextPosition {
  readonly expected: readonly string[]
  readonly found: string
  readonly message: string
}

export type Token =
  | { readonly kind: 'word'; readonly text: string; readonly at: number }
  | { readonly kind: 'path'; readonly path: string; readonly at: number }
  | { readonly kind: 'string'; readonly value: string; readonly at: number }
  | { readonly kind: 'number'; readonly value: number; readonly at: number }
  | { readonly kind: 'punct'; readonly text: '(' | ')' | ',' | '=' | '!=' | '>' | '>=' | '<' | '<='; readonly at: number }
  | { readonly kind: 'end'; readonly at: number }

export const positionOf = (text: string, offset: number): TextPosition => {
  let line = 1
  let lineStart = 0
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++
      lineStart = i + 1
    }
  }
  return { offset, line, column: offset - lineStart + 1 }
}

export const textFault = (text: string, offset: number, expected: readonly string[], found: string, why?: string): TextFault => {
  const p = positionOf(text, offset)
  const message = why ?? `expected ${expected.join(' or ')}, found ${found}`
  return { ...p, expected, found, message: `${message} at ${p.line}:${p.column} (offset ${offset})` }
}

const FIRST = /[A-Za-z_]/
const WORD = /[A-Za-z0-9_]/
const SEGMENT = /[A-Za-z0-9_$-]/
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y
const ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }

type Lexed<A> = E.Either<TextFault, { readonly value: A; readonly end: number }>

/** A JSON string literal starting at `i` (the opening quote). */
const stringAt = (text: string, i: number): Lexed<string> => {
  let out = ''
  let j = i + 1
  while (j < text.length) {
    const c = text[j] as string
    if (c === '"') return E.right({ value: out, end: j + 1 })
    if (c === '\\') {
      const n = text[j + 1]
      if (n === 'u') {
        const hex = text.slice(j + 2, j + 6)
        if (!/^[0-9A-Fa-f]{4}$/.test(hex)) return E.left(textFault(text, j, ['\\u and 4 hex digits'], JSON.stringify(text.slice(j, j + 6))))
        out += String.fromCharCode(parseInt(hex, 16))
        j += 6
        continue
      }
      const esc = n === undefined ? undefined : ESCAPES[n]
      if (esc === undefined) return E.left(textFault(text, j, ['an escape: \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX'], JSON.stringify(text.slice(j, j + 2))))
      out += esc
      j += 2
      continue
    }
    if (c.charCodeAt(0) < 0x20) return E.left(textFault(text, j, ['a printable character or an escape'], 'a control character'))
    out += c
    j++
  }
  return E.left(textFault(text, text.length, ['"'], 'the end of the text', 'unterminated string'))
}

/** A path or a word: a bare segment, then `.segment` or `."quoted segment"` parts. */
const wordAt = (text: string, i: number): Lexed<Token> => {
  let j = i
  while (j < text.length && WORD.test(text[j] as string)) j++
  const first = text.slice(i, j)
  if (text[j] !== '.') return E.right({ value: { kind: 'word', text: first, at: i }, end: j })
  const segments = [first]
  while (text[j] === '.') {
    j++
    if (text[j] === '"') {
      const s = stringAt(text, j)
      if (E.isLeft(s)) return s
      segments.push(s.right.value)
      j = s.right.end
      continue
    }
    const start = j
    while (j < text.length && SEGMENT.test(text[j] as string)) j++
    if (j === start) return E.left(textFault(text, j, ['a path segment'], describe(text, j)))
    segments.push(text.slice(start, j))
  }
  return E.right({ value: { kind: 'path', path: segments.join('.'), at: i }, end: j })
}

export const describe = (text: string, i: number): string => (i >= text.length ? 'the end of the text' : JSON.stringify(text.slice(i, i + 12)))

/** Splits a text filter into tokens; the first lexical error with its position. */
export const tokenize = (text: string): E.Either<TextFault, readonly Token[]> => {
  const out: Token[] = []
  let i = 0
  while (i < text.length) {
    const c = text[i] as string
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++
      continue
    }
    if (c === '(' || c === ')' || c === ',' || c === '=') {
      out.push({ kind: 'punct', text: c, at: i++ })
      continue
    }
    if (c === '!' || c === '<' || c === '>') {
      const two = text[i + 1] === '='
      if (c === '!' && !two) return E.left(textFault(text, i, ['!='], describe(text, i)))
      out.push({ kind: 'punct', text: (two ? `${c}=` : c) as '!=' | '<=' | '>=' | '<' | '>', at: i })
      i += two ? 2 : 1
      continue
    }
    if (c === '"') {
      const s = stringAt(text, i)
      if (E.isLeft(s)) return s
      out.push({ kind: 'string', value: s.right.value, at: i })
      i = s.right.end
      continue
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i
      const m = NUMBER.exec(text)
      if (m === null) return E.left(textFault(text, i, ['a number'], describe(text, i)))
      const value = Number(m[0])
      if (!Number.isFinite(value)) return E.left(textFault(text, i, ['a finite number'], m[0]))
      const end = i + m[0].length
      if (end < text.length && WORD.test(text[end] as string)) return E.left(textFault(text, end, ['a space or an operator after a number'], describe(text, end)))
      out.push({ kind: 'number', value: value === 0 ? 0 : value, at: i })
      i = end
      continue
    }
    if (FIRST.test(c)) {
      const w = wordAt(text, i)
      if (E.isLeft(w)) return w
      out.push(w.right.value)
      i = w.right.end
      continue
    }
    return E.left(textFault(text, i, ['a path, a value, an operator or a parenthesis'], describe(text, i)))
  }
  out.push({ kind: 'end', at: text.length })
  return E.right(out)
}
