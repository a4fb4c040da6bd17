import { headers } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import { pack, unpack } from 'msgpackr'
import { beforeAll, describe, expect, it } from 'vitest'
import { createAnalyticsScan } from '../../../src/adapters/nats/analytics/analyticsScan.js'
import { replayEvents, type ReplayedEvent } from '../../../src/adapters/nats/reading/replay.js'
import { createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { runAnalytics } from '../../../src/application/analytics/runAnalytics.js'
import { analyticsKinds } from '../../../src/domain/analytics/analyticsRequest.js'
import { analyticsStreams, analyticsTypes, analyticsRequestOf, logCommit, roundZ, wireBody } from '../../support/analyticsArbitrary.js'
import { bruteForce } from '../../support/analyticsBruteForce.js'
import { withProcessor } from '../../support/processorFixture.js'

const json = headers()
json.set('Content-Type', 'application/json')

describe('allsource.analytics.<tenant>.<kind> against a real nats-server', () => {
  const fixture = withProcessor()
  const logs = new Map<string, ReplayedEvent[]>()
  const tenants = ['acme', 'beta'] as const
  let stamps: string[] = []

  beforeAll(async () => {
    const { app, nc } = fixture()
    const random = fc.sample(fc.array(logCommit, { minLength: 30, maxLength: 30 }), { numRuns: tenants.length, seed: 20261204 })
    for (let c = 0; c < 30; c++) {
      for (const [t, tenant] of tenants.entries()) {
        const next = random[t]?.[c]
        if (next !== undefined) await app.append(tenant, next.stream, next.events)
      }
      if (c % 10 === 9) await new Promise((r) => setTimeout(r, 30)) // a few distinct timestamps
    }
    for (const tenant of tenants) {
      const events: ReplayedEvent[] = []
      for await (const e of replayEvents(nc, { tenant })) events.push(e)
      logs.set(tenant, events)
    }
    stamps = [...new Set([...logs.values()].flat().map((e) => new Date(e.timestamp).toISOString()))].sort()
  })

  const requests = () => {
    const world = { types: [...analyticsTypes], streams: [...analyticsStreams], stamps, maxOffset: 60, maxVersion: 30 }
    const time = fc.constantFrom(...stamps).map((s) => new Date(s))
    return analyticsRequestOf(world, time)
  }

  const ask = async (tenant: string, kind: string, body: unknown, format: 'json' | 'msgpack' = 'json') => {
    const { nc } = fixture()
    const subject = `allsource.analytics.${tenant}.${kind}`
    const m = format === 'json' ? await nc.request(subject, JSON.stringify(body), { headers: json, timeout: 10_000 }) : await nc.request(subject, pack(body), { timeout: 10_000 })
    const code = m.headers?.get('Nats-Service-Error-Code')
    return { body: (format === 'json' ? m.json() : unpack(m.data)) as Record<string, unknown>, code: code === '' ? undefined : code }
  }

  for (const kind of analyticsKinds) {
    it(`${kind}: each answer equals a brute force over the tenant's events (JSON)`, async () => {
      const sample = fc.sample(
        requests().filter((r) => r.kind === kind),
        { numRuns: 12, seed: 7 },
      )
      for (const r of sample) {
        for (const tenant of tenants) {
          const got = await ask(tenant, kind, wireBody(r))
          expect(got.code, JSON.stringify(got.body)).toBeUndefined()
          expect(roundZ(got.body), JSON.stringify(r)).toEqual(roundZ(bruteForce(r, logs.get(tenant) ?? [])))
        }
      }
    })
  }

  it('msgpack in, msgpack out; the library and the client give the same answer', async () => {
    const body = { where: 'type = "a" or type = "b"', steps: [{ eq: ['type', 'a'] }, 'type = "b"'], withinMs: 60_000 }
    const overNats = await ask('acme', 'funnel', body, 'msgpack')
    expect(overNats.code).toBeUndefined()
    const { app, nc } = fixture()
    expect(await app.analytics('acme', 'funnel', body)).toEqual(E.right(overNats.body))
    expect(await createAllSourceClient(nc).analytics('acme', 'funnel', body)).toEqual(overNats.body)
    expect((overNats.body.steps as unknown[]).length).toBe(2)
  })

  it('an empty body takes every default', async () => {
    const { nc } = fixture()
    const m = await nc.request('allsource.analytics.acme.summary', new Uint8Array(), { timeout: 10_000 })
    const body = unpack(m.data) as { types: unknown[] }
    expect(body.types.length).toBe(3)
  })

  it('malformed input is BAD_REQUEST with the path of the fault; an unknown kind is NOT_FOUND', async () => {
    expect(await ask('acme', 'funnel', { steps: [{ eq: ['type', 'a'] }, { or: [{ gt: ['x'] }] }], withinMs: 5 })).toMatchObject({
      code: '400',
      body: { error: { code: 'BAD_REQUEST', field: 'steps[1]', path: 'or[0].gt' } },
    })
    expect(await ask('acme', 'frequency', { bucket: 'fortnight' })).toMatchObject({ code: '400', body: { error: { code: 'BAD_REQUEST', path: 'bucket' } } })
    expect(await ask('acme', 'summary', { where: 'type = ' })).toMatchObject({ code: '400', body: { error: { code: 'BAD_REQUEST', field: 'where', column: 8 } } })
    expect(await ask('acme', 'trends', {})).toMatchObject({ code: '404', body: { error: { code: 'NOT_FOUND' } } })
    expect(await ask('acme', 'summary', '[')).toMatchObject({ code: '400', body: { error: { code: 'BAD_REQUEST' } } })
    const { nc } = fixture()
    const extra = await nc.request('allsource.analytics.acme.summary.x', JSON.stringify({}), { headers: json, timeout: 10_000 })
    expect(extra.json()).toMatchObject({ error: { code: 'INVALID_ID' } })
  })

  it('a scope over the cost limit is TOO_LARGE with the limit, not a partial answer', async () => {
    const { app, nc } = fixture()
    const small = runAnalytics(createAnalyticsScan(nc, { scanLimit: 10, consumers: app.consumers }))
    const r = await small('acme', 'frequency', {})
    expect(E.isLeft(r) ? r.left : undefined).toMatchObject({ _tag: 'TooLarge', max: 10, unit: 'events' })
    // The same limit is enough for a scope the plan narrows to one stream with few events.
    const few = (logs.get('acme') ?? []).filter((e) => e.stream === 's-0').length
    const narrow = runAnalytics(createAnalyticsScan(nc, { scanLimit: few, consumers: app.consumers }))
    expect(await narrow('acme', 'frequency', { where: 'stream = "s-0"', bucket: 'day' })).toEqual(E.right({ buckets: [{ start: expect.any(String), count: few }] }))
  })
})
