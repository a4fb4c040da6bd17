import { headers } from '@nats-io/transport-node'
import { describe, expect, it } from 'vitest'
import { WireHeaders } from '../../../src/adapters/nats/log/wireHeaders.js'

const decoder = new TextDecoder()

describe('WireHeaders', () => {
  const pairs = [
    ['Nats-Msg-Id', '0190c3a2-0000-7000-8000-000000000001'],
    ['Nats-Expected-Last-Subject-Sequence', '41'],
    ['AllSource-Types', 'order.placed,order.paid'],
    ['Content-Type', 'application/msgpack'],
  ] as const

  it('encodes exactly as nats.js does (the bytes the server parses)', () => {
    const theirs = headers()
    for (const [k, v] of pairs) theirs.append(k, v)
    const ours = WireHeaders.of(...pairs)
    expect(decoder.decode(ours.encode())).toBe(decoder.decode((theirs as unknown as { encode(): Uint8Array }).encode()))
    expect(ours.byteLength).toBe(ours.encode().length)
  })

  it('reads like MsgHdrs: get, has, values, keys, last, iteration, matching', () => {
    const h = WireHeaders.of(...pairs, ['X-Multi', 'a'], ['X-Multi', 'b'])
    expect(h.get('Nats-Msg-Id')).toBe(pairs[0][1])
    expect(h.get('nats-msg-id')).toBe('')
    expect(h.get('nats-msg-id', 'insensitive')).toBe(pairs[0][1])
    expect(h.get('nats-msg-id', 'canonical')).toBe(pairs[0][1])
    expect(h.has('X-Multi')).toBe(true)
    expect(h.values('X-Multi')).toEqual(['a', 'b'])
    expect(h.last('X-Multi')).toBe('b')
    expect(h.keys()).toEqual([...pairs.map(([k]) => k), 'X-Multi'])
    expect([...h].at(-1)).toEqual(['X-Multi', ['a', 'b']])
  })

  it('re-encodes after a change', () => {
    const h = WireHeaders.of(['Nats-Msg-Id', 'a'])
    const before = decoder.decode(h.encode())
    h.set('Nats-Msg-Id', 'b')
    expect(h.values('Nats-Msg-Id')).toEqual(['b'])
    expect(decoder.decode(h.encode())).toBe(before.replace(': a', ': b'))
    h.delete('Nats-Msg-Id')
    expect(h.has('Nats-Msg-Id')).toBe(false)
  })

  it('refuses what would break the frame: line breaks in values, bad names', () => {
    expect(() => WireHeaders.of(['Nats-Msg-Id', 'a\r\nX: y'])).toThrow(/cannot contain/)
    expect(() => WireHeaders.of(['Bad Name', 'v'])).toThrow(/invalid header name/)
    expect(() => WireHeaders.of(['Bad:Name', 'v'])).toThrow(/invalid header name/)
  })
})
