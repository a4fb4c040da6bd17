/**
 * Event-type globs for policy rules (`order.*`, `*.deleted`, `billing.*.failed`).
 *
 * Semantics, exactly:
 * - `*` matches any run of zero or more characters, dots included: `order.*` matches
 *   `order.created` and `order.line.added` (and `order.`, which an event type may be);
 * - every other character matches only itself, case-sensitively. There is no `?`, no character
 *   class, no escape: the glob alphabet is the event-type alphabet plus `*`, so no character of
 *   an event type needs escaping;
 * - the whole type must match (a glob without `*` is an exact name).
 *
 * Matching never builds a regular expression. A glob is split once at its `*`s into literal
 * segments; a type matches when it starts with the first segment, ends with the last, and the
 * middle ones occur in order, without overlap, in between — each found at its leftmost position,
 * which is optimal for `*`-only patterns (a later occurrence can only leave less room). Cost: at
 * most one prefix test, one suffix test and one `indexOf` per segment, so O(|type| × |glob|) in
 * the worst case, ≤ 200 × 200 character comparisons with the length limits, and linear in
 * practice. No backtracking, so no pattern can make it blow up.
 */

/** Longest glob accepted: the longest event type (an exact-name glob must fit). */
export const MAX_GLOB_LENGTH = 200

const GLOB_RE = /^[A-Za-z*][A-Za-z0-9_.:*-]*$/

/**
 * Why `s` is not a glob, or `undefined` when it is one: 1–{@link MAX_GLOB_LENGTH} characters of
 * the event-type alphabet (`A–Z a–z 0–9 _ . : -`) and `*`, starting with a letter or `*` (like an
 * event type; a glob starting otherwise could match nothing). The length is checked before the
 * (constant) pattern runs.
 */
export const globProblem = (s: string): string | undefined => {
  if (s.length === 0) return 'must not be empty'
  if (s.length > MAX_GLOB_LENGTH) return `must be at most ${MAX_GLOB_LENGTH} characters (got ${s.length})`
  if (!GLOB_RE.test(s)) return 'must start with a letter or *, then only letters, digits, _ . : - and *'
  return undefined
}

/** A glob split at its `*`s, ready to test many types. */
export interface CompiledGlob {
  readonly glob: string
  /** The literal parts between `*`s; one part means no `*` at all. */
  readonly parts: readonly string[]
  /** Sum of the parts' lengths: no shorter type can match. */
  readonly minLength: number
}

export const compileGlob = (glob: string): CompiledGlob => {
  const parts = glob.split('*')
  return { glob, parts, minLength: parts.reduce((n, p) => n + p.length, 0) }
}

/** Whether `type` matches the glob (semantics above). Total; never throws. */
export const matchGlob = (g: CompiledGlob, type: string): boolean => {
  const { parts } = g
  if (parts.length === 1) return type === g.glob
  if (type.length < g.minLength) return false
  const first = parts[0] as string
  const last = parts[parts.length - 1] as string
  if (!type.startsWith(first) || !type.endsWith(last)) return false
  let pos = first.length
  const end = type.length - last.length
  for (let i = 1; i < parts.length - 1; i++) {
    const p = parts[i] as string
    if (p.length === 0) continue
    const at = type.indexOf(p, pos)
    if (at < 0 || at + p.length > end) return false
    pos = at + p.length
  }
  return true
}

/** `matchGlob(compileGlob(glob), type)`, for one-off tests. */
export const globMatches = (glob: string, type: string): boolean => matchGlob(compileGlob(glob), type)
