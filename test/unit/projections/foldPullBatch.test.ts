import { describe, expect, it } from 'vitest'
import { foldPullBatchFor } from '../../../src/adapters/nats/projections/projectionFold.js'

describe('a fold pull is sized from the log average commit', () => {
  it('asks for 4,096 small commits, and an empty log counts as small', () => {
    expect(foldPullBatchFor({ messages: 0, bytes: 0 })).toBe(4_096)
    expect(foldPullBatchFor({ messages: 1_000_000, bytes: 300_000_000 })).toBe(4_096)
  })
  it('keeps about 32 MiB outstanding when commits are large, and never fewer than 16 commits', () => {
    expect(foldPullBatchFor({ messages: 100, bytes: 100 * 64 * 1024 })).toBe(512)
    expect(foldPullBatchFor({ messages: 10, bytes: 10 * 1024 * 1024 })).toBe(32)
    expect(foldPullBatchFor({ messages: 1, bytes: 8 * 1024 * 1024 })).toBe(16)
  })
})
