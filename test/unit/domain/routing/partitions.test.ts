import { describe, expect, it } from 'vitest'
import { assignPartitions, partitionOf, partitionsOwnedBy } from '../../../../src/domain/routing/partitions.js'

describe('partitionOf', () => {
  it("gives what nats-server 2.15's {{partition(4,1,2)}} gave for these subjects (the integration test checks more against a live server)", () => {
    expect([partitionOf('t1', 's1', 4), partitionOf('t1', 's2', 4), partitionOf('t1', 's3', 4), partitionOf('t2', 's1', 4)]).toEqual([2, 3, 0, 3])
  })

  it('stays within the count and uses every partition over many streams', () => {
    const seen = new Set(Array.from({ length: 1_000 }, (_, i) => partitionOf('acme', `s-${i}`, 16)))
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, p) => p))
  })
})

describe('assignPartitions (rendezvous hashing)', () => {
  const members = ['proc-a-1x', 'proc-b-2y', 'proc-c-3z']

  it('gives every partition exactly one owner, whatever order the members are listed in', () => {
    const owners = assignPartitions(members, 64)
    expect(owners).toHaveLength(64)
    expect(assignPartitions([...members].reverse(), 64)).toEqual(owners)
    const mine = members.map((m) => partitionsOwnedBy(m, members, 64))
    expect(mine.reduce((n, s) => n + s.size, 0)).toBe(64)
    expect(new Set(mine.flatMap((s) => [...s])).size).toBe(64)
    // Each member gets a share (64 partitions over 3 members: not all on one or two).
    for (const s of mine) expect(s.size).toBeGreaterThan(0)
  })

  it('a member joining takes partitions only for itself; one leaving gives away only its own', () => {
    const before = assignPartitions(members, 64)
    const joined = assignPartitions([...members, 'proc-d-4w'], 64)
    joined.forEach((owner, p) => owner !== before[p] && expect(owner).toBe('proc-d-4w'))
    const left = assignPartitions(members.slice(1), 64)
    left.forEach((owner, p) => owner !== before[p] && expect(before[p]).toBe(members[0]))
  })

  it('a lone member owns everything; no member owns nothing; self counts as a member', () => {
    expect(new Set(assignPartitions(['only'], 8))).toEqual(new Set(['only']))
    expect(assignPartitions([], 8)).toEqual([])
    expect(partitionsOwnedBy('me', [], 8).size).toBe(8)
  })
})
