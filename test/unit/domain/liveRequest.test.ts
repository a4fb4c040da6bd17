import * as E from 'fp-ts/lib/Either.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { keyMatches, validateEventsLive, validateProjectionLive } from '../../../src/domain/reading/liveRequest.js'

const codeOf = (r: E.Either<{ _tag: string }, unknown>): string => (E.isLeft(r) ? r.left._tag : 'ok')

describe('live stream requests', () => {
  it('accepts the documented parameters and credential parameters, nothing else', () => {
    expect(validateEventsLive('acme', { fromOffset: '0', stream: 'order-1', type: 'order.placed', access_token: 'x' })).toEqual(
      E.right({ tenant: 'acme', fromOffset: 0, stream: 'order-1', type: 'order.placed' }),
    )
    expect(validateEventsLive('acme', {})).toEqual(E.right({ tenant: 'acme' }))
    expect(codeOf(validateEventsLive('acme', { from: '1' }))).toBe('BadRequest')
    expect(codeOf(validateEventsLive('acme', { fromOffset: ['1', '2'] }))).toBe('BadRequest')
    expect(codeOf(validateEventsLive('a b', {}))).toBe('InvalidId')
    expect(codeOf(validateEventsLive('acme', { stream: 'a>' }))).toBe('InvalidId')
    expect(codeOf(validateEventsLive('acme', { type: '9' }))).toBe('InvalidId')
    for (const bad of ['-1', '01', '1.0', '1e3', ' 1', '', '9007199254740992']) expect(codeOf(validateEventsLive('acme', { fromOffset: bad }))).toBe('BadRequest')
    expect(validateEventsLive('acme', { fromOffset: '9007199254740991' })).toEqual(E.right({ tenant: 'acme', fromOffset: Number.MAX_SAFE_INTEGER }))
  })

  it('projection requests: name, key or prefix (not both), fromOffset', () => {
    expect(validateProjectionLive('acme', 'event-counter', { key: 'user.created', fromOffset: '5' })).toEqual(
      E.right({ tenant: 'acme', projection: 'event-counter', key: 'user.created', fromOffset: 5 }),
    )
    expect(validateProjectionLive('acme', 'entity-state', { prefix: 'order.' })).toEqual(E.right({ tenant: 'acme', projection: 'entity-state', prefix: 'order.' }))
    expect(codeOf(validateProjectionLive('acme', 'a.b', {}))).toBe('InvalidId')
    expect(codeOf(validateProjectionLive('acme', 'p', { key: '.a' }))).toBe('InvalidId')
    expect(codeOf(validateProjectionLive('acme', 'p', { prefix: 'a*' }))).toBe('InvalidId')
    expect(codeOf(validateProjectionLive('acme', 'p', { key: 'a', prefix: 'a' }))).toBe('BadRequest')
    expect(codeOf(validateProjectionLive('acme', 'p', { stream: 's' }))).toBe('BadRequest')
  })

  it('never throws, and whatever it accepts is made of valid ids only', () => {
    const anything = fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 2 }), fc.constant(undefined))
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.dictionary(fc.constantFrom('fromOffset', 'stream', 'type', 'key', 'prefix', 'x'), anything), (tenant, name, q) => {
        const e = validateEventsLive(tenant, q)
        const p = validateProjectionLive(tenant, name, q)
        for (const r of [e, p]) if (E.isRight(r)) expect(r.right.tenant).toMatch(/^[A-Za-z0-9_-]{1,64}$/)
        if (E.isRight(e) && e.right.stream !== undefined) expect(e.right.stream).toMatch(/^[A-Za-z0-9_=-]{1,200}$/)
      }),
      { numRuns: 500 },
    )
  })

  it('key filters', () => {
    expect(keyMatches({}, 'a')).toBe(true)
    expect(keyMatches({ key: 'a.b' }, 'a.b')).toBe(true)
    expect(keyMatches({ key: 'a.b' }, 'a.bc')).toBe(false)
    expect(keyMatches({ prefix: 'a.' }, 'a.bc')).toBe(true)
    expect(keyMatches({ prefix: 'a.' }, 'ab')).toBe(false)
  })
})
