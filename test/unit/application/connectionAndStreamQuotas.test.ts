import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { CONNECTION_RETRY_MS, connectionQuota } from '../../../src/application/auth/authenticate.js'
import type { AppendResult } from '../../../src/application/streams/appendResult.js'
import { createStreamQuota, type StreamCatalog } from '../../../src/application/tenants/streamQuota.js'
import { type AppendCommand, validateAppendRequest } from '../../../src/domain/streams/appendRequest.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'
import { type IsoTimestamp, newTenant, type QuotaOverrides } from '../../../src/domain/tenants/tenant.js'

const tenantWith = (quotas: Record<string, number | null>) => newTenant('acme' as TenantId, '2030-01-01T00:00:00.000Z' as IsoTimestamp, { quotas: quotas as QuotaOverrides })
const command = (stream: string, expectedVersion?: unknown): AppendCommand => {
  const c = validateAppendRequest('acme', stream, { events: [{ type: 'x.y', payload: {} }], ...(expectedVersion !== undefined ? { expectedVersion } : {}) })
  if (E.isLeft(c)) throw new Error('command')
  return c.right
}

describe('connections quota', () => {
  it('refuses at the limit with QUOTA_EXCEEDED (quota, limit, retry hint); null never refuses', () => {
    const t = tenantWith({ connections: 2 })
    expect(E.isRight(connectionQuota(t, 0))).toBe(true)
    expect(E.isRight(connectionQuota(t, 1))).toBe(true)
    for (const live of [2, 3]) {
      expect(connectionQuota(t, live)).toEqual(E.left(expect.objectContaining({ _tag: 'QuotaExceeded', quota: 'connections', limit: 2, retryAfterMs: CONNECTION_RETRY_MS })))
    }
    expect(E.isRight(connectionQuota(tenantWith({ connections: null }), 1_000_000))).toBe(true)
    expect(E.isLeft(connectionQuota(tenantWith({ connections: 0 }), 0))).toBe(true)
  })
})

describe('streams quota', () => {
  const fixture = (streams: Set<string>, now = { ms: 0 }) => {
    const reads = { count: 0, exists: 0 }
    const catalog: StreamCatalog = {
      count: async () => {
        reads.count++
        return streams.size
      },
      exists: async (_t, s) => {
        reads.exists++
        return streams.has(s)
      },
    }
    return { quota: createStreamQuota({ catalog, clock: { now: () => new Date(now.ms) }, ttlMs: 1_000 }), reads, now }
  }
  const result = (stream: string, fromVersion: number): AppendResult => ({ tenant: 'acme', stream, offset: 1, fromVersion, toVersion: fromVersion, eventIds: ['e'] }) as unknown as AppendResult

  it('below the quota passes; at it, a new stream is refused with the limit and existing streams pass', async () => {
    const streams = new Set(['a', 'b'])
    const { quota, reads } = fixture(streams)
    const t = tenantWith({ streams: 2 })
    for (const ev of [undefined, 'no_stream', 0]) {
      const r = await quota.check(t, command('c', ev))
      expect(E.isLeft(r) && r.left).toMatchObject({ _tag: 'QuotaExceeded', quota: 'streams', limit: 2, retryAfterMs: 1_000 })
    }
    expect(E.isRight(await quota.check(t, command('a')))).toBe(true)
    expect(E.isRight(await quota.check(t, command('a', 3)))).toBe(true)
    expect(E.isRight(await quota.check(t, command('b', 'exists')))).toBe(true)
    expect(reads.count).toBe(1)
    expect(E.isRight(await quota.check(tenantWith({ streams: 3 }), command('c')))).toBe(true)
    expect(E.isRight(await quota.check(tenantWith({ streams: null }), command('z', 'no_stream')))).toBe(true)
  })

  it('a stream this processor starts counts at once; the count is read again after the TTL', async () => {
    const streams = new Set(['a'])
    const { quota, reads, now } = fixture(streams)
    const t = tenantWith({ streams: 2 })
    expect(E.isRight(await quota.check(t, command('b', 'no_stream')))).toBe(true)
    quota.appended(result('b', 1))
    quota.appended(result('a', 2))
    expect(E.isLeft(await quota.check(t, command('c', 'no_stream')))).toBe(true)
    streams.delete('a')
    now.ms += 1_000
    expect(E.isRight(await quota.check(t, command('c', 'no_stream')))).toBe(true)
    expect(reads.count).toBe(2)
  })

  it('a catalog that does not answer lets the append through', async () => {
    const quota = createStreamQuota({
      catalog: { count: () => Promise.reject(new Error('down')), exists: () => Promise.reject(new Error('down')) },
      clock: { now: () => new Date(0) },
    })
    expect(E.isRight(await quota.check(tenantWith({ streams: 0 }), command('a', 'no_stream')))).toBe(true)
  })
})
