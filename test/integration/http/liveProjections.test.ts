import { describe, expect, it } from 'vitest'
import type WebSocket from 'ws'
import { connectLive, receive, withLiveFixture } from '../../support/liveGateway.js'

const KiB = 1024

const open = async (url: string, key: string): Promise<WebSocket> => {
  const r = await connectLive(url, { headers: { authorization: `ApiKey ${key}` } })
  if ('refused' in r) throw new Error(`refused: ${JSON.stringify(r.refused)}`)
  return r.ws
}

/** Waits until a message matching `p` has arrived (or the socket closed). */
const seen = async (rx: ReturnType<typeof receive>, p: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
  for (let n = 1; ; n++) {
    const got = await rx.until(n)
    const hit = got.find(p)
    if (hit !== undefined) return hit
    if (got.length < n) throw new Error(`closed before a matching message; got ${JSON.stringify(got).slice(0, 500)}`)
  }
}

describe('live projection changes over WebSocket (real processor, projections and nats-server)', () => {
  const fx = withLiveFixture({ maxBufferBytes: 256 * KiB, lowWaterBytes: 64 * KiB, stallMs: 600_000, heartbeatMs: 600_000 })

  const append = async (stream: string, events: { type: string; payload: unknown }[], tenant = 'acme') => {
    const r = await fx().app.append(tenant, stream, events)
    if (r._tag === 'Left') throw new Error(JSON.stringify(r.left))
    return r.right
  }

  it('changes arrive as { projection, tenant, key, state, offset }, filtered by key, and only the tenant’s', async () => {
    const key = await fx().auth.keyFor('acme', 'reader')
    const ws = await open(`${fx().gw.url}/v1/tenants/acme/projections/event-counter/live?key=p.one`, key)
    const rx = receive(ws)
    await append('pc-1', [{ type: 'p.one', payload: {} }], 'globex')
    await append('pc-1', [{ type: 'p.two', payload: {} }])
    const a = await append('pc-1', [{ type: 'p.one', payload: {} }])
    expect(await seen(rx, (m) => m.offset === a.offset)).toEqual({ projection: 'event-counter', tenant: 'acme', key: 'p.one', state: { count: 1 }, offset: a.offset })
    const b = await append('pc-2', [{ type: 'p.one', payload: {} }])
    expect(await seen(rx, (m) => m.offset === b.offset)).toMatchObject({ key: 'p.one', state: { count: 2 } })
    ws.close()
    expect(rx.messages.every((m) => m.key === 'p.one' && m.tenant === 'acme')).toBe(true)
  })

  it('a key prefix selects keys; fromOffset first sends the current state of every key changed since, then live changes', async () => {
    const key = await fx().auth.keyFor('acme', 'developer')
    const watch = await open(`${fx().gw.url}/v1/tenants/acme/projections/entity-state/live?prefix=cu-`, key)
    const wrx = receive(watch)
    const first = await append('cu-1', [{ type: 't', payload: { a: 1 } }])
    await append('cu-2', [{ type: 't', payload: { b: 2 } }])
    await append('other-1', [{ type: 't', payload: { c: 3 } }])
    const last = await append('cu-1', [{ type: 't', payload: { a: 4 } }])
    await seen(wrx, (m) => m.offset === last.offset)
    watch.close()
    expect(wrx.messages.every((m) => String(m.key).startsWith('cu-'))).toBe(true)

    // From the second offset: cu-1 (changed since) and cu-2, each once, with its current state.
    const ws = await open(`${fx().gw.url}/v1/tenants/acme/projections/entity-state/live?prefix=cu-&fromOffset=${first.offset + 1}`, key)
    const rx = receive(ws)
    const catchUp = await rx.until(2)
    expect([...catchUp].sort((x, y) => String(x.key).localeCompare(String(y.key)))).toEqual([
      { projection: 'entity-state', tenant: 'acme', key: 'cu-1', state: { a: 4 }, offset: last.offset },
      { projection: 'entity-state', tenant: 'acme', key: 'cu-2', state: { b: 2 }, offset: first.offset + 1 },
    ])
    const next = await append('cu-3', [{ type: 't', payload: { d: 5 } }])
    expect(await seen(rx, (m) => m.offset === next.offset)).toMatchObject({ key: 'cu-3', state: { d: 5 } })
    ws.close()
    // Past every offset: nothing of the past, only what comes.
    const none = await open(`${fx().gw.url}/v1/tenants/acme/projections/entity-state/live?prefix=cu-&fromOffset=${next.offset + 1}`, key)
    const nrx = receive(none)
    const later = await append('cu-1', [{ type: 't', payload: { e: 6 } }])
    expect(await nrx.until(1)).toEqual([{ projection: 'entity-state', tenant: 'acme', key: 'cu-1', state: { a: 4, e: 6 }, offset: later.offset }])
    none.close()
  })

  it('an unknown projection is 404, a bad name, key or prefix 400, before any upgrade', async () => {
    const key = await fx().auth.keyFor('acme', 'reader')
    const refusal = async (path: string) => {
      const r = await connectLive(`${fx().gw.url}${path}`, { headers: { authorization: `ApiKey ${key}` } })
      if (!('refused' in r)) {
        r.ws.close()
        throw new Error(`${path} was upgraded`)
      }
      expect(r.refused.contentType).toMatch(/^application\/problem\+json/)
      return [r.refused.status, r.refused.body.code]
    }
    expect(await refusal('/v1/tenants/acme/projections/no-such/live')).toEqual([404, 'NOT_FOUND'])
    expect(await refusal('/v1/tenants/acme/projections/bad.name/live')).toEqual([400, 'INVALID_ID'])
    expect(await refusal('/v1/tenants/acme/projections/entity-state/live?key=a..b')).toEqual([400, 'INVALID_ID'])
    expect(await refusal('/v1/tenants/acme/projections/entity-state/live?key=a*')).toEqual([400, 'INVALID_ID'])
    expect(await refusal('/v1/tenants/acme/projections/entity-state/live?prefix=%3E')).toEqual([400, 'INVALID_ID'])
    expect(await refusal('/v1/tenants/acme/projections/entity-state/live?key=a&prefix=a')).toEqual([400, 'BAD_REQUEST'])
    expect(await refusal('/v1/tenants/acme/projections/entity-state/live?fromOffset=-3')).toEqual([400, 'BAD_REQUEST'])
    expect(await refusal('/v1/tenants/acme/projections/entity-state/live?stream=x')).toEqual([400, 'BAD_REQUEST'])
  })

  it('a reader that never reads is dropped once its buffer passes the bound, and its buffer stays bounded', async () => {
    const key = await fx().auth.keyFor('acme', 'reader')
    const ws = await open(`${fx().tight.url}/v1/tenants/acme/projections/entity-state/live?prefix=slow-`, key)
    const rx = receive(ws)
    ws.pause()
    const dropped = fx().tight.live.stats().dropped
    // ~10 KiB per change, one change per stream: far more than loopback's ~4 MB of socket buffers.
    const big = 'y'.repeat(10 * KiB)
    for (let i = 0; i < 1_500 && fx().tight.live.stats().dropped === dropped; i++) await append(`slow-${i}`, [{ type: 't', payload: { big } }])
    await expect.poll(() => fx().tight.live.stats().dropped, { timeout: 60_000 }).toBe(dropped + 1)
    ws.resume()
    const { code, reason } = await rx.closed
    expect(code).toBe(1008)
    expect(reason).toBe('slow consumer: buffer over 256 KiB')
    const peak = fx().tight.live.stats().peakBufferedBytes
    expect(peak).toBeGreaterThan(256 * KiB)
    expect(peak).toBeLessThanOrEqual(256 * KiB + 12 * KiB)
    // Every change it got before the drop is whole and in order per key.
    expect(rx.messages.length).toBeGreaterThan(0)
    expect(rx.messages.every((m) => (m.state as { big: string }).big === big)).toBe(true)
  })
})
