import { describe, expect, it } from 'vitest'
import type WebSocket from 'ws'
import type { ReplayedEvent } from '../../../src/adapters/nats/reading/replay.js'
import { cleanUp } from '../../support/cleanUp.js'
import { connectLive, liveGateway, receive, withLiveFixture } from '../../support/liveGateway.js'

const KiB = 1024

/** Opens a live socket or fails the test with the refusal. */
const open = async (url: string, key: string): Promise<WebSocket> => {
  const r = await connectLive(url, { headers: { authorization: `ApiKey ${key}` } })
  if ('refused' in r) throw new Error(`refused: ${JSON.stringify(r.refused)}`)
  return r.ws
}

const all = async (it: AsyncIterable<ReplayedEvent>): Promise<ReplayedEvent[]> => {
  const out: ReplayedEvent[] = []
  for await (const e of it) out.push(e)
  return out
}

/** The wire shape of a replayed event, as the live stream must send it. */
const wire = (e: ReplayedEvent): Record<string, unknown> => ({
  tenant: e.tenant,
  stream: e.stream,
  offset: e.offset,
  id: e.id,
  type: e.type,
  version: e.version,
  timestamp: e.timestamp.toISOString(),
  payload: e.payload,
  ...(e.metadata !== undefined ? { metadata: e.metadata } : {}),
})

describe('live events over WebSocket (real processor and nats-server)', () => {
  // Tight limits for the slow-consumer test; the default gateway serves every other test.
  const fx = withLiveFixture({ maxBufferBytes: 256 * KiB, lowWaterBytes: 64 * KiB, stallMs: 1_000, heartbeatMs: 600_000 })

  const append = async (stream: string, events: { type: string; payload: unknown; metadata?: Record<string, unknown> }[], tenant = 'acme') => {
    const r = await fx().app.append(tenant, stream, events)
    if (r._tag === 'Left') throw new Error(JSON.stringify(r.left))
    return r.right
  }

  it('a live tail (no fromOffset) gets what is appended after it opened, in order, as the query shape, and nothing of other tenants', async () => {
    await append('old-1', [{ type: 'before', payload: { n: 0 } }])
    const key = await fx().auth.keyFor('acme', 'reader')
    const ws = await open(`${fx().gw.url}/v1/tenants/acme/events/live`, key)
    const rx = receive(ws)
    await append('other-1', [{ type: 'x', payload: {} }], 'globex')
    const a = await append('tail-1', [
      { type: 'order.placed', payload: { total: 42 }, metadata: { by: 'ann' } },
      { type: 'order.paid', payload: { at: new Date('2026-01-02T03:04:05.000Z') } },
    ])
    const b = await append('tail-2', [{ type: 'order.placed', payload: { big: 2n ** 60n } }])
    const got = await rx.until(3)
    ws.close()
    const expected = (await all(fx().app.replay({ tenant: 'acme', fromOffset: a.offset }))).map(wire)
    expect(got).toEqual(JSON.parse(JSON.stringify(expected, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))))
    expect(got.map((e) => e.offset)).toEqual([a.offset, a.offset, b.offset])
    expect(got[1]?.payload).toEqual({ at: '2026-01-02T03:04:05.000Z' })
    expect(got[2]?.payload).toEqual({ big: '1152921504606846976' })
  })

  it('resuming with fromOffset = last offset + 1 loses and repeats nothing', async () => {
    for (let i = 0; i < 20; i++) await append(`resume-${i % 3}`, Array.from({ length: 1 + (i % 4) }, (_, k) => ({ type: 'step', payload: { i, k } })))
    const everything = (await all(fx().app.replay({ tenant: 'acme' }))).map((e) => e.id)
    const key = await fx().auth.keyFor('acme', 'developer')
    const seen: string[] = []
    let from = 0
    // Read a few at a time, closing from the client side after a whole commit, and resume.
    while (seen.length < everything.length) {
      const ws = await open(`${fx().gw.url}/v1/tenants/acme/events/live?fromOffset=${from}`, key)
      const rx = receive(ws)
      const got = await rx.until(Math.min(7, everything.length - seen.length))
      const lastOffset = got[got.length - 1]?.offset as number
      // Keep the whole commit of the last offset: wait until the next commit starts or the log ends.
      const whole = got.filter((e) => e.offset !== lastOffset)
      const rest = (await all(fx().app.replay({ tenant: 'acme', fromOffset: lastOffset }))).filter((e) => e.offset === lastOffset)
      await rx.until(whole.length + rest.length)
      ws.close()
      seen.push(...rx.messages.slice(0, whole.length + rest.length).map((e) => e.id as string))
      from = lastOffset + 1
    }
    expect(seen).toEqual(everything)
  })

  it('filters by stream and by type', async () => {
    const first = await append('filter-a', [{ type: 'keep', payload: { n: 1 } }, { type: 'skip', payload: {} }])
    await append('filter-b', [{ type: 'keep', payload: { n: 2 } }])
    await append('filter-a', [{ type: 'keep', payload: { n: 3 } }])
    const key = await fx().auth.keyFor('acme', 'reader')
    // Each socket's receiver is attached as soon as it is open: the events from `fromOffset` come at
    // once, and a socket without a 'message' listener drops them (it did while the second socket opened).
    const byStream = await open(`${fx().gw.url}/v1/tenants/acme/events/live?fromOffset=${first.offset}&stream=filter-a`, key)
    const streamRx = receive(byStream)
    const byType = await open(`${fx().gw.url}/v1/tenants/acme/events/live?fromOffset=${first.offset}&type=keep&stream=filter-a`, key)
    const typeRx = receive(byType)
    const s = await streamRx.until(3)
    const t = await typeRx.until(2)
    byStream.close()
    byType.close()
    expect(s.map((e) => [e.stream, e.type])).toEqual([
      ['filter-a', 'keep'],
      ['filter-a', 'skip'],
      ['filter-a', 'keep'],
    ])
    expect(t.map((e) => (e.payload as { n: number }).n)).toEqual([1, 3])
  })

  it('a client that closes releases its log consumer', async () => {
    const key = await fx().auth.keyFor('acme', 'reader')
    // The streams of earlier tests are gone (their deletes may still be in flight): no ephemeral consumer is left.
    await expect.poll(() => fx().logConsumers(), { timeout: 20_000 }).toBe(0)
    const before = 0
    const sockets = await Promise.all([1, 2, 3].map(() => open(`${fx().gw.url}/v1/tenants/acme/events/live?fromOffset=1`, key)))
    await Promise.all(sockets.map((ws) => receive(ws).until(1)))
    expect(await fx().logConsumers()).toBe(before + 3)
    sockets[0]?.close()
    sockets[1]?.terminate()
    sockets[2]?.close(4000, 'bye')
    await expect.poll(() => fx().logConsumers(), { timeout: 20_000 }).toBe(before)
    await expect.poll(() => fx().gw.live.stats().open, { timeout: 20_000 }).toBe(0)
  })

  it('a reader that never reads is dropped with a reason at a commit boundary, memory stays bounded, and it resumes without loss', async () => {
    // Far more than the socket buffers and the bound: 600 commits of 10 events of ~1 KiB each (~6.6 MB of JSON; loopback buffers take ~4 MB), then 1200 more.
    const big = 'x'.repeat(1_000)
    const head = await append('slow-0', [{ type: 'slow', payload: { i: -1, big } }])
    const rounds = [600, 1200]
    const key = await fx().auth.keyFor('acme', 'reader')
    await expect.poll(() => fx().logConsumers(), { timeout: 20_000 }).toBe(0)
    const before = 0
    const peaks: number[] = []
    for (const commits of rounds) {
      for (let i = 0; i < commits; i++) await append(`slow-${i % 7}`, Array.from({ length: 10 }, (_, k) => ({ type: 'slow', payload: { i, k, big } })))
      const ws = await open(`${fx().tight.url}/v1/tenants/acme/events/live?fromOffset=${head.offset}`, key)
      const rx = receive(ws)
      ws.pause() // never read: the kernel buffers fill, then the server's
      const dropped = fx().tight.live.stats().dropped
      await expect.poll(() => fx().tight.live.stats().dropped, { timeout: 60_000 }).toBe(dropped + 1)
      // The drop deleted the consumer at once, while the client still had not read a byte.
      await expect.poll(() => fx().logConsumers(), { timeout: 20_000 }).toBe(before)
      ws.resume()
      const { code, reason } = await rx.closed
      expect(code).toBe(1008)
      expect(reason).toMatch(/^slow consumer: /)
      // Commits are never split: the last commit received is whole, so last offset + 1 resumes exactly.
      const last = rx.messages[rx.messages.length - 1] as { offset: number; version: number; stream: string }
      const lastCommit = (await all(fx().app.replay({ tenant: 'acme', fromOffset: last.offset }))).filter((e) => e.offset === last.offset)
      expect(rx.messages.filter((e) => e.offset === last.offset).map((e) => e.id)).toEqual(lastCommit.map((e) => e.id))
      const expected = (await all(fx().app.replay({ tenant: 'acme', fromOffset: head.offset }))).map((e) => e.id)
      expect(rx.messages.length).toBeLessThan(expected.length)
      const resumed = await open(`${fx().gw.url}/v1/tenants/acme/events/live?fromOffset=${last.offset + 1}`, key)
      const rest = await receive(resumed).until(expected.length - rx.messages.length)
      resumed.close()
      expect([...rx.messages, ...rest].map((e) => e.id)).toEqual(expected)
      peaks.push(fx().tight.live.stats().peakBufferedBytes)
    }
    // Bounded by the low-water mark plus one commit (~10 KiB of JSON), however long the log: 4× the
    // events did not move the bound.
    // It did reach the low-water mark (so the pause was tested), and never went much past it.
    for (const p of peaks) expect(p).toBeGreaterThanOrEqual(64 * KiB)
    for (const p of peaks) expect(p).toBeLessThanOrEqual(64 * KiB + 16 * KiB)
  })

  it('a reader that keeps up, however slowly, is never dropped: backpressure holds the log back instead', async () => {
    // The same small bounds, but no stall rule in play: only the byte bound could drop it.
    const slowOk = await liveGateway({ ...fx().deps, limits: { maxBufferBytes: 256 * KiB, lowWaterBytes: 64 * KiB } })
    try {
      const big = 'z'.repeat(1_000)
      const first = await append('steady-0', [{ type: 'steady', payload: { big } }])
      for (let i = 0; i < 600; i++) await append(`steady-${i % 5}`, Array.from({ length: 10 }, (_, k) => ({ type: 'steady', payload: { i, k, big } })))
      const expected = (await all(fx().app.replay({ tenant: 'acme', type: 'steady', fromOffset: first.offset }))).map((e) => e.id)
      const ws = await open(`${slowOk.url}/v1/tenants/acme/events/live?fromOffset=${first.offset}&type=steady`, await fx().auth.keyFor('acme', 'reader'))
      const rx = receive(ws)
      // Read in small bursts with pauses: ~6 MB through a 256 KiB bound.
      ws.on('message', () => {
        if (rx.messages.length % 200 === 0) {
          ws.pause()
          setTimeout(() => ws.resume(), 5)
        }
      })
      const got = await rx.until(expected.length)
      ws.close()
      expect(got.map((e) => e.id)).toEqual(expected)
      expect(slowOk.live.stats().dropped).toBe(0)
      expect(slowOk.live.stats().peakBufferedBytes).toBeLessThanOrEqual(64 * KiB + 16 * KiB)
    } finally {
      await cleanUp(() => slowOk.app.close())
    }
  })
})
