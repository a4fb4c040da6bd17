import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { decodeCommit, encodeCommit, typesHeader } from '../../../src/adapters/codec/commitCodec.js'
import { statusOf, toWireError } from '../../../src/adapters/nats/service/errorCodes.js'
import { decodeBody, encodeBody } from '../../../src/adapters/nats/service/wireCodec.js'
import { uuidv7 } from '../../../src/adapters/system/uuidv7.js'
import { storedAck } from '../../../src/adapters/nats/log/pipelinedPublisher.js'
import {
  badRequest,
  forbidden,
  illegalTransition,
  invalidId,
  quotaExceeded,
  tenantNotFound,
  tenantSuspended,
  tooLarge,
  unauthorized,
  validationFailed,
  wrongExpectedVersion,
} from '../../../src/domain/streams/errors.js'
import { internal, notFound, unavailable } from '../../../src/application/streams/errors.js'
import { commitOf } from '../../support/eventLogContract.js'

describe('commit codec', () => {
  it('round-trips a commit through msgpack, dates as dates', () => {
    const c = commitOf('acme', 'order-1', 4, 3)
    const back = decodeCommit(encodeCommit(c), 1)
    expect(back).toEqual(c)
    expect(back.events[0]?.timestamp).toBeInstanceOf(Date)
  })

  it('refuses a message that is not a commit, naming the offset', () => {
    expect(() => decodeCommit(encodeBody('msgpack', { hello: 1 }), 17)).toThrow(/offset 17/)
  })

  it('lists distinct types once, in order', () => {
    const c = commitOf('a', 'b', 0, 1)
    const e = c.events[0]!
    expect(typesHeader([e, { ...e, type: 'other' as never }, e])).toBe('thing.happened,other')
  })
})

describe('request bodies', () => {
  it('reports malformed msgpack and JSON, and an empty body, without throwing', () => {
    for (const bytes of [[0xc1], [0x81], [0x92, 0x01], [0x01, 0x02], [0xdc, 0xff]]) {
      expect(decodeBody('msgpack', new Uint8Array(bytes))).toMatchObject({ ok: false, message: expect.stringMatching(/malformed msgpack/) })
    }
    expect(decodeBody('json', new TextEncoder().encode('{"a":'))).toMatchObject({ ok: false, message: expect.stringMatching(/malformed JSON/) })
    expect(decodeBody('json', new Uint8Array(0))).toEqual({ ok: false, message: 'request body is empty' })
  })

  it('writes dates as ISO-8601 strings in JSON', () => {
    const body = JSON.parse(new TextDecoder().decode(encodeBody('json', { at: new Date(0) })))
    expect(body).toEqual({ at: '1970-01-01T00:00:00.000Z' })
  })
})

describe('error table', () => {
  it.each([
    [badRequest('x', { commitId: 'c' }), 'BAD_REQUEST', 400],
    [invalidId('stream', 'x'), 'INVALID_ID', 400],
    [validationFailed('x', [{ path: 'p', message: 'm' }]), 'VALIDATION_FAILED', 400],
    [wrongExpectedVersion('no_stream', 3), 'WRONG_EXPECTED_VERSION', 409],
    [tooLarge(2_000_000, 1_048_576), 'TOO_LARGE', 413],
    [unavailable('x', { commitId: 'c' }), 'UNAVAILABLE', 503],
    [internal('x'), 'INTERNAL', 500],
    [notFound('x'), 'NOT_FOUND', 404],
    [forbidden('role', 'x', { operation: 'append' }), 'FORBIDDEN', 403],
    [unauthorized(), 'UNAUTHORIZED', 401],
    [tenantNotFound('acme'), 'TENANT_NOT_FOUND', 404],
    [tenantSuspended('acme'), 'TENANT_SUSPENDED', 403],
    [quotaExceeded('appendsPerSecond', 10, 250), 'QUOTA_EXCEEDED', 429],
    [illegalTransition('acme', 'deleted', 'activate'), 'BAD_REQUEST', 400],
  ] as const)('maps %o to %s (%i)', (error, code, status) => {
    const wire = toWireError(error)
    expect(wire.code).toBe(code)
    expect(statusOf[wire.code]).toBe(status)
    expect(typeof wire.message).toBe('string')
  })

  it('carries expected and actual on WRONG_EXPECTED_VERSION', () => {
    expect(toWireError(wrongExpectedVersion(0, 4))).toMatchObject({ expected: 0, actual: 4 })
  })

  it('carries the details of the tenancy and access errors', () => {
    expect(toWireError(quotaExceeded('eventsPerDay', 10_000, 3_600_000))).toMatchObject({ quota: 'eventsPerDay', limit: 10_000, retryAfterMs: 3_600_000 })
    expect(toWireError(forbidden('policy', 'denied', { operation: 'append', rule: 'r1', event: 2 }))).toMatchObject({ reason: 'policy', operation: 'append', rule: 'r1', event: 2 })
    expect(toWireError(forbidden('role', 'no'))).not.toHaveProperty('event')
    expect(toWireError(forbidden('tenant', 'no'))).not.toHaveProperty('rule')
    expect(toWireError(tenantSuspended('acme'))).toMatchObject({ tenant: 'acme', message: 'tenant acme is suspended' })
    expect(toWireError(illegalTransition('acme', 'deleted', 'activate'))).toMatchObject({ target: 'acme', status: 'deleted', action: 'activate' })
  })

  it('keeps details but never lets them override code or message', () => {
    expect(toWireError(badRequest('real', { code: 'FAKE', message: 'fake' }))).toMatchObject({ code: 'BAD_REQUEST', message: 'real' })
    expect(E.right(1)).toEqual({ _tag: 'Right', right: 1 })
  })
})

describe('uuidv7', () => {
  it('has the version 7 and variant bits, and 36 chars', () => {
    const id = uuidv7()
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })

  it('carries the current time in its first 48 bits', () => {
    const before = Date.now()
    const ms = parseInt(uuidv7().replace(/-/g, '').slice(0, 12), 16)
    expect(ms).toBeGreaterThanOrEqual(before)
    expect(ms).toBeLessThanOrEqual(Date.now() + 1)
  })

  it('is strictly increasing when minted in a tight loop', () => {
    const ids = Array.from({ length: 10_000 }, () => uuidv7())
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true)
    expect(new Set(ids).size).toBe(ids.length)
  })
})

describe('JetStream ack reading', () => {
  it('reads the common acks without JSON, and leaves anything else to JSON.parse', () => {
    // As nats-server 2.10 formats them (spacing included).
    expect(storedAck('{"stream":"ALLSOURCE_EVENTS", "seq":42}')).toEqual({ _tag: 'Stored', seq: 42, duplicate: false })
    expect(storedAck('{"stream":"ALLSOURCE_EVENTS","seq": 42}')).toEqual({ _tag: 'Stored', seq: 42, duplicate: false })
    expect(storedAck('{"stream":"ALLSOURCE_EVENTS", "domain":"hub", "seq":9007199254740991}')).toEqual({ _tag: 'Stored', seq: 9007199254740991, duplicate: false })
    expect(storedAck('{"stream":"ALLSOURCE_EVENTS", "seq":1,"duplicate": true}')).toBeUndefined()
    expect(storedAck('{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 3"},"stream":"S","seq":0}')).toBeUndefined()
    expect(storedAck('{"stream":"S","error":{"code":503}}')).toBeUndefined()
    expect(storedAck('{"stream":"S","seq":"x"}')).toBeUndefined()
    expect(storedAck('not json')).toBeUndefined()
  })
})
