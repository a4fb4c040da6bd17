import { headers } from '@nats-io/transport-node'
import * as fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { decodeMsgpack, encodeMsgpack } from '../../../src/adapters/codec/msgpack.js'
import { type ErrorCode, statusOf } from '../../../src/adapters/nats/service/errorCodes.js'
import { analyticsKinds } from '../../../src/domain/analytics/analyticsRequest.js'
import { worldFilter } from '../../support/filterArbitrary.js'
import { fuzzRuns, fuzzSeed, fuzzTimeout } from '../../support/fuzzBudget.js'
import { withProcessor } from '../../support/processorFixture.js'
import { eventFrequency } from '../../../src/domain/projections/builtins.js'
import type { ProjectionDefinition } from '../../../src/domain/projections/projection.js'

const anything = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(null, -1, 0, 1.5, 1e308, -0, '', true, 2 ** 53 + 2))
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 })
const rec = (fields: Record<string, fc.Arbitrary<unknown>>) =>
  fc.record(Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, opt(v)]))).map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)))

const filter = fc.oneof(
  worldFilter({ types: ['a', 'b'], streams: ['s-1', 's-2'], stamps: ['2026-01-01T00:00:00Z'], maxOffset: 20, maxVersion: 10 }, 2),
  fc.constantFrom('type = "a"', 'type = "a" and payload.n > 1', 'not (', '', 'type in ()', 'timestamp > "soon"'),
  anything,
)
const time = fc.oneof(fc.date({ min: new Date(-1e14), max: new Date(1e14), noInvalidDate: true }).map((d) => d.toISOString()), fc.constantFrom('2026-13-45T00:00:00Z', 'yesterday', '', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59Z'), fc.integer(), anything)
const num = fc.oneof(fc.integer({ min: -2, max: 100_000 }), fc.constantFrom(0, 1, 60_000, 3650 * 86_400_000 + 1, 1e308, 0.5, -0), anything)
const body = rec({
  since: time,
  until: time,
  where: filter,
  bucket: fc.oneof(fc.constantFrom('minute', 'hour', 'day', 'week', 'Minute'), anything),
  period: fc.oneof(fc.constantFrom('day', 'week', 'month'), anything),
  top: num,
  steps: fc.oneof(fc.array(filter, { maxLength: 12 }), anything),
  withinMs: num,
  a: filter,
  b: filter,
  threshold: fc.oneof(fc.constantFrom(0.5, 1, 3, 1e-9, 1001), anything),
  extra: anything,
})
const kind = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...analyticsKinds) }, { weight: 1, arbitrary: fc.constantFrom('trends', 'Frequency', 'x'.repeat(70), 'a$b') })
const tenant = fc.oneof({ weight: 8, arbitrary: fc.constantFrom('acme', 'other') }, { weight: 1, arbitrary: fc.constantFrom('a$b', 'x'.repeat(65), 'é') })

type Wire = { readonly t: 'json' | 'msgpack'; readonly value: unknown; readonly flips: readonly number[] } | { readonly t: 'bytes'; readonly bytes: Uint8Array } | { readonly t: 'empty' }
const wire: fc.Arbitrary<Wire> = fc.oneof(
  { weight: 7, arbitrary: fc.record({ t: fc.constantFrom<'json' | 'msgpack'>('json', 'msgpack'), value: fc.oneof({ weight: 5, arbitrary: body }, { weight: 1, arbitrary: anything }), flips: fc.constant([] as number[]) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constantFrom<'json' | 'msgpack'>('json', 'msgpack'), value: body, flips: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant<'bytes'>('bytes'), bytes: fc.uint8Array({ maxLength: 64 }) }) },
  { weight: 1, arbitrary: fc.constant<Wire>({ t: 'empty' }) },
)

const encode = (b: Wire): { data: Uint8Array; json: boolean } => {
  if (b.t === 'empty') return { data: new Uint8Array(0), json: false }
  if (b.t === 'bytes') return { data: b.bytes, json: false }
  const data = b.t === 'json' ? new TextEncoder().encode(JSON.stringify(b.value) ?? 'null') : encodeMsgpack(b.value)
  const out = Uint8Array.from(data)
  for (const f of b.flips) {
    if (out.length === 0) break
    const i = Math.min(out.length - 1, Math.floor(f * out.length))
    out[i] = (out[i] ?? 0) ^ 0x5a
  }
  return { data: out, json: b.t === 'json' }
}

describe('allsource.analytics.<tenant>.<kind>: fuzzed subjects and bodies', () => {
  const fixture = withProcessor()

  beforeAll(async () => {
    const { app } = fixture()
    // event-frequency runs, so fuzzed requests of the shapes it answers take the read-model path.
    const [runner] = await app.startProjections([eventFrequency as ProjectionDefinition<unknown>])
    for (let i = 0; i < 12; i++) await app.append('acme', `s-${i % 3}`, [{ type: i % 2 === 0 ? 'a' : 'b', payload: { n: i } }])
    await runner?.until((st) => st.state === 'live' && st.lag === 0, 30_000)
  })

  it(
    'every request gets one well-formed reply: an answer, or a contract error (never INTERNAL) whose status header matches',
    async () => {
      const { nc } = fixture()
      const codes = new Set(Object.keys(statusOf))
      const json = headers()
      json.set('Content-Type', 'application/json')
      let answered = 0
      let refused = 0
      await fc.assert(
        fc.asyncProperty(tenant, kind, wire, async (t, k, w) => {
          const { data, json: isJsonBody } = encode(w)
          const m = await nc.request(`allsource.analytics.${t}.${k}`, data, { timeout: 10_000, ...(isJsonBody ? { headers: json } : {}) })
          const isJson = m.headers?.get('Content-Type') === 'application/json'
          const reply = (isJson ? JSON.parse(new TextDecoder().decode(m.data)) : decodeMsgpack(m.data)) as Record<string, unknown>
          const status = m.headers?.get('Nats-Service-Error-Code') ?? ''
          const error = reply.error as { code: ErrorCode; message: string } | undefined
          if (error === undefined) {
            answered++
            expect(status).toBe('')
            expect(Object.keys(reply).length).toBeGreaterThan(0)
          } else {
            refused++
            expect(codes.has(error.code), JSON.stringify(error)).toBe(true)
            expect(error.code, JSON.stringify(error)).not.toBe('INTERNAL')
            expect(status).toBe(String(statusOf[error.code]))
            expect(typeof error.message).toBe('string')
          }
        }),
        { numRuns: fuzzRuns(150), ...fuzzSeed(20261204) },
      )
      expect(answered).toBeGreaterThan(0)
      expect(refused).toBeGreaterThan(0)
      // Still serving, with the right answer.
      const m = await nc.request('allsource.analytics.acme.summary', JSON.stringify({ top: 1 }), { headers: json, timeout: 10_000 })
      expect(m.json()).toMatchObject({ types: [{ type: 'a', count: 6 }], streams: [{ count: 4 }] })
      const f = await nc.request('allsource.analytics.acme.frequency', JSON.stringify({ bucket: 'day', where: 'type = "a"' }), { headers: json, timeout: 10_000 })
      expect(f.headers?.get('AllSource-Analytics-Source')).toBe('read-model')
      expect(f.json()).toMatchObject({ buckets: [{ count: 6 }] })
    },
    fuzzTimeout(150, 200, 30_000),
  )
})
