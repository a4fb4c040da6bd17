import * as crypto from 'node:crypto'
import { describe, expect, it, vi } from 'vitest'
import { createHmacApiKeyHasher } from '../../../src/adapters/crypto/hmacApiKeyHasher.js'
import type { KeyHash } from '../../../src/domain/security/apiKey.js'

// Wrap timingSafeEqual so the test can see that verification goes through it.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>()
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) }
})

describe('hmacApiKeyHasher: the comparison', () => {
  it('compares with crypto.timingSafeEqual on equal-length 32-byte buffers, for a match, a mismatch and a malformed hash', () => {
    const spy = vi.mocked(crypto.timingSafeEqual)
    const h = createHmacApiKeyHasher({ pepper: 'x'.repeat(32) })
    const { keyId, secret } = h.generate()
    const other = h.generate()
    const hash = h.hash(keyId, secret)
    const cases: readonly [KeyHash, boolean][] = [
      [hash, true],
      [h.hash(other.keyId, other.secret), false],
      ['short' as KeyHash, false],
    ]
    for (const [expected, result] of cases) {
      spy.mockClear()
      expect(h.verify(keyId, secret, expected)).toBe(result)
      expect(spy).toHaveBeenCalledTimes(1)
      const [a, b] = spy.mock.calls[0] as [Buffer, Buffer]
      expect(a.length).toBe(32)
      expect(b.length).toBe(32)
    }
  })
})
