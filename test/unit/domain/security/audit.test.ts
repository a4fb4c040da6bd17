import * as E from 'fp-ts/lib/Either.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type AuditDraft, AuditEntry, auditActions, toAuditEntry } from '../../../../src/domain/security/audit.js'
import { type ApiKeyId, BASE62, formatApiKey } from '../../../../src/domain/security/apiKey.js'
import { isSecretName, looksSecret } from '../../../../src/domain/security/redaction.js'
import { secret } from '../../../../src/domain/security/secret.js'

const fallback = { id: '0190a8f0-0000-7000-8000-000000000001', at: new Date('2026-12-04T13:00:00.000Z') }
const entryOf = (d: AuditDraft) => {
  const r = toAuditEntry(d, fallback)
  if (E.isLeft(r)) throw new Error(r.left)
  return r.right
}

const chars = (alphabet: string, min: number, max: number) => fc.array(fc.constantFrom(...alphabet.split('')), { minLength: min, maxLength: max }).map((cs) => cs.join(''))
const base62 = (min: number, max = min) => chars(BASE62, min, max)
const B64URL = `${BASE62}-_`

/** A real API key, its secret part (what must never be stored), and the same for other credentials. */
const apiKey = fc.tuple(base62(12), base62(43)).map(([id, s]) => ({ text: formatApiKey(id as ApiKeyId, secret(s)).reveal(), core: s.slice(10, 34) }))
const refreshToken = base62(32, 48).map((s) => ({ text: `asr_${s}`, core: s.slice(4, 28) }))
const jwt = fc.tuple(chars(B64URL, 20, 40), chars(B64URL, 20, 80), chars(B64URL, 43, 43)).map(([h, p, s]) => ({ text: `eyJ${h}.eyJ${p}.${s}`, core: `${h}.eyJ${p}` }))
const nkeySeed = chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 56, 56).map((s) => ({ text: `SU${s}`, core: s.slice(8, 40) }))
const credential = fc.oneof(apiKey, refreshToken, jwt, nkeySeed)

/** Some text with a credential planted at a random place (glued to words or not). */
const withCredential = fc.tuple(fc.string({ maxLength: 600 }), credential, fc.string({ maxLength: 40 })).map(([a, c, b]) => ({ text: `${a}${c.text}${b}`, core: c.core }))
/** A plain-looking secret (a password): safe only because of the name of the field that holds it. */
const password = base62(16).map((s) => `pw${s}`)
const secretName = fc.constantFrom('password', 'newPassword', 'secret', 'clientSecret', 'token', 'refreshToken', 'accessToken', 'apiKey', 'api_key', 'key', 'keyMaterial', 'hash', 'pepper', 'seed', 'nkeySeed', 'privateKey', 'authorization', 'cookie', 'otp', 'jwt', 'passphrase')

describe('recognising secrets', () => {
  it('finds every kind of credential, wherever it is in a string', () => {
    fc.assert(fc.property(withCredential, ({ text }) => looksSecret(text)))
  })

  it('lets ordinary audit text through', () => {
    for (const s of [
      'role developer may not manageUsersAndKeys',
      'key:AbC123xyZ789',
      '0190a8f0-0000-7000-8000-000000000001',
      'has_value_and_alias_names',
      'basic validation failed',
      'token expired',
      'tenant acme is suspended',
      'alice@example.com',
      'quota eventsPerDay of 10000 is spent',
    ]) {
      expect(looksSecret(s), s).toBe(false)
    }
    for (const s of ['password=hunter2', 'Authorization: Bearer abcdefghijklmnopqrstuvwxyz', '$argon2id$v=19$m=65536', '-----BEGIN PRIVATE KEY-----', 'secret: x']) {
      expect(looksSecret(s), s).toBe(true)
    }
  })

  it('tells secret field names from public ones', () => {
    for (const n of ['password', 'newPassword', 'secret', 'token', 'refreshToken', 'apiKey', 'APIKey', 'api_key', 'key', 'keyMaterial', 'privateKey', 'hash', 'seed', 'authorization', 'auth', 'jwt']) {
      expect(isSecretName(n), n).toBe(true)
    }
    for (const n of ['keyId', 'keyIds', 'keyName', 'tokenType', 'authMethod', 'role', 'operation', 'quota', 'limit', 'retryAfterMs', 'expiresAt', 'username', 'subject']) {
      expect(isSecretName(n), n).toBe(false)
    }
  })
})

describe('toAuditEntry', () => {
  it('keeps a well-formed draft as it is, and the result round-trips through the codec unchanged', () => {
    const e = entryOf({
      id: 'req-entry-1',
      at: new Date('2026-12-05T10:11:12.345Z'),
      requestId: 'r-42',
      who: { kind: 'key', id: 'AbC123xyZ789', tenant: 'acme', role: 'admin' },
      tenant: 'acme',
      action: 'key.create',
      target: 'key:XyZ987abC321',
      outcome: 'succeeded',
      details: { role: 'service', keyId: 'XyZ987abC321', expiresAt: new Date('2027-01-01T00:00:00.000Z'), tags: ['a', 1, true, null] },
    })
    expect(e).toEqual({
      id: 'req-entry-1',
      at: '2026-12-05T10:11:12.345Z',
      requestId: 'r-42',
      who: { kind: 'key', id: 'AbC123xyZ789', tenant: 'acme', role: 'admin' },
      tenant: 'acme',
      action: 'key.create',
      target: 'key:XyZ987abC321',
      outcome: 'succeeded',
      details: { role: 'service', keyId: 'XyZ987abC321', expiresAt: '2027-01-01T00:00:00.000Z', tags: ['a', 1, true, null] },
    })
    const decoded = AuditEntry.decode(JSON.parse(JSON.stringify(e)))
    expect(E.isRight(decoded) && decoded.right).toEqual(e)
  })

  it('never stores a planted secret, wherever it is planted, and always gives a valid entry', () => {
    const draft = fc.record({
      whoId: fc.option(withCredential, { nil: undefined }),
      requestId: fc.option(withCredential, { nil: undefined }),
      target: fc.option(withCredential, { nil: undefined }),
      reason: fc.option(withCredential, { nil: undefined }),
      tenant: fc.option(refreshToken, { nil: undefined }),
      inDetail: fc.option(withCredential, { nil: undefined }),
      inArray: fc.option(withCredential, { nil: undefined }),
      asKey: fc.option(refreshToken, { nil: undefined }),
      named: fc.array(fc.tuple(secretName, password), { maxLength: 4 }),
      nested: fc.option(withCredential, { nil: undefined }),
      action: fc.constantFrom(...auditActions),
      filler: fc.dictionary(fc.string({ maxLength: 70 }), fc.oneof(fc.string({ maxLength: 300 }), fc.double(), fc.boolean()), { maxKeys: 20 }),
    })
    fc.assert(
      fc.property(draft, (p) => {
        const planted: string[] = []
        const plant = (c: { text: string; core: string } | undefined) => {
          if (c === undefined) return undefined
          planted.push(c.core)
          return c.text
        }
        const details: Record<string, unknown> = { ...p.filler }
        if (p.inDetail !== undefined) details.note = plant(p.inDetail)
        if (p.inArray !== undefined) details.items = ['ok', plant(p.inArray), 3]
        if (p.asKey !== undefined) details[plant(p.asKey) as string] = 'value'
        for (const [name, pw] of p.named) {
          details[name] = pw
          planted.push(pw)
        }
        if (p.nested !== undefined) details.nested = { deeper: plant(p.nested) }
        details.held = secret('pwSHOULDNEVERAPPEAR0001')
        planted.push('pwSHOULDNEVERAPPEAR0001')
        const d = {
          who: { kind: 'user', id: plant(p.whoId), tenant: 'acme' },
          tenant: plant(p.tenant),
          action: p.action,
          outcome: 'denied',
          requestId: plant(p.requestId),
          target: plant(p.target),
          reason: plant(p.reason),
          details,
          // Fields the draft type does not have are never copied.
          password: 'pwTOPLEVELFIELD0001',
        } as unknown as AuditDraft
        planted.push('pwTOPLEVELFIELD0001')
        const e = entryOf(d)
        const json = JSON.stringify(e)
        for (const s of planted) expect(json).not.toContain(s)
        expect(AuditEntry.is(e)).toBe(true)
        expect(E.isRight(AuditEntry.decode(JSON.parse(json)))).toBe(true)
        expect(json.length).toBeLessThan(12_000)
      }),
      { numRuns: 300 },
    )
  })

  it('lists what it redacted or dropped, and bounds every field', () => {
    const e = entryOf({
      who: { kind: 'key', id: 'as_AbC123xyZ789_xxxxxxxxxxxxxxxx', role: 'root' },
      tenant: 'not a tenant',
      action: 'auth.connect.refused',
      outcome: 'denied',
      reason: 'x'.repeat(2_000),
      details: { password: 'hunter2', keyId: 'AbC123xyZ789', deep: { a: 1 }, n: Number.NaN, list: Array.from({ length: 20 }, (_, i) => i) },
    })
    expect(e.who).toEqual({ kind: 'key', id: '[redacted]' })
    expect(e.tenant).toBeUndefined()
    expect(e.reason).toHaveLength(500)
    expect(e.details).toEqual({ keyId: 'AbC123xyZ789', list: Array.from({ length: 16 }, (_, i) => i) })
    expect(e.redacted).toEqual(['who.id', 'who.role', 'tenant', 'details.password', 'details.deep', 'details.n', 'details.list[16…]'])
  })

  it('refuses only an action or outcome outside its union, and never throws on hostile input', () => {
    expect(E.isLeft(toAuditEntry({ who: { kind: 'system' }, action: 'nope' as never, outcome: 'succeeded' }, fallback))).toBe(true)
    expect(E.isLeft(toAuditEntry({ who: { kind: 'system' }, action: 'key.create', outcome: 'maybe' as never }, fallback))).toBe(true)
    const hostile = Object.defineProperty({}, 'boom', {
      enumerable: true,
      get() {
        throw new Error('getter')
      },
    })
    const e = entryOf({ who: undefined as never, action: 'key.create', outcome: 'failed', details: hostile, at: new Date(Number.NaN), id: 'has space' })
    expect(e).toMatchObject({ id: fallback.id, at: fallback.at.toISOString(), who: { kind: 'anonymous' } })
    expect(e.redacted).toEqual(['who.kind', 'id', 'at', 'details.boom'])
  })

  it('the codec itself refuses an entry holding a secret', () => {
    const base = { id: 'e1', at: '2026-12-04T13:00:00.000Z', who: { kind: 'system' }, action: 'key.create', outcome: 'succeeded' }
    expect(AuditEntry.is(base)).toBe(true)
    expect(AuditEntry.is({ ...base, reason: 'the key was as_AbC123xyZ789_abcdefgh' })).toBe(false)
    expect(AuditEntry.is({ ...base, details: { password: 'x' } })).toBe(false)
    expect(AuditEntry.is({ ...base, details: { ok: { nested: 1 } } })).toBe(false)
    expect(AuditEntry.is({ ...base, tenant: 'asr_abcdefghijklmnopqrstuvwxyz' })).toBe(false)
    expect(AuditEntry.is({ ...base, who: { kind: 'user', id: 'eyJhbGciOiJFZERTQSJ9' } })).toBe(false)
  })
})
