import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { createStoredBytesQuota } from '../../../src/application/tenants/storedBytes.js'
import { type AppendCommand, validateAppendRequest } from '../../../src/domain/streams/appendRequest.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'
import { type IsoTimestamp, newTenant, type QuotaOverrides } from '../../../src/domain/tenants/tenant.js'

const tenantWith = (storedBytes: number | null) => newTenant('acme' as TenantId, '2030-01-01T00:00:00.000Z' as IsoTimestamp, { quotas: { storedBytes } as QuotaOverrides })
const command = (): AppendCommand => {
  const c = validateAppendRequest('acme', 's', { events: [{ type: 'x.y', payload: {} }] })
  if (E.isLeft(c)) throw new Error('command')
  return c.right
}

/** A quota over a log that holds `log.bytes`, commits of 100 bytes each, a clock at `now.ms`. */
const fixture = (log: { bytes: number; fail?: boolean }, now = { ms: 0 }) => {
  const reads = { n: 0 }
  const release: (() => void)[] = []
  const quota = createStoredBytesQuota({
    source: () => {
      reads.n++
      if (log.fail === true) return Promise.reject(new Error('down'))
      const answer = log.bytes
      return new Promise((resolve) => release.push(() => resolve(answer)))
    },
    size: () => 100,
    clock: { now: () => new Date(now.ms) },
    resyncMs: 1_000,
  })
  const settle = async () => {
    while (release.length > 0) release.shift()?.()
    await new Promise((r) => setImmediate(r))
  }
  return { quota, reads, now, settle }
}

describe('storedBytes quota', () => {
  it('seeds from the log once, counts each append in memory, and refuses the append that would pass the limit with used and limit', async () => {
    const { quota, reads, settle } = fixture({ bytes: 700 })
    const t = tenantWith(1_000)
    const first = quota.reserve(t, command())
    await settle()
    expect(E.isRight(await first)).toBe(true)
    expect(E.isRight(await quota.reserve(t, command()))).toBe(true)
    expect(E.isRight(await quota.reserve(t, command()))).toBe(true)
    expect(quota.used('acme')).toBe(1_000)
    const over = await quota.reserve(t, command())
    expect(E.isLeft(over) && over.left).toMatchObject({ _tag: 'QuotaExceeded', quota: 'storedBytes', limit: 1_000, used: 1_000, retryAfterMs: 1_000 })
    expect(E.isLeft(over) && over.left._tag === 'QuotaExceeded' && over.left.message).toMatch(/does not reset by itself: delete data or raise the quota/)
    expect(reads.n).toBe(1)
    expect(quota.used('acme')).toBe(1_000)
  })

  it('a released reservation is given back; a raised quota lets the next append through', async () => {
    const { quota, settle } = fixture({ bytes: 900 })
    const p = quota.reserve(tenantWith(1_000), command())
    await settle()
    const r = await p
    if (E.isLeft(r)) throw new Error('reserve')
    expect(E.isLeft(await quota.reserve(tenantWith(1_000), command()))).toBe(true)
    quota.release(r.right)
    expect(quota.used('acme')).toBe(900)
    expect(E.isRight(await quota.reserve(tenantWith(1_000), command()))).toBe(true)
    expect(E.isRight(await quota.reserve(tenantWith(1_100), command()))).toBe(true)
    expect(E.isLeft(await quota.reserve(tenantWith(1_100), command()))).toBe(true)
  })

  it('resyncs from the log after resyncMs without holding up the append, keeping appends made during the read', async () => {
    const log = { bytes: 0 }
    const { quota, reads, now, settle } = fixture(log)
    const t = tenantWith(10_000)
    const p = quota.reserve(t, command())
    await settle()
    await p
    expect(quota.used('acme')).toBe(100)
    now.ms = 1_000
    log.bytes = 5_000 // another processor appended meanwhile
    expect(E.isRight(await quota.reserve(t, command()))).toBe(true) // answered from memory; the read starts
    expect(reads.n).toBe(2)
    expect(E.isRight(await quota.reserve(t, command()))).toBe(true) // the read in flight is shared
    expect(reads.n).toBe(2)
    await settle()
    // The log's 5000, plus the two appends counted after the read began.
    expect(quota.used('acme')).toBe(5_200)
  })

  it('unlimited tenants cost nothing; a log that cannot be read lets the append through', async () => {
    const { quota, reads } = fixture({ bytes: 0 })
    expect(E.isRight(await quota.reserve(tenantWith(null), command()))).toBe(true)
    expect(reads.n).toBe(0)
    const down = fixture({ bytes: 0, fail: true })
    expect(E.isRight(await down.quota.reserve(tenantWith(1), command()))).toBe(true)
    expect(down.quota.used('acme')).toBeUndefined()
  })
})
