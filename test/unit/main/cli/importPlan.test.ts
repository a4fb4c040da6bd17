import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { planImport } from '../../../../src/main/cli/importPlan.js'

const line = (stream: string, i: number) => JSON.stringify({ stream, type: 'imported', payload: { i } })

describe('planImport', () => {
  it('cuts each stream into commits in file order, with ids from the file hash and the first line', () => {
    const text = [line('a', 1), line('b', 2), '', line('a', 3), line('a', 4)].join('\n')
    const plan = planImport(text, 2)
    if (E.isLeft(plan)) throw new Error('expected a plan')
    expect(plan.right.events).toBe(4)
    const a = plan.right.streams.get('a') ?? []
    expect(a.map((b) => b.lines)).toEqual([[1, 4], [5]])
    expect(a.map((b) => b.events.map((e) => (e.payload as { i: number }).i))).toEqual([[1, 3], [4]])
    expect(a[0]?.commitId).toBe(`imp-${plan.right.hash.slice(0, 32)}-1`)
    expect(plan.right.streams.get('b')?.[0]?.commitId).toBe(`imp-${plan.right.hash.slice(0, 32)}-2`)
  })

  it('gives the same commit ids for the same file and batch, other ids for another file', () => {
    const text = [line('a', 1), line('a', 2)].join('\n')
    const ids = (t: string, batch: number) => {
      const p = planImport(t, batch)
      return E.isRight(p) ? [...p.right.streams.values()].flat().map((b) => b.commitId) : []
    }
    expect(ids(text, 10)).toEqual(ids(text, 10))
    expect(ids(`${text}\n`, 10)).not.toEqual(ids(text, 10))
    for (const id of ids(text, 1)) expect(id).toMatch(/^[!-~]{1,128}$/)
  })

  it('refuses a file with bad lines, naming each line, without echoing its content', () => {
    const text = [line('a', 1), 'nope', '{"stream":"x y","type":"t","payload":{}}', '{"stream":"a","type":"t"}', '{"stream":"a","type":"t","payload":null}', '{"stream":"secret-value","type":5,"payload":1}'].join('\n')
    const plan = planImport(text, 10)
    expect(E.isLeft(plan) && plan.left.map((e) => e.line)).toEqual([2, 3, 4, 5, 6])
    expect(JSON.stringify(plan)).not.toContain('secret-value')
  })
})
