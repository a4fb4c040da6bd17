import { headers, type Msg, type NatsConnection } from '@nats-io/transport-node'
import { pack, unpack } from 'msgpackr'
import { beforeAll, describe, expect, it } from 'vitest'
import type { AllSource } from '../../../src/main/allSource.js'
import { AllSourceError, createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { eventCounter } from '../../../src/domain/projections/builtins.js'
import type { ProjectionDefinition } from '../../../src/domain/projections/projection.js'
import { readWholeLog } from '../../support/eventLogReader.js'
import { withProcessor } from '../../support/processorFixture.js'

const MAX_PAYLOAD = 64 * 1024
const json = headers()
json.set('Content-Type', 'application/json')
const text = (s: string) => new TextEncoder().encode(s)

interface Reply {
  readonly json: boolean
  readonly status: string
  readonly body: { error?: { code: string; message: string; [k: string]: unknown }; [k: string]: unknown }
}

describe('wire edges: nesting, big integers, JSON without Content-Type, subject tokens, client limits', () => {
  const fixture = withProcessor({ server: { config: `max_payload: ${MAX_PAYLOAD}` } })
  let nc: NatsConnection
  let app: AllSource

  const raw = async (subject: string, data: Uint8Array, asJson = false): Promise<Reply> => {
    const m: Msg = await nc.request(subject, data, { timeout: 5_000, ...(asJson ? { headers: json } : {}) })
    const isJson = m.headers?.get('Content-Type') === 'application/json'
    const body = (isJson ? JSON.parse(new TextDecoder().decode(m.data)) : unpack(m.data)) as Reply['body']
    return { json: isJson, status: m.headers?.get('Nats-Service-Error-Code') ?? '', body }
  }

  beforeAll(async () => {
    ;({ nc, app } = fixture())
    await app.startProjections([eventCounter] as ProjectionDefinition<unknown>[])
  })

  const subjects = ['allsource.append.acme.deep-1', 'allsource.read.acme.deep-1', 'allsource.query.acme', 'allsource.projection.acme.event-counter', 'allsource.analytics.acme.summary']

  it.each(subjects)('answers a 10,000-level nested body on %s with BAD_REQUEST, in JSON and msgpack', async (subject) => {
    const deepJson = text(`{"events":${'['.repeat(10_000)}${']'.repeat(10_000)}}`)
    const j = await raw(subject, deepJson, true)
    expect(j.body.error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/nested deeper than 100/) })
    const deepMsgpack = new Uint8Array(10_001).fill(0x91)
    deepMsgpack[10_000] = 0x01
    expect((await raw(subject, deepMsgpack)).body.error?.code).toBe('BAD_REQUEST')
    expect((await readWholeLog(nc)).filter((c) => c.body.stream === 'deep-1')).toHaveLength(0)
  })

  it('carries a msgpack int64 out in JSON replies: a number when safe, a decimal string otherwise', async () => {
    // Appended in msgpack: 7 and 2^63 + 5 as uint64 (msgpackr packs a BigInt as a 64-bit integer).
    const appended = await raw('allsource.append.acme.big-1', pack({ events: [{ type: 'a', payload: { small: 7n, big: 2n ** 63n + 5n } }] }))
    expect(appended.body.error).toBeUndefined()
    const read = await raw('allsource.read.acme.big-1', text('{}'), true)
    expect(read.json).toBe(true)
    expect(read.body).toMatchObject({ events: [{ payload: { small: 7, big: '9223372036854775813' } }] })
    const queried = await raw('allsource.query.acme', text('{"stream":"big-1"}'), true)
    expect(queried.body).toMatchObject({ events: [{ payload: { big: '9223372036854775813' } }] })
    // In msgpack the integer comes back as it went in.
    expect((await raw('allsource.read.acme.big-1', pack({}))).body).toMatchObject({ events: [{ payload: { big: 2n ** 63n + 5n } }] })
  })

  it('reads a body without Content-Type that starts with { as JSON, and replies in JSON', async () => {
    const r = await raw('allsource.append.acme.sniff-1', text(' {"events":[{"type":"a","payload":{"x":1}}]}'))
    expect(r.json).toBe(true)
    expect(r.body).toMatchObject({ stream: 'sniff-1', toVersion: 1 })
    const bad = await raw('allsource.append.acme.sniff-1', text('{"events": ['))
    expect(bad).toMatchObject({ json: true, status: '400', body: { error: { code: 'BAD_REQUEST', message: expect.stringMatching(/malformed JSON/) } } })
  })

  it.each([
    ['append', 'allsource.append.acme.s.1'],
    ['read', 'allsource.read.acme.s.1'],
    ['query', 'allsource.query.acme.x'],
    ['projection', 'allsource.projection.acme.event-counter.x'],
    ['projection admin', 'allsource.admin.projection.event-counter.status.x'],
    ['analytics', 'allsource.analytics.acme.summary.x'],
    ['analytics with one token', 'allsource.analytics.acme'],
    ['append with no tokens', 'allsource.append'],
    ['read with one token', 'allsource.read.acme'],
  ])('answers a %s subject with an extra token (an id with a dot) with INVALID_ID, not "no responders"', async (_name, subject) => {
    const r = await raw(subject, text('{"events":[{"type":"a","payload":1}]}'), true)
    expect(r.status).toBe('400')
    expect(r.body.error).toMatchObject({ code: 'INVALID_ID', field: 'subject' })
    expect((await readWholeLog(nc)).filter((c) => c.body.stream === 's' || c.body.stream === 's.1')).toHaveLength(0)
  })

  it.each(['+122402-07-30T08:00:36.572Z', '-023705-05-28T12:00:00Z'])('answers a query with a time outside years 0000–9999 (%s) with BAD_REQUEST', async (since) => {
    const r = await raw('allsource.query.acme', text(JSON.stringify({ since })), true)
    expect(r.body.error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^since must be/) })
  })

  it('gives projection topic messages a Content-Type header (msgpack)', async () => {
    const got = new Promise<Msg>((resolve) => {
      const sub = nc.subscribe('allsource.projections.acme.event-counter.>', {
        callback: (_e, m) => {
          sub.unsubscribe()
          resolve(m)
        },
      })
    })
    await nc.flush()
    await raw('allsource.append.acme.topic-1', text('{"events":[{"type":"a","payload":1}]}'), true)
    const m = await got
    expect(m.headers?.get('Content-Type')).toBe('application/msgpack')
    expect(unpack(m.data)).toMatchObject({ projection: 'event-counter', tenant: 'acme' })
  })

  it('client: a request over max_payload is TOO_LARGE, a stream with a space INVALID_ID', async () => {
    const client = createAllSourceClient(nc)
    const big = await client.tryAppend('acme', 'huge-1', [{ type: 'a', payload: 'x'.repeat(MAX_PAYLOAD) }])
    expect(big._tag === 'Left' && big.left).toMatchObject({ code: 'TOO_LARGE', details: { max: MAX_PAYLOAD, unit: 'bytes' } })
    await expect(client.append('acme', 'huge-1', [{ type: 'a', payload: 'x'.repeat(MAX_PAYLOAD) }])).rejects.toBeInstanceOf(AllSourceError)
    const spaced = await client.tryRead('acme', 'a b')
    expect(spaced._tag === 'Left' && spaced.left.code).toBe('INVALID_ID')
  })

  it.each([
    ['a wildcard tenant', { tenant: '*' }],
    ['a full-wildcard tenant', { tenant: '>' }],
    ['a stream with a space', { tenant: 'acme', stream: 'a b' }],
    ['a stream with a dot', { tenant: 'acme', stream: 'a.b' }],
  ])('app.replay refuses %s with INVALID_ID instead of widening its filter', (_name, options) => {
    expect(() => app.replay(options)).toThrow(expect.objectContaining({ code: 'INVALID_ID' }))
  })
})
