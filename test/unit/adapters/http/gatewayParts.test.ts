import * as E from 'fp-ts/lib/Either.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeWith } from '../../../../src/adapters/http/decode.js'
import { expectedFromHeaders } from '../../../../src/adapters/http/dataRoutes.js'
import { createGatewayAuth, credentialOf } from '../../../../src/adapters/http/gatewayAuth.js'
import { problemOf } from '../../../../src/adapters/http/problem.js'
import { AppendBody, QueryQuery } from '../../../../src/adapters/http/schemas.js'
import type { Authenticated } from '../../../../src/application/auth/authenticate.js'
import { quotaExceeded, unauthorized, wrongExpectedVersion } from '../../../../src/domain/streams/errors.js'
import type { TenantId } from '../../../../src/domain/streams/ids.js'

describe('problemOf', () => {
  it('carries the contract code, the status of the error table and the details as top-level members', () => {
    expect(problemOf(wrongExpectedVersion(3, 5), 'req-1')).toEqual({
      type: 'https://allsource.dev/problems/wrong-expected-version',
      title: 'Wrong expected version',
      status: 409,
      detail: 'expected version 3 but the stream is at 5',
      code: 'WRONG_EXPECTED_VERSION',
      expected: 3,
      actual: 5,
      instance: 'req-1',
    })
    expect(problemOf(quotaExceeded('appendsPerSecond', 10, 1500))).toMatchObject({ status: 429, code: 'QUOTA_EXCEEDED', limit: 10, retryAfterMs: 1500, quota: 'appendsPerSecond' })
  })
})

describe('decodeWith', () => {
  it('names the path of a wrong type, and tells a malformed id (INVALID_ID) from a wrong type (BAD_REQUEST)', () => {
    const wrong = decodeWith(AppendBody, { events: [{ type: 'ok', payload: 1 }, { type: 7, payload: 1 }] }, 'body')
    expect(E.isLeft(wrong) && wrong.left).toMatchObject({ _tag: 'BadRequest', details: { path: 'events[1].type' } })
    const id = decodeWith(AppendBody, { events: [{ type: 'no spaces', payload: 1 }] }, 'body')
    expect(E.isLeft(id) && id.left).toMatchObject({ _tag: 'InvalidId', field: 'events[0].type' })
    const missing = decodeWith(AppendBody, {}, 'body')
    expect(E.isLeft(missing) && missing.left).toMatchObject({ _tag: 'BadRequest', details: { path: 'events' } })
    const union = decodeWith(AppendBody, { events: [{ type: 'a', payload: 1 }], expectedVersion: -1 }, 'body')
    expect(E.isLeft(union) && union.left).toMatchObject({ _tag: 'BadRequest', details: { path: 'expectedVersion' } })
    const q = decodeWith(QueryQuery, { limit: '12' }, 'query')
    expect(q).toEqual(E.right({ limit: 12 }))
  })

  it('never throws, whatever the value', () => {
    fc.assert(
      fc.property(fc.anything(), (v) => {
        const r = decodeWith(AppendBody, v, 'body')
        if (E.isLeft(r)) expect(['BadRequest', 'InvalidId']).toContain(r.left._tag)
      }),
      { numRuns: 300 },
    )
  })
})

describe('expectedFromHeaders', () => {
  it('reads If-Match "n" (weak too), *, and If-None-Match *; refuses anything else', () => {
    expect(expectedFromHeaders('"4"', undefined)).toEqual(E.right(4))
    expect(expectedFromHeaders('W/"0"', undefined)).toEqual(E.right(0))
    expect(expectedFromHeaders('*', undefined)).toEqual(E.right('exists'))
    expect(expectedFromHeaders(undefined, '*')).toEqual(E.right('no_stream'))
    expect(expectedFromHeaders(undefined, undefined)).toEqual(E.right(undefined))
    for (const bad of ['4', '"x"', '"-1"', '"1", "2"']) expect(E.isLeft(expectedFromHeaders(bad, undefined))).toBe(true)
    expect(E.isLeft(expectedFromHeaders('"1"', '*'))).toBe(true)
  })
})

describe('gateway auth', () => {
  const acme: Authenticated = { identity: { tenant: 'acme' as TenantId, role: 'developer' }, principal: 'keyAAAAAAAAA' }
  const make = () => {
    const seen: unknown[] = []
    let now = 1_000
    const auth = createGatewayAuth({
      authenticate: async (c) => {
        seen.push(c)
        return c === 'good' ? E.right(acme) : E.left(unauthorized())
      },
      cacheTtlMs: 5_000,
      now: () => now,
    })
    return { auth, seen, advance: (ms: number) => (now += ms) }
  }

  it('reads Bearer and ApiKey credentials, nothing else', () => {
    expect(credentialOf('Bearer abc')).toBe('abc')
    expect(credentialOf('apikey as_x')).toBe('as_x')
    for (const bad of [undefined, '', 'Basic abc', 'Bearer', 'Bearer a b', `Bearer ${'x'.repeat(9000)}`]) expect(credentialOf(bad)).toBeUndefined()
  })

  it('authenticates once per TTL (cached by a hash), checks the permission table and the tenant, and forgets a principal at once', async () => {
    const { auth, seen, advance } = make()
    expect(await auth.authorizeHttp('ApiKey good', 'acme', 'append')).toEqual(E.right(acme))
    expect(await auth.authorizeHttp('ApiKey good', 'acme', 'read')).toEqual(E.right(acme))
    expect(seen).toEqual(['good'])
    expect(await auth.authorizeHttp('ApiKey good', 'globex', 'read')).toMatchObject({ left: { _tag: 'Forbidden', reason: 'tenant' } })
    expect(await auth.authorizeHttp('ApiKey good', 'acme', 'manageTenants')).toMatchObject({ left: { _tag: 'Forbidden', reason: 'role' } })
    expect(await auth.authorizeHttp('ApiKey good', 'a.b', 'read')).toMatchObject({ left: { _tag: 'InvalidId' } })
    advance(5_001)
    await auth.authorizeHttp('ApiKey good', 'acme', 'read')
    expect(seen).toEqual(['good', 'good'])
    auth.forget(acme.principal)
    await auth.authorizeHttp('ApiKey good', 'acme', 'read')
    expect(seen).toHaveLength(3)
    expect(await auth.authorizeHttp('ApiKey bad', 'acme', 'read')).toMatchObject({ left: { _tag: 'Unauthorized' } })
    expect(await auth.authorizeHttp(undefined, 'acme', 'read')).toMatchObject({ left: { _tag: 'Unauthorized' } })
  })

  it('is open with auth off, for any valid tenant', async () => {
    const off = createGatewayAuth(undefined)
    expect(await off.authorizeHttp(undefined, 'acme', 'manageTenants')).toEqual(E.right(undefined))
    expect(E.isLeft(await off.authorizeHttp(undefined, 'a b', 'read'))).toBe(true)
  })
})
