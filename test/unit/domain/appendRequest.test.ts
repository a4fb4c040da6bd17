import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { validateAppendRequest } from '../../../src/domain/streams/appendRequest.js'
import { checkExpectedVersion } from '../../../src/domain/streams/expectedVersion.js'
import type { DomainError } from '../../../src/domain/streams/errors.js'

const ok = { events: [{ type: 'order.placed', payload: { total: 1 } }] }
const errorOf = (tenant: unknown, stream: unknown, body: unknown): DomainError => {
  const r = validateAppendRequest(tenant, stream, body, { maxEventsPerCommit: 3 })
  if (E.isRight(r)) throw new Error(`expected a rejection, got ${JSON.stringify(r.right)}`)
  return r.left
}

describe('validateAppendRequest', () => {
  it('accepts a valid request and defaults expectedVersion to "any"', () => {
    const r = validateAppendRequest('acme', 'order-1', ok)
    expect(r).toEqual(E.right({ tenant: 'acme', stream: 'order-1', events: ok.events, expectedVersion: 'any' }))
  })

  it('keeps metadata, event ids, commitId and each expectedVersion form', () => {
    for (const expectedVersion of [0, 7, 'any', 'no_stream', 'exists'] as const) {
      const body = { events: [{ type: 'a', payload: 1, metadata: { user: 'ann' }, id: 'e.1*>' }], expectedVersion, commitId: 'c-1' }
      const r = validateAppendRequest('acme', 's=1', body)
      expect(E.isRight(r) && r.right).toMatchObject({ expectedVersion, commitId: 'c-1', events: [{ metadata: { user: 'ann' }, id: 'e.1*>' }] })
    }
  })

  it.each([
    ['null', null],
    ['an array', [ok]],
    ['a string', 'events'],
    ['a number', 42],
    ['bytes', new Uint8Array([1])],
  ])('refuses a body that is %s with BAD_REQUEST', (_n, body) => {
    expect(errorOf('acme', 's', body)).toMatchObject({ _tag: 'BadRequest', message: 'request body must be an object' })
  })

  it.each([
    ['no events', {}, 'events is required'],
    ['events not an array', { events: 'x' }, 'events must be an array'],
    ['empty events', { events: [] }, 'events must not be empty'],
    ['an event that is not an object', { events: [1] }, 'events[0] must be an object'],
    ['an event without type', { events: [{ payload: 1 }] }, 'events[0].type is required'],
    ['payload missing', { events: [{ type: 'a' }] }, 'events[0].payload must be present and not null'],
    ['payload null', { events: [{ type: 'a', payload: null }] }, 'events[0].payload must be present and not null'],
    ['metadata not an object', { events: [{ type: 'a', payload: 1, metadata: 'x' }] }, 'events[0].metadata must be an object'],
    ['a repeated event id', { events: [{ type: 'a', payload: 1, id: 'x' }, { type: 'a', payload: 2, id: 'x' }] }, 'events[1].id repeats an id of this commit'],
  ])('refuses %s with BAD_REQUEST', (_n, body, message) => {
    expect(errorOf('acme', 's', body)).toEqual({ _tag: 'BadRequest', message })
  })

  it.each([-1, 1.5, 'latest', {}, null, '3'])('refuses expectedVersion %j with BAD_REQUEST', (expectedVersion) => {
    expect(errorOf('acme', 's', { ...ok, expectedVersion })._tag).toBe('BadRequest')
  })

  it('refuses more events than the maximum with TOO_LARGE in events', () => {
    const events = Array.from({ length: 4 }, () => ({ type: 'a', payload: 1 }))
    expect(errorOf('acme', 's', { events })).toMatchObject({ _tag: 'TooLarge', size: 4, max: 3, unit: 'events' })
  })

  it.each([
    ['a tenant with a dot', 'ac.me', 's', 'tenant'],
    ['a tenant with =', 'ac=me', 's', 'tenant'],
    ['an empty tenant', '', 's', 'tenant'],
    ['a 65-char tenant', 't'.repeat(65), 's', 'tenant'],
    ['a non-string tenant', 7, 's', 'tenant'],
    ['a stream with *', 'acme', 's*', 'stream'],
    ['a stream with >', 'acme', '>', 'stream'],
    ['a stream with a space', 'acme', 's 1', 'stream'],
    ['a stream with a dot', 'acme', 's.1', 'stream'],
    ['a 201-char stream', 'acme', 's'.repeat(201), 'stream'],
  ])('refuses %s with INVALID_ID', (_n, tenant, stream, field) => {
    expect(errorOf(tenant, stream, ok)).toMatchObject({ _tag: 'InvalidId', field })
  })

  it('accepts ids at their longest', () => {
    expect(E.isRight(validateAppendRequest('t'.repeat(64), 's'.repeat(200), { events: [{ type: 'a'.repeat(200), payload: 1, id: 'i'.repeat(128) }] }))).toBe(true)
  })

  it.each([
    ['a type with a space', { events: [{ type: 'a b', payload: 1 }] }, 'events[0].type'],
    ['a type with *', { events: [{ type: 'a*', payload: 1 }] }, 'events[0].type'],
    ['a type with >', { events: [{ type: 'a.>', payload: 1 }] }, 'events[0].type'],
    ['a type starting with a digit', { events: [{ type: '1a', payload: 1 }] }, 'events[0].type'],
    ['a 201-char type', { events: [{ type: 'a'.repeat(201), payload: 1 }] }, 'events[0].type'],
    ['an event id with a space', { events: [{ type: 'a', payload: 1, id: 'x y' }] }, 'events[0].id'],
    ['a 129-char event id', { events: [{ type: 'a', payload: 1, id: 'x'.repeat(129) }] }, 'events[0].id'],
    ['a non-string event id', { events: [{ type: 'a', payload: 1, id: 5 }] }, 'events[0].id'],
    ['a commitId with a space', { ...ok, commitId: 'c 1' }, 'commitId'],
    ['an empty commitId', { ...ok, commitId: '' }, 'commitId'],
  ])('refuses %s with INVALID_ID naming the field', (_n, body, field) => {
    expect(errorOf('acme', 's', body)).toMatchObject({ _tag: 'InvalidId', field })
  })
})

describe('checkExpectedVersion', () => {
  it.each([
    ['any', 0, true],
    ['any', 9, true],
    ['no_stream', 0, true],
    ['no_stream', 1, false],
    ['exists', 0, false],
    ['exists', 2, true],
    [3, 3, true],
    [3, 4, false],
    [0, 0, true],
  ] as const)('expected %j at version %i holds: %s', (expected, actual, holds) => {
    const r = checkExpectedVersion(expected as never, actual)
    expect(E.isRight(r)).toBe(holds)
    if (!holds) expect(r).toEqual(E.left({ _tag: 'WrongExpectedVersion', expected, actual }))
  })
})
