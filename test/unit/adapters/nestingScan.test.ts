import * as fc from 'fast-check'
import { headers, type Msg } from '@nats-io/transport-node'
import { pack } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { MAX_NESTING_DEPTH, scanNesting } from '../../../src/adapters/codec/nestingScan.js'
import { encodeMsgpack } from '../../../src/adapters/codec/msgpack.js'
import { decodeBody, encodeBody, formatOf } from '../../../src/adapters/nats/service/wireCodec.js'

const nested = (depth: number, leaf: unknown = 1): unknown => {
  let v: unknown = leaf
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? { a: v } : [v]
  return v
}
/** Built by hand: encoders recurse, so they cannot build a 10,000-level body. */
const deepMsgpack = (depth: number): Uint8Array =>
  new Uint8Array([...Array.from({ length: depth }, (_, i) => (i % 2 === 0 ? [0x91] : [0x81, 0xa1, 0x61])).flat(), 0x01])
const deepJson = (depth: number): Uint8Array => new TextEncoder().encode(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`)

describe('nesting scan', () => {
  it('passes bodies up to the limit and refuses deeper ones, in JSON and msgpack', () => {
    for (const [depth, ok] of [
      [MAX_NESTING_DEPTH, true],
      [MAX_NESTING_DEPTH + 1, false],
    ] as const) {
      expect(scanNesting('json', new TextEncoder().encode(JSON.stringify(nested(depth)))).ok).toBe(ok)
      expect(scanNesting('msgpack', encodeMsgpack(nested(depth))).ok).toBe(ok)
    }
  })

  it('refuses a 10,000-level body without recursing', () => {
    const json = decodeBody('json', deepJson(10_000))
    expect(json).toEqual({ ok: false, message: `body is nested deeper than ${MAX_NESTING_DEPTH} levels` })
    const arrays = new Uint8Array(10_001).fill(0x91)
    arrays[10_000] = 0x01
    expect(decodeBody('msgpack', arrays).ok).toBe(false)
    expect(decodeBody('msgpack', deepMsgpack(10_000)).ok).toBe(false)
  })

  it('does not count brackets inside JSON strings', () => {
    const body = new TextEncoder().encode(JSON.stringify({ s: '['.repeat(500), t: '\\"{{{{' }))
    expect(scanNesting('json', body, 3).ok).toBe(true)
  })

  it('agrees with the real depth of any value msgpackr encodes', () => {
    const depthOf = (v: unknown): number =>
      Array.isArray(v) ? 1 + Math.max(0, ...v.map(depthOf)) : v !== null && typeof v === 'object' && !(v instanceof Date) ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 1, max: 8 }), (v, max) => {
        expect(scanNesting('msgpack', encodeMsgpack(v), max).ok).toBe(depthOf(v) <= max)
        expect(scanNesting('json', new TextEncoder().encode(JSON.stringify(v)), max).ok).toBe(depthOf(v) <= max)
      }),
    )
  })

  it('refuses msgpack extension types other than the timestamp (a Set, a RegExp, a BigInt extension)', () => {
    const set = new Uint8Array([0xd4, 0x73, 0x00, 0x91, 0x01])
    expect(decodeBody('msgpack', set)).toMatchObject({ ok: false, message: expect.stringMatching(/extension type 115/) })
    expect(decodeBody('msgpack', new Uint8Array([0xc7, 0x01, 0x42, 0x05])).ok).toBe(false)
    expect(decodeBody('msgpack', encodeMsgpack({ at: new Date(0) }))).toEqual({ ok: true, value: { at: new Date(0) } })
  })

  it('ends on truncated input without throwing (the decoder refuses it)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(() => scanNesting('msgpack', bytes)).not.toThrow()
        expect(() => decodeBody('msgpack', bytes)).not.toThrow()
      }),
    )
  })
})

describe('big integers in JSON replies', () => {
  it('carries an int64 from a msgpack request as a number when safe, as a decimal string otherwise', () => {
    const small = new Uint8Array([0x81, 0xa1, 0x61, 0xd3, 0, 0, 0, 0, 0, 0, 0, 5])
    const big = new Uint8Array([0x81, 0xa1, 0x61, 0xcf, 0xff, 0, 0, 0, 0, 0, 0, 5])
    const decoded = [decodeBody('msgpack', small), decodeBody('msgpack', big)].map((r) => (r.ok ? r.value : r.message))
    expect(decoded).toEqual([{ a: 5n }, { a: 18374686479671623685n }])
    expect(new TextDecoder().decode(encodeBody('json', decoded))).toBe('[{"a":5},{"a":"18374686479671623685"}]')
    expect(new TextDecoder().decode(encodeBody('json', { n: -(2n ** 63n) }))).toBe('{"n":"-9223372036854775808"}')
    expect(pack({ a: 5n })).toBeInstanceOf(Uint8Array)
  })
})

describe('request format', () => {
  const msg = (data: Uint8Array, contentType?: string): Msg => {
    const h = headers()
    if (contentType !== undefined) h.set('Content-Type', contentType)
    return { data, headers: contentType === undefined ? undefined : h } as unknown as Msg
  }
  it('reads a body without Content-Type that starts with { as JSON, else as the header says', () => {
    const text = new TextEncoder().encode(' {"events":[]}')
    expect(formatOf(msg(text))).toBe('json')
    expect(formatOf(msg(encodeMsgpack({ events: [] })))).toBe('msgpack')
    expect(formatOf(msg(text, 'application/msgpack'))).toBe('msgpack')
    expect(formatOf(msg(encodeMsgpack({}), 'application/json; charset=utf-8'))).toBe('json')
  })
})
