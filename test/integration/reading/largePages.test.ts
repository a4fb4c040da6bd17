import { headers } from '@nats-io/transport-node'
import { beforeAll, describe, expect, it } from 'vitest'
import { decodeMsgpack, encodeMsgpack } from '../../../src/adapters/codec/msgpack.js'
import { type AllSourceClient, createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { withProcessor } from '../../support/processorFixture.js'

type Page = { events?: { version: number; offset: number }[]; nextVersion?: number; nextOffset?: number; error?: { code: string } }

/** ~1.3 KB of payload per event. */
const payload = (i: number) => ({ i, text: `${i}:`.padEnd(1_300, 'x') })

describe('pages bounded by bytes: a 1,000 × 1.3 KB stream (1.3 MB) against a 1 MB max_payload', () => {
  const fixture = withProcessor()
  let client: AllSourceClient
  const request = async (subject: string, body: unknown, json: boolean) => {
    const h = headers()
    if (json) h.set('Content-Type', 'application/json')
    const m = await fixture().nc.request(subject, json ? new TextEncoder().encode(JSON.stringify(body)) : encodeMsgpack(body), { timeout: 10_000, headers: h })
    return { size: m.data.length, status: m.headers?.get('Nats-Service-Error-Code') || undefined, page: (json ? JSON.parse(new TextDecoder().decode(m.data)) : decodeMsgpack(m.data)) as Page }
  }

  beforeAll(async () => {
    client = createAllSourceClient(fixture().nc)
    // 1,000 events in commits of 10 (so a cut on a commit boundary is visible).
    for (let c = 0; c < 100; c++) {
      await client.append('acme', 'big', Array.from({ length: 10 }, (_, k) => ({ type: 'blob', payload: payload(c * 10 + k + 1) })))
    }
  })

  it.each([false, true])('a default read (json: %s) answers a page under max_payload, cut at a commit boundary, with nextVersion', async (json) => {
    const max = fixture().nc.info?.max_payload ?? 0
    const first = await request('allsource.read.acme.big', {}, json)
    expect(first.status).toBeUndefined()
    expect(first.size).toBeLessThanOrEqual(max)
    const n = first.page.events?.length ?? 0
    expect(n).toBeGreaterThan(0)
    expect(n).toBeLessThan(1_000)
    expect(n % 10).toBe(0)
    expect(first.page.nextVersion).toBe(n + 1)
    // Following nextVersion reads the whole stream, every reply under the limit.
    const versions = first.page.events?.map((e) => e.version) ?? []
    for (let next = first.page.nextVersion; next !== undefined; ) {
      const r = await request('allsource.read.acme.big', { fromVersion: next }, json)
      expect(r.status).toBeUndefined()
      expect(r.size).toBeLessThanOrEqual(max)
      versions.push(...(r.page.events?.map((e) => e.version) ?? []))
      next = r.page.nextVersion
    }
    expect(versions).toEqual(Array.from({ length: 1_000 }, (_, i) => i + 1))
  })

  it.each([false, true])('a default query (json: %s) pages by bytes too, with nextOffset at a commit', async (json) => {
    const first = await request('allsource.query.acme', { stream: 'big' }, json)
    expect(first.status).toBeUndefined()
    expect(first.size).toBeLessThanOrEqual(fixture().nc.info?.max_payload ?? 0)
    const events = first.page.events ?? []
    expect(events.length % 10).toBe(0)
    expect(first.page.nextOffset).toBe((events.at(-1)?.offset ?? 0) + 1)
  })

  it('client.read() and client.query() follow the pages: all 1,000 events', async () => {
    const page = await client.read('acme', 'big')
    expect(page.events.map((e) => e.version)).toEqual(Array.from({ length: 1_000 }, (_, i) => i + 1))
    expect(page.nextVersion).toBeUndefined()
    expect((await client.read('acme', 'big', { fromVersion: 5, limit: 995 })).events).toHaveLength(995)
    const q = await client.query('acme', { stream: 'big' })
    expect(q.events).toHaveLength(1_000)
    expect(q.nextOffset).toBeUndefined()
    const some = await client.query('acme', { stream: 'big', limit: 250 })
    expect(some.events.length).toBeGreaterThanOrEqual(250)
    expect(some.nextOffset).toBeDefined()
  })

  it('one commit larger than a reply may be is the only case answered TOO_LARGE (413), not 500', async () => {
    // Fits max_payload as a commit, but not a reply with its headroom.
    const max = fixture().nc.info?.max_payload ?? 0
    await client.append('acme', 'huge', [{ type: 'blob', payload: { s: 'y'.repeat(max - 9_000) } }])
    for (const json of [false, true]) {
      const read = await request('allsource.read.acme.huge', {}, json)
      expect(read.status).toBe('413')
      expect(read.page.error?.code).toBe('TOO_LARGE')
      const query = await request('allsource.query.acme', { stream: 'huge' }, json)
      expect(query.status).toBe('413')
    }
  })
})
