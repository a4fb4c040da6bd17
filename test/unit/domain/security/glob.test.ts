import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_GLOB_LENGTH, compileGlob, globMatches, globProblem, matchGlob } from '../../../../src/domain/security/glob.js'

/** The definition, by brute force: `*` tries every length, anything else must be equal. */
const reference = (glob: string, s: string): boolean => {
  if (glob.length === 0) return s.length === 0
  if (glob[0] === '*') {
    for (let k = 0; k <= s.length; k++) if (reference(glob.slice(1), s.slice(k))) return true
    return false
  }
  return s.length > 0 && s[0] === glob[0] && reference(glob.slice(1), s.slice(1))
}

describe('event-type globs', () => {
  it.each([
    ['order.*', 'order.created', true],
    ['order.*', 'order.line.added', true],
    ['order.*', 'order', false],
    ['order.*', 'orders.created', false],
    ['*.deleted', 'user.deleted', true],
    ['*.deleted', 'user.deleted.v2', false],
    ['*', 'anything', true],
    ['order.created', 'order.created', true],
    ['order.created', 'Order.created', false],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'acb', false],
    ['ab*ba', 'aba', false],
    ['a**a', 'a', false],
    ['a**a', 'aa', true],
  ])('%s vs %s → %s', (glob, type, expected) => {
    expect(globProblem(glob)).toBeUndefined()
    expect(globMatches(glob, type)).toBe(expected)
  })

  it('agrees with the brute-force definition (small alphabet, so stars and repeats collide often)', () => {
    const text = (max: number) => fc.string({ unit: fc.constantFrom('a', 'b', '.'), maxLength: max })
    const glob = fc.string({ unit: fc.constantFrom('a', 'b', '.', '*'), maxLength: 8 })
    fc.assert(
      fc.property(glob, text(10), (g, s) => {
        expect(matchGlob(compileGlob(g), s)).toBe(reference(g, s))
      }),
      { numRuns: 5000 },
    )
  })

  it('refuses malformed globs with a reason, checking the length first', () => {
    expect(globProblem('')).toMatch(/empty/)
    expect(globProblem('a'.repeat(MAX_GLOB_LENGTH))).toBeUndefined()
    expect(globProblem('a'.repeat(MAX_GLOB_LENGTH + 1))).toMatch(/at most 200/)
    for (const bad of ['1abc', '.x', 'a b', 'a?', 'a[b]', 'a+', '(a)', 'a\\*', 'a/b', 'ü']) expect(globProblem(bad), bad).toBeDefined()
    for (const ok of ['*', '**', 'a', 'user:v2.*', 'x-y_z.*:*']) expect(globProblem(ok), ok).toBeUndefined()
  })

  it('stays cheap on the worst patterns the limits allow (no backtracking)', () => {
    const g = compileGlob(`${'*a'.repeat(99)}*b`)
    const s = 'a'.repeat(200)
    // Counts work, not time: matchGlob does one indexOf per segment, so 100 segments → one pass.
    expect(matchGlob(g, s)).toBe(false)
    expect(g.parts.length).toBe(101)
  })
})
