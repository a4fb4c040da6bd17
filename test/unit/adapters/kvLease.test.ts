import { errors } from '@nats-io/transport-node'
import type { KV, KvEntry } from '@nats-io/kv'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { KvLease } from '../../../src/adapters/nats/log/kvLease.js'

/** Just enough of a KV bucket for one lease key, with failures on demand. */
const fakeKv = () => {
  let entry: { revision: number; value: string } | undefined
  const state = { fail: undefined as Error | undefined, gets: 0 }
  const kv = {
    async get(): Promise<KvEntry | null> {
      state.gets++
      if (state.fail !== undefined) throw state.fail
      const e = entry
      if (e === undefined) return null
      return { revision: e.revision, operation: 'PUT', json: () => JSON.parse(e.value) as unknown } as unknown as KvEntry
    },
    async create(_k: string, v: string): Promise<number> {
      if (state.fail !== undefined) throw state.fail
      entry = { revision: 1, value: v }
      return 1
    },
    async update(_k: string, v: string, revision: number): Promise<number> {
      if (state.fail !== undefined) throw state.fail
      if (entry?.revision !== revision) throw new Error('wrong last sequence: 7')
      entry = { revision: revision + 1, value: v }
      return entry.revision
    },
    steal() {
      entry = { revision: (entry?.revision ?? 0) + 1, value: JSON.stringify({ owner: 'other', ttlMs: 1_000 }) }
    },
  }
  return { kv, state }
}

describe('KvLease and NATS failures', () => {
  afterEach(() => vi.useRealTimers())

  it('acquire keeps polling through failing gets (reported), and resolves once NATS answers', async () => {
    const { kv, state } = fakeKv()
    state.fail = new errors.TimeoutError()
    const seen: string[] = []
    const lease = new KvLease(kv as unknown as KV, 'ingest', 'me', 200, (m) => seen.push(m))
    const acquired = lease.acquire(new AbortController().signal)
    await vi.waitUntil(() => state.gets >= 3)
    state.fail = undefined
    await acquired
    expect(lease.isHeld()).toBe(true)
    expect(seen[0]).toMatch(/lease ingest: .*; retrying/)
  })

  it('renew rejects on a NATS failure (still held until the TTL runs out), and answers false only when someone else took the lease', async () => {
    vi.useFakeTimers()
    const { kv, state } = fakeKv()
    const lease = new KvLease(kv as unknown as KV, 'ingest', 'me', 1_000)
    await lease.acquire(new AbortController().signal)
    state.fail = new errors.TimeoutError()
    await expect(lease.renew()).rejects.toThrow()
    expect(lease.isHeld()).toBe(true)
    vi.advanceTimersByTime(1_000)
    expect(lease.isHeld()).toBe(false) // silent for a TTL: counts itself out
    state.fail = undefined
    expect(await lease.renew()).toBe(true) // nobody took it meanwhile: ours again
    expect(lease.isHeld()).toBe(true)
    kv.steal()
    expect(await lease.renew()).toBe(false)
    expect(lease.isHeld()).toBe(false)
  })
})
