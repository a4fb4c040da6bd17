import { errors } from '@nats-io/transport-node'
import { describe, expect, it } from 'vitest'
import { ConsumerUnavailable } from '../../../src/adapters/nats/reading/logConsumer.js'
import { failureOf } from '../../../src/adapters/nats/service/failureOf.js'
import { toWireError } from '../../../src/adapters/nats/service/errorCodes.js'

describe('failureOf: infrastructure failures are UNAVAILABLE, defects INTERNAL', () => {
  it.each([
    ['a timeout', new errors.TimeoutError()],
    ['no responders', new errors.NoRespondersError('$JS.API.STREAM.INFO.ALLSOURCE_EVENTS')],
    ['a closed connection', new errors.ClosedConnectionError()],
    ['a wrapped timeout', new errors.RequestError('request failed', { cause: new errors.TimeoutError() })],
    ['the consumer cap', new ConsumerUnavailable(64, 2_000)],
  ])('%s → UNAVAILABLE (503) with retryAfterMs', (_, e) => {
    const w = toWireError(failureOf(e))
    expect(w.code).toBe('UNAVAILABLE')
    expect(w.retryAfterMs).toBeGreaterThan(0)
  })

  it.each([
    ['a TypeError', new TypeError('x is not a function')],
    ['a RangeError', new RangeError('Maximum call stack size exceeded')],
    ['a thrown string', 'boom'],
  ])('%s → INTERNAL (500)', (_, e) => {
    expect(toWireError(failureOf(e)).code).toBe('INTERNAL')
  })
})
