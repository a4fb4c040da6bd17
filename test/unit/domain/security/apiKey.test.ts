import * as E from 'fp-ts/lib/Either.js'
import fc from 'fast-check'
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import {
  API_KEY_LENGTH,
  ApiKeyRecord,
  type ApiKeyId,
  BASE62,
  type KeyHash,
  checksumOf,
  formatApiKey,
  isUsable,
  markUsed,
  newApiKeyRecord,
  parseApiKey,
  revoke,
  viewOf,
} from '../../../../src/domain/security/apiKey.js'
import { secret } from '../../../../src/domain/security/secret.js'
import type { TenantId } from '../../../../src/domain/streams/ids.js'
import type { IsoTimestamp } from '../../../../src/domain/tenants/tenant.js'

const keyId = 'AbC123xyZ789' as ApiKeyId
const secretPart = 'S'.repeat(10) + '0123456789abcdefghijABCDEFGHIJ012' // 43
const at = (s: string) => s as IsoTimestamp
const rec = newApiKeyRecord({
  keyId,
  tenant: 'acme' as TenantId,
  role: 'service',
  hash: 'h'.repeat(43) as KeyHash,
  createdAt: at('2026-12-04T13:00:00.000Z'),
})
const base62Char = fc.constantFrom(...BASE62.split(''))
const base62 = (n: number) => fc.array(base62Char, { minLength: n, maxLength: n }).map((cs) => cs.join(''))

describe('the key format', () => {
  it('formats as_<keyId>_<secret>_<checksum> and parses back', () => {
    const key = formatApiKey(keyId, secret(secretPart)).reveal()
    expect(key).toMatch(/^as_AbC123xyZ789_[0-9A-Za-z]{43}_[0-9A-Za-z]{6}$/)
    expect(key).toHaveLength(API_KEY_LENGTH)
    const parsed = parseApiKey(key)
    expect(E.isRight(parsed) && parsed.right.keyId).toBe(keyId)
    expect(E.isRight(parsed) && parsed.right.secret.reveal()).toBe(secretPart)
  })

  it('checksum is CRC-32 (IEEE) in 6 base62 characters', () => {
    // CRC-32("123456789") = 0xCBF43926 = 3421780262
    let n = 3421780262
    let expected = ''
    for (let i = 0; i < 6; i++) {
      expected = BASE62[n % 62] + expected
      n = Math.floor(n / 62)
    }
    expect(checksumOf('123456789')).toBe(expected)
  })

  it('round-trips every keyId and secret', () => {
    fc.assert(
      fc.property(base62(12), base62(43), (id, s) => {
        const parsed = parseApiKey(formatApiKey(id as ApiKeyId, secret(s)).reveal())
        return E.isRight(parsed) && parsed.right.keyId === id && parsed.right.secret.reveal() === s
      }),
    )
  })

  it('refuses any single-character change (tampering, typos) and wrong prefixes, lengths and separators', () => {
    const key = formatApiKey(keyId, secret(secretPart)).reveal()
    fc.assert(
      fc.property(fc.nat(key.length - 1), fc.string({ minLength: 1, maxLength: 1 }), (i, c) => {
        fc.pre(key[i] !== c)
        return E.isLeft(parseApiKey(key.slice(0, i) + c + key.slice(i + 1)))
      }),
    )
    for (const bad of [key.replace('as_', 'xs_'), 'AS' + key.slice(2), key + 'A', key.slice(1), ` ${key}`, `${key}\n`, key.replace(/_/g, '-')]) {
      expect(parseApiKey(bad)).toEqual(E.left(expect.objectContaining({ _tag: 'MalformedApiKey' })))
    }
    expect(parseApiKey(key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A'))).toEqual(E.left({ _tag: 'MalformedApiKey', reason: 'checksum' }))
  })

  it('never throws on anything, and random strings never parse', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.string({ maxLength: 200 }), fc.string({ minLength: 66, maxLength: 66 })), (u) => {
        const r = parseApiKey(u)
        return E.isLeft(r) && !JSON.stringify(r.left).includes(typeof u === 'string' && u.length > 3 ? u : '\u0000never')
      }),
      { numRuns: 2000 },
    )
    // Well-formed parts with a random checksum: only 1 in 62^6 would pass.
    fc.assert(
      fc.property(base62(12), base62(43), base62(6), (id, s, c) => {
        fc.pre(checksumOf(`as_${id}_${s}`) !== c)
        return E.isLeft(parseApiKey(`as_${id}_${s}_${c}`))
      }),
    )
    expect(E.isLeft(parseApiKey('a'.repeat(10_000_000)))).toBe(true)
  })

  it('a parsed key prints its secret as [redacted]', () => {
    const key = formatApiKey(keyId, secret(secretPart))
    const parsed = parseApiKey(key.reveal())
    for (const v of [key, parsed]) {
      expect(JSON.stringify(v)).not.toContain(secretPart)
      expect(String(E.isRight(parsed) ? parsed.right.secret : '')).toBe('[redacted]')
      expect(inspect(v, { depth: 10, showHidden: true })).not.toContain(secretPart)
      expect(`${String(key)}`).toBe('[redacted]')
    }
  })
})

describe('the record and its rules', () => {
  it('the codec accepts a record unchanged and refuses an operator role or a bad hash', () => {
    const full = { ...rec, name: 'ci', expiresAt: at('2027-01-01T00:00:00.000Z'), lastUsedAt: at('2026-12-04T13:05:00.000Z') }
    expect(ApiKeyRecord.decode(full)).toEqual(E.right(full))
    expect(E.isLeft(ApiKeyRecord.decode({ ...rec, role: 'operator' }))).toBe(true)
    expect(E.isLeft(ApiKeyRecord.decode({ ...rec, hash: 'short' }))).toBe(true)
    expect(E.isLeft(ApiKeyRecord.decode({ ...rec, keyId: 'bad id' }))).toBe(true)
  })

  it('isUsable: revoked, expired (expiresAt is exclusive), or usable', () => {
    const now = new Date('2026-12-04T14:00:00.000Z')
    expect(isUsable(rec, now)).toEqual(E.right(rec))
    const revoked = revoke(rec, at('2026-12-04T13:30:00.000Z'))
    expect(isUsable(revoked, now)).toEqual(E.left({ _tag: 'KeyRevoked', keyId, at: '2026-12-04T13:30:00.000Z' }))
    const expiring = { ...rec, expiresAt: at('2026-12-04T14:00:00.000Z') }
    expect(isUsable(expiring, now)).toEqual(E.left({ _tag: 'KeyExpired', keyId, at: '2026-12-04T14:00:00.000Z' }))
    expect(E.isRight(isUsable(expiring, new Date(now.getTime() - 1)))).toBe(true)
    expect(isUsable({ ...revoked, expiresAt: at('2026-01-01T00:00:00.000Z') }, now)).toEqual(E.left(expect.objectContaining({ _tag: 'KeyRevoked' })))
  })

  it('revoke is idempotent: the first revokedAt stays', () => {
    const once = revoke(rec, at('2026-12-04T13:30:00.000Z'))
    expect(revoke(once, at('2026-12-04T15:00:00.000Z'))).toBe(once)
  })

  it('markUsed writes at most once a minute', () => {
    const used = markUsed(rec, at('2026-12-04T13:00:00.000Z'))
    expect(used.lastUsedAt).toBe('2026-12-04T13:00:00.000Z')
    expect(markUsed(used, at('2026-12-04T13:00:59.999Z'))).toBe(used)
    expect(markUsed(used, at('2026-12-04T13:01:00.000Z')).lastUsedAt).toBe('2026-12-04T13:01:00.000Z')
  })

  it('viewOf drops the hash', () => {
    expect(viewOf(rec)).not.toHaveProperty('hash')
    expect(viewOf(rec)).toEqual({ keyId, tenant: 'acme', role: 'service', createdAt: '2026-12-04T13:00:00.000Z' })
  })
})
