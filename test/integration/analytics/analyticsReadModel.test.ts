import { headers } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { ANALYTICS_FALLBACK_HEADER, ANALYTICS_SOURCE_HEADER } from '../../../src/adapters/nats/analytics/analyticsEndpoint.js'
import { createAnalyticsScan } from '../../../src/adapters/nats/analytics/analyticsScan.js'
import { createFrequencyReadModel } from '../../../src/adapters/nats/analytics/frequencyReadModel.js'
import { createProjectionReader } from '../../../src/adapters/nats/projections/projectionReader.js'
import { replayEvents, type ReplayedEvent } from '../../../src/adapters/nats/reading/replay.js'
import { answerAnalytics } from '../../../src/application/analytics/runAnalytics.js'
import type { AnalyticsRequest } from '../../../src/domain/analytics/analyticsRequest.js'
import { type Bucket, indexOf, startOfIndex } from '../../../src/domain/analytics/buckets.js'
import { eventFrequency } from '../../../src/domain/projections/builtins.js'
import type { ProjectionDefinition } from '../../../src/domain/projections/projection.js'
import type { ProjectionRunner } from '../../../src/adapters/nats/projections/projectionRunner.js'
import { pack } from 'msgpackr'
import { analyticsTypes, logCommit, roundZ, wireBody } from '../../support/analyticsArbitrary.js'
import { bruteForce } from '../../support/analyticsBruteForce.js'
import { withProcessor } from '../../support/processorFixture.js'

const json = headers()
json.set('Content-Type', 'application/json')

/**
 * The read-model path of `frequency` and `anomalies` (docs/analytics.md): answers of the shapes it
 * covers come from `event-frequency` and equal the brute force over each tenant's log; other shapes,
 * a projection that lags or does not run here, are scanned, with the same answer.
 */
describe('analytics from the event-frequency read model, against a real nats-server', () => {
  // A generous wait: on a loaded machine the projection may take more than the default 2 s to fold an append.
  const fixture = withProcessor({ analyticsReadModelWaitMs: 30_000 })
  const tenants = ['acme', 'beta'] as const
  const logs = new Map<string, ReplayedEvent[]>()
  let runner: ProjectionRunner | undefined

  const replayed = async (tenant: string): Promise<ReplayedEvent[]> => {
    const events: ReplayedEvent[] = []
    for await (const e of replayEvents(fixture().nc, { tenant })) events.push(e)
    return events
  }

  beforeAll(async () => {
    const { app } = fixture()
    ;[runner] = await app.startProjections([eventFrequency as ProjectionDefinition<unknown>])
    const random = fc.sample(fc.array(logCommit, { minLength: 25, maxLength: 25 }), { numRuns: tenants.length, seed: 20261205 })
    for (let c = 0; c < 25; c++) {
      for (const [t, tenant] of tenants.entries()) {
        const next = random[t]?.[c]
        if (next !== undefined) await app.append(tenant, next.stream, next.events)
      }
    }
    await runner?.until((s) => s.state === 'live' && s.lag === 0, 30_000)
    for (const tenant of tenants) logs.set(tenant, await replayed(tenant))
  })

  const ask = async (tenant: string, kind: string, body: unknown) => {
    const m = await fixture().nc.request(`allsource.analytics.${tenant}.${kind}`, JSON.stringify(body), { headers: json, timeout: 10_000 })
    return { body: m.json<Record<string, unknown>>(), source: m.headers?.get(ANALYTICS_SOURCE_HEADER), fallback: m.headers?.get(ANALYTICS_FALLBACK_HEADER) ?? '', code: m.headers?.get('Nats-Service-Error-Code') ?? '' }
  }

  /** Requests of the shapes the read model answers: bucket-aligned bounds around the log's times, types only. */
  const qualifying = (): fc.Arbitrary<AnalyticsRequest> => {
    const stamps = [...logs.values()].flat().map((e) => new Date(e.timestamp).getTime())
    const near = fc.constantFrom(...stamps).chain((t) => fc.integer({ min: -2 * 3_600_000, max: 2 * 3_600_000 }).map((d) => t + d))
    const where = fc.oneof(
      fc.constantFrom(...analyticsTypes).map((t) => ({ eq: ['type', t] })),
      fc.subarray([...analyticsTypes]).map((ts) => ({ in: ['type', ts] })),
    )
    return fc.constantFrom<Bucket>('minute', 'hour', 'day').chain((bucket) =>
      fc
        .record(
          {
            since: near.map((t) => new Date(startOfIndex(indexOf(t, bucket), bucket))),
            until: near.map((t) => new Date(startOfIndex(indexOf(t, bucket) + 1, bucket) - 1)),
            where,
            anomalies: fc.boolean(),
          },
          { requiredKeys: ['anomalies'] },
        )
        .map(({ anomalies, ...s }): AnalyticsRequest => {
          const scope = s.since !== undefined && s.until !== undefined && s.since > s.until ? { ...s, since: new Date(startOfIndex(indexOf(s.until.getTime(), bucket), bucket)) } : s
          return (anomalies ? { ...scope, kind: 'anomalies', bucket, threshold: 0.77 } : { ...scope, kind: 'frequency', bucket }) as AnalyticsRequest
        }),
    )
  }

  it('a qualifying request is answered from the read model, equal to the brute force, per tenant', async () => {
    for (const r of fc.sample(qualifying(), { numRuns: 30, seed: 11 })) {
      for (const tenant of tenants) {
        const got = await ask(tenant, r.kind, wireBody(r))
        expect(got.code, JSON.stringify(got.body)).toBe('')
        expect(got.source, `${JSON.stringify(r)}: ${got.fallback}`).toBe('read-model')
        expect(roundZ(got.body), JSON.stringify(r)).toEqual(roundZ(bruteForce(r, logs.get(tenant) ?? [])))
      }
    }
  })

  it('other shapes are scanned, with no fallback reason', async () => {
    for (const body of [{ where: 'stream = "s-1"' }, { where: 'type = "a" and payload.n > 1' }, { since: new Date(Date.now() - 1234).toISOString() }]) {
      const got = await ask('acme', 'frequency', body)
      expect(got.source).toBe('scan')
      expect(got.fallback).toBe('')
    }
    expect((await ask('acme', 'summary', {})).source).toBe('scan')
  })

  it('a projection that lags is waited for (bounded), then the scan answers; once caught up, the read model does, each with the new events', async () => {
    const { app, nc } = fixture()
    const reader = await createProjectionReader(nc, undefined, app.consumers)
    try {
      const scan = createAnalyticsScan(nc, { consumers: app.consumers })
      // As if the projection ran here but lagged: its checkpoint cannot reach an offset the log does not have yet.
      let blocked = true
      const lagging = answerAnalytics(scan, {
        states: async (tenant, types) => {
          if (blocked) {
            const waited = await reader.waitFor(eventFrequency.name, Number.MAX_SAFE_INTEGER, 200)
            return E.left(`not at the log's end (checkpoint ${waited.checkpoint})`)
          }
          return createFrequencyReadModel(nc, { reader: async () => reader, running: () => true, waitMs: 30_000 }).states(tenant, types)
        },
      })
      await app.append('acme', 's-9', [{ type: 'a', payload: { n: 1 } }])
      const log = await replayed('acme')
      const r: AnalyticsRequest = { kind: 'frequency', bucket: 'hour' }
      const scanned = await lagging('acme', 'frequency', {})
      expect(scanned).toEqual(E.right({ reply: bruteForce(r, log), source: 'scan', fallback: expect.stringContaining('not at the log') }))
      blocked = false
      const read = await lagging('acme', 'frequency', {})
      expect(read).toEqual(E.right({ reply: bruteForce(r, log), source: 'read-model' }))
      // Over NATS too: the endpoint waits for the projection to fold the append, then answers from it.
      await app.append('acme', 's-9', [{ type: 'b', payload: { n: 2 } }])
      const got = await ask('acme', 'frequency', { bucket: 'minute', where: 'type in ("a", "b")' })
      expect(got.source).toBe('read-model')
      expect(got.body).toEqual(bruteForce({ kind: 'frequency', bucket: 'minute', where: { in: ['type', ['a', 'b']] } }, await replayed('acme')))
    } finally {
      reader.close()
    }
  })

  it('a projection not running in this process is not read: the scan answers and says why', async () => {
    const { app, nc } = fixture()
    const answer = answerAnalytics(
      createAnalyticsScan(nc, { consumers: app.consumers }),
      createFrequencyReadModel(nc, { reader: () => Promise.reject(new Error('not to be read')), running: () => false }),
    )
    const got = await answer('beta', 'frequency', { bucket: 'day' })
    expect(got).toEqual(E.right({ reply: bruteForce({ kind: 'frequency', bucket: 'day' }, logs.get('beta') ?? []), source: 'scan', fallback: expect.stringContaining('not running') }))
  })

  it('a paused projection is not waited for: the scan answers at once, with the reason; so is one too far behind', async () => {
    const { app, nc } = fixture()
    const admin = (op: string) => nc.request(`allsource.admin.projection.${eventFrequency.name}.${op}`, pack({}), { timeout: 10_000 })
    await admin('pause')
    await runner?.until((st) => st.state === 'paused')
    try {
      await app.append('beta', 's-9', [{ type: 'c', payload: { n: 3 } }])
      const log = await replayed('beta')
      const got = await ask('beta', 'frequency', { bucket: 'day' })
      expect(got.source).toBe('scan')
      expect(got.fallback).toContain('not running')
      expect(got.body).toEqual(bruteForce({ kind: 'frequency', bucket: 'day' }, log))
      // The same lag, with a reader that would wait: more commits behind than maxLag (0) is not waited for.
      const reader = await createProjectionReader(nc, undefined, app.consumers)
      try {
        const behind = answerAnalytics(
          createAnalyticsScan(nc, { consumers: app.consumers }),
          createFrequencyReadModel(nc, { reader: async () => reader, running: () => true, maxLag: 0, waitMs: 60_000 }),
        )
        expect(await behind('beta', 'frequency', { bucket: 'day' })).toEqual(E.right({ reply: bruteForce({ kind: 'frequency', bucket: 'day' }, log), source: 'scan', fallback: expect.stringContaining('not waited for') }))
      } finally {
        reader.close()
      }
    } finally {
      await admin('resume')
    }
    await runner?.until((st) => st.state === 'live' && st.lag === 0)
    expect((await ask('beta', 'frequency', { bucket: 'day' })).source).toBe('read-model')
  })

  it('a tenant reads only its own read model: the other tenant with the same types counts nothing of it', async () => {
    const got = await ask('gamma', 'frequency', { bucket: 'day', where: `type in ("a", "b", "c")` })
    expect(got.source).toBe('read-model')
    expect(got.body).toEqual({ buckets: [] })
  })
})
