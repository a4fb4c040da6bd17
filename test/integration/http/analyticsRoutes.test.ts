import { validate } from '@readme/openapi-parser'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, type GatewayFixture, startGatewayFixture } from '../../support/gatewayFixture.js'

describe('POST /v1/tenants/{tenant}/analytics/{kind}: the NATS analytics request over HTTP', () => {
  let f: GatewayFixture
  let base: string

  beforeAll(async () => {
    f = await startGatewayFixture()
    base = f.gateway.url
    for (const [stream, type] of [['o-1', 'cart'], ['o-1', 'checkout'], ['o-2', 'cart']] as const) {
      const r = await f.app.append('acme', stream, [{ type, payload: {} }])
      if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
    }
  }, 60_000)
  afterAll(() => f?.stop())

  it('answers as the NATS endpoint does (the same use case)', async () => {
    const body = { steps: ['type = "cart"', { eq: ['type', 'checkout'] }], withinMs: 60_000 }
    const r = await call(base, 'POST', '/v1/tenants/acme/analytics/funnel', { body })
    expect(r.status).toBe(200)
    expect(r.body).toEqual({ steps: [{ count: 2 }, { count: 1 }] })
    // Which path answered, as the NATS reply's header says: a funnel is always a scan.
    expect(r.headers.get('allsource-analytics-source')).toBe('scan')
    const frequency = await call(base, 'POST', '/v1/tenants/acme/analytics/frequency', { body: { where: 'type = "cart"' } })
    const answered = await f.app.analyticsAnswer('acme', 'frequency', { where: 'type = "cart"' })
    if (E.isLeft(answered)) throw new Error(JSON.stringify(answered.left))
    expect(frequency.headers.get('allsource-analytics-source')).toBe(answered.right.source)
    expect(frequency.headers.get('allsource-analytics-fallback') ?? undefined).toBe(answered.right.fallback)
    expect(E.right(r.body)).toEqual(await f.app.analytics('acme', 'funnel', body))
    const summary = await call(base, 'POST', '/v1/tenants/acme/analytics/summary')
    expect(summary.body).toMatchObject({ types: [{ type: 'cart', count: 2 }, { type: 'checkout', count: 1 }], streams: [{ stream: 'o-1', count: 2 }, { stream: 'o-2', count: 1 }] })
  })

  it('malformed input is 400 with the path; an unknown kind 404; problem details throughout', async () => {
    const bad = await call(base, 'POST', '/v1/tenants/acme/analytics/frequency', { body: { bucket: 'fortnight' } })
    expect([bad.status, bad.body.code, bad.body.path]).toEqual([400, 'BAD_REQUEST', 'bucket'])
    expect(bad.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    const where = await call(base, 'POST', '/v1/tenants/acme/analytics/correlation', { body: { a: { or: [{ gt: ['x'] }] }, b: 'type = "x"', withinMs: 1 } })
    expect([where.status, where.body.field, where.body.path]).toEqual([400, 'a', 'or[0].gt'])
    const unknown = await call(base, 'POST', '/v1/tenants/acme/analytics/trends', { body: {} })
    expect([unknown.status, unknown.body.code]).toEqual([404, 'NOT_FOUND'])
  })

  it('is in the OpenAPI document, with the request fields and the reply shapes', async () => {
    const doc = (await call(base, 'GET', '/openapi.json')).body as { paths: Record<string, Record<string, { requestBody: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } }>> }
    const op = doc.paths['/v1/tenants/{tenant}/analytics/{kind}']?.post
    expect(Object.keys(op?.requestBody.content['application/json']?.schema.properties ?? {})).toEqual(['since', 'until', 'where', 'bucket', 'period', 'top', 'steps', 'withinMs', 'a', 'b', 'threshold'])
    const result = await validate(structuredClone(doc) as never)
    expect(result.valid ? [] : result.errors).toEqual([])
  })
})
