import { describe, expect, it } from 'vitest'
import { decodeMsgpack } from '../../../src/adapters/codec/msgpack.js'
import { toWireError } from '../../../src/adapters/nats/service/errorCodes.js'
import { OVERLOAD_RETRY_AFTER_MS } from '../../../src/adapters/nats/service/inFlightLimit.js'
import { createRefusalReplies, refusalMessage } from '../../../src/adapters/nats/service/refusalReply.js'
import { encodeBody } from '../../../src/adapters/nats/service/wireCodec.js'
import { unavailable } from '../../../src/application/streams/errors.js'

const fresh = (inFlight: number, limit: number) => toWireError(unavailable(refusalMessage(inFlight, limit), { retryAfterMs: OVERLOAD_RETRY_AFTER_MS }))

describe('overload refusal replies (built once per figures)', () => {
  it('is the same error and the same bytes a fresh build gives, in either format', () => {
    const replies = createRefusalReplies()
    for (const format of ['msgpack', 'json'] as const) {
      const r = replies.of(format, 1200, 1200)
      const error = fresh(1200, 1200)
      expect(r.error).toEqual({ code: 'UNAVAILABLE', message: 'overloaded: 1200 requests in flight (limit 1200); retry later', retryAfterMs: OVERLOAD_RETRY_AFTER_MS })
      expect(r.error).toEqual(error)
      expect(Buffer.from(r.body).equals(Buffer.from(encodeBody(format, { error })))).toBe(true)
      expect(r.lastError).toBe(`UNAVAILABLE: ${error.message}`)
    }
    expect(decodeMsgpack(replies.of('msgpack', 1200, 1200).body)).toEqual({ error: fresh(1200, 1200) })
  })

  it('reuses the reply while the figures stay the same, and builds a new one when they change', () => {
    const replies = createRefusalReplies()
    const a = replies.of('msgpack', 1024, 1024)
    expect(replies.of('msgpack', 1024, 1024)).toBe(a)
    // The other format has its own: it does not evict this one.
    const j = replies.of('json', 1024, 1024)
    expect(j).not.toBe(a)
    expect(replies.of('msgpack', 1024, 1024)).toBe(a)
    const b = replies.of('msgpack', 1025, 2048)
    expect(b).not.toBe(a)
    expect(b.error.message).toBe('overloaded: 1025 requests in flight (limit 2048); retry later')
    expect(replies.of('json', 1024, 1024)).toBe(j)
  })
})
