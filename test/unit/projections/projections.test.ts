import { describe, expect, it } from 'vitest'
import { entityState, eventCounter } from '../../../src/domain/projections/builtins.js'
import type { NatsConnection } from '@nats-io/transport-node'
import { startProjection } from '../../../src/adapters/nats/projections/projectionRunner.js'
import type { Filter } from '../../../src/domain/reading/filter.js'
import { after, foldAll, isProjectionKey, isProjectionName, type ProjectedEvent } from '../../../src/domain/projections/projection.js'

let n = 0
const ev = (type: string, stream: string, payload: unknown, at = '2026-11-24T10:15:30Z', tenant = 'acme'): ProjectedEvent =>
  ({ id: `e-${++n}`, type, version: n, timestamp: new Date(at), payload, tenant, stream, offset: n }) as ProjectedEvent

describe('projections (pure)', () => {
  it('entity-state merges payloads in order, per tenant and stream', () => {
    const m = foldAll(entityState, [ev('a', 's-1', { x: 1, y: 1 }), ev('b', 's-1', { y: 2 }), ev('a', 's-2', 'not an object'), ev('a', 's-1', { z: 3 }, undefined, 'other')])
    expect(m).toEqual(new Map<string, unknown>([['acme.s-1', { x: 1, y: 2 }], ['acme.s-2', {}], ['other.s-1', { z: 3 }]]))
  })

  it('a projection with where folds only the events the filter accepts', () => {
    const big = { ...eventCounter, name: 'big-orders', where: { and: [{ prefix: ['stream', 'order-'] }, { gt: ['payload.total', 40] }] } } as const
    const m = foldAll(big, [ev('a', 'order-1', { total: 50 }), ev('a', 'order-2', { total: 10 }), ev('b', 'cart-1', { total: 90 }), ev('b', 'order-3', { total: 41 }), ev('a', 'order-4', {})])
    expect(m).toEqual(new Map([['acme.a', { count: 1 }], ['acme.b', { count: 1 }]]))
  })

  it('a projection with an invalid where is refused when it starts, before any I/O', async () => {
    const bad = { ...eventCounter, name: 'bad', where: { or: [{ gt: ['payload.total'] }] } as unknown as Filter }
    await expect(startProjection({} as NatsConnection, bad)).rejects.toThrow('projection "bad": where: or[0].gt: gt takes [path, value]')
  })

  it('event-counter counts per type', () => {
    const m = foldAll(eventCounter, [ev('a', 's', 1), ev('b', 's', 1), ev('a', 't', 1)])
    expect(m.get('acme.a')).toEqual({ count: 2 })
    expect(m.get('acme.b')).toEqual({ count: 1 })
  })

  it('filters by type, category and tenant, and skips events without a key', () => {
    const def = { ...eventCounter, filter: { types: ['a'], categories: ['user'], tenants: ['acme'] } }
    const m = foldAll(def, [ev('a', 'user-1', 1), ev('b', 'user-1', 1), ev('a', 'order-1', 1), ev('a', 'user-2', 1, undefined, 'other')])
    expect(m).toEqual(new Map([['acme.a', { count: 1 }]]))
    expect(foldAll({ ...eventCounter, key: () => undefined }, [ev('a', 's', 1)]).size).toBe(0)
  })

  it('orders positions by offset, then index in the commit', () => {
    expect(after({ offset: 5, index: 0 }, undefined)).toBe(true)
    expect(after({ offset: 5, index: 1 }, { offset: 5, index: 0 })).toBe(true)
    expect(after({ offset: 5, index: 0 }, { offset: 5, index: 0 })).toBe(false)
    expect(after({ offset: 4, index: 9 }, { offset: 5, index: 0 })).toBe(false)
  })

  it('checks names and keys', () => {
    expect(isProjectionName('entity-state')).toBe(true)
    expect(isProjectionName('a.b')).toBe(false)
    expect(isProjectionKey('user.created')).toBe(true)
    expect(isProjectionKey('a b')).toBe(false)
    expect(isProjectionKey('a.')).toBe(false)
    expect(isProjectionKey('a..b')).toBe(false)
    expect(isProjectionKey('*')).toBe(false)
  })
})
