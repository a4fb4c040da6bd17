import { headers } from '@nats-io/transport-node'
import { beforeAll, describe, expect, it } from 'vitest'
import { type AllSourceClient, createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { withProcessor } from '../../support/processorFixture.js'

describe('reading a stream: allsource.read.<tenant>.<stream>', () => {
  const fixture = withProcessor()
  let client: AllSourceClient

  beforeAll(async () => {
    client = createAllSourceClient(fixture().nc)
    // 25 events in commits of 1, 2, 3, 4, 5, 10, with another stream interleaved.
    let v = 0
    for (const size of [1, 2, 3, 4, 5, 10]) {
      const events = Array.from({ length: size }, () => ({ type: 'n', payload: { v: ++v } }))
      await client.append('acme', 'book-1', events)
      await client.append('acme', 'book-2', [{ type: 'other', payload: {} }])
    }
  })

  it('answers every event in version order with its commit offset', async () => {
    const page = await client.read('acme', 'book-1')
    expect(page.version).toBe(25)
    expect(page.nextVersion).toBeUndefined()
    expect(page.events.map((e) => e.version)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1))
    expect(page.events.map((e) => (e.payload as { v: number }).v)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1))
    const offsets = page.events.map((e) => e.offset)
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b))
    // The events of one commit share its offset.
    expect(new Set(offsets.slice(1, 3)).size).toBe(1)
    expect(page.events[0]?.timestamp).toBeInstanceOf(Date)
  })

  it('pages with fromVersion, limit and nextVersion, splitting commits where the limit falls', async () => {
    const seen: number[] = []
    let from: number | undefined = 1
    let pages = 0
    while (from !== undefined) {
      const page = await client.read('acme', 'book-1', { fromVersion: from, limit: 7 })
      seen.push(...page.events.map((e) => e.version))
      from = page.nextVersion
      pages++
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i + 1))
    expect(pages).toBe(4)
    const mid = await client.read('acme', 'book-1', { fromVersion: 5, limit: 3 })
    expect(mid).toMatchObject({ version: 25, nextVersion: 8 })
    expect(mid.events.map((e) => e.version)).toEqual([5, 6, 7])
  })

  it('answers an empty or unknown stream, or a version past the end, with no events', async () => {
    expect(await client.read('acme', 'nobody-1')).toEqual({ events: [], version: 0 })
    expect(await client.read('acme', 'book-1', { fromVersion: 26 })).toEqual({ events: [], version: 25 })
  })

  it('keeps tenants apart', async () => {
    expect(await client.read('other', 'book-1')).toEqual({ events: [], version: 0 })
  })

  it.each([
    [{ fromVersion: 0 }],
    [{ fromVersion: -1 }],
    [{ fromVersion: 1.5 }],
    [{ limit: 0 }],
    [{ limit: 10_001 }],
    [{ limit: -5 }],
    [{ limit: 'ten' }],
  ])('refuses %j with BAD_REQUEST', async (opts) => {
    const r = await client.tryRead('acme', 'book-1', opts as never)
    expect(r._tag === 'Left' && r.left.code).toBe('BAD_REQUEST')
  })

  it('refuses ids that would widen the subject with INVALID_ID', async () => {
    for (const stream of ['*', '>', 'a.b', 'a b']) {
      const r = await client.tryRead('acme', stream)
      expect(r._tag === 'Left' && r.left.code).toBe('INVALID_ID')
    }
  })

  it('speaks JSON with ISO-8601 timestamps, and takes an empty body as the defaults', async () => {
    const h = headers()
    h.set('Content-Type', 'application/json')
    const m = await fixture().nc.request('allsource.read.acme.book-1', JSON.stringify({ fromVersion: 24 }), { headers: h, timeout: 5_000 })
    const body = JSON.parse(new TextDecoder().decode(m.data))
    expect(body.events.map((e: { version: number }) => e.version)).toEqual([24, 25])
    expect(body.events[0].timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    const empty = await fixture().nc.request('allsource.read.acme.book-2', new Uint8Array(0), { timeout: 5_000 })
    expect(empty.headers?.get('Nats-Service-Error-Code') ?? '').toBe('')
  })

  it('reads in process too', async () => {
    const r = await fixture().app.read('acme', 'book-2', { fromVersion: 6 })
    expect(r).toMatchObject({ _tag: 'Right', right: { version: 6, events: [{ version: 6 }] } })
  })
})
