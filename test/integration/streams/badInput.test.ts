import { headers, type Msg, type NatsConnection } from '@nats-io/transport-node'
import { pack, unpack } from 'msgpackr'
import { beforeAll, describe, expect, it } from 'vitest'
import type { AllSource } from '../../../src/main/allSource.js'
import { createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { bankAccountModule } from '../../../src/domain/examples/bankAccount.js'
import { readWholeLog } from '../../support/eventLogReader.js'
import { withProcessor } from '../../support/processorFixture.js'

const MAX_PAYLOAD = 8192
const json = headers()
json.set('Content-Type', 'application/json')

interface Reply {
  readonly status: string
  readonly description: string
  readonly body: { error?: { code: string; message: string; [k: string]: unknown }; [k: string]: unknown }
}

describe('bad input on the append service', () => {
  const fixture = withProcessor({ modules: [bankAccountModule], maxEventsPerCommit: 5, server: { config: `max_payload: ${MAX_PAYLOAD}` } })
  let nc: NatsConnection
  let app: AllSource

  const raw = async (subject: string, data: Uint8Array, asJson: boolean): Promise<Reply> => {
    const m: Msg = await nc.request(subject, data, { timeout: 5_000, ...(asJson ? { headers: json } : {}) })
    const body = asJson ? (JSON.parse(new TextDecoder().decode(m.data)) as Reply['body']) : (unpack(m.data) as Reply['body'])
    return { status: m.headers?.get('Nats-Service-Error-Code') ?? '', description: m.headers?.get('Nats-Service-Error') ?? '', body }
  }
  const send = (stream: string, body: unknown, asJson = true, tenant = 'acme') =>
    raw(`allsource.append.${tenant}.${stream}`, asJson ? new TextEncoder().encode(JSON.stringify(body)) : pack(body), asJson)

  const expectError = (r: Reply, code: string, status: string) => {
    expect(r.body.error?.code, JSON.stringify(r.body)).toBe(code)
    expect(r.status).toBe(status)
    expect(r.description.length).toBeGreaterThan(0)
    expect(r.body.error?.message).toBe(r.description)
  }

  beforeAll(() => {
    ;({ nc, app } = fixture())
  })

  it('answers malformed msgpack and malformed JSON with BAD_REQUEST', async () => {
    expectError(await raw('allsource.append.acme.s-1', new Uint8Array([0xc1, 0xff, 0x00]), false), 'BAD_REQUEST', '400')
    expectError(await raw('allsource.append.acme.s-1', new TextEncoder().encode('{"events": ['), true), 'BAD_REQUEST', '400')
    expectError(await raw('allsource.append.acme.s-1', new Uint8Array(0), false), 'BAD_REQUEST', '400')
  })

  it.each([
    ['a body that is not an object', [1, 2]],
    ['a string body', 'hello'],
    ['no events', { expectedVersion: 0 }],
    ['empty events', { events: [] }],
    ['events not an array', { events: { type: 'a', payload: 1 } }],
    ['an event that is not an object', { events: [42] }],
    ['payload missing', { events: [{ type: 'a' }] }],
    ['payload null', { events: [{ type: 'a', payload: null }] }],
    ['an unknown expectedVersion form', { events: [{ type: 'a', payload: 1 }], expectedVersion: 'latest' }],
    ['a negative expectedVersion', { events: [{ type: 'a', payload: 1 }], expectedVersion: -1 }],
  ])('answers %s with BAD_REQUEST, in JSON and msgpack', async (_name, body) => {
    expectError(await send('s-1', body, true), 'BAD_REQUEST', '400')
    expectError(await send('s-1', body, false), 'BAD_REQUEST', '400')
  })

  it('answers more events than the configured maximum with TOO_LARGE', async () => {
    const events = Array.from({ length: 6 }, (_, i) => ({ type: 'a', payload: i }))
    const r = await send('s-1', { events })
    expectError(r, 'TOO_LARGE', '413')
    expect(r.body.error).toMatchObject({ size: 6, max: 5, unit: 'events' })
  })

  it.each([
    ['an event type with a space', { events: [{ type: 'a b', payload: 1 }] }, 'events[0].type'],
    ['an event type with *', { events: [{ type: 'a*', payload: 1 }] }, 'events[0].type'],
    ['an event type with >', { events: [{ type: 'a>', payload: 1 }] }, 'events[0].type'],
    ['an over-long event type', { events: [{ type: 'a'.repeat(201), payload: 1 }] }, 'events[0].type'],
    ['an event id with a space', { events: [{ type: 'a', payload: 1, id: 'x y' }] }, 'events[0].id'],
    ['an over-long event id', { events: [{ type: 'a', payload: 1, id: 'x'.repeat(129) }] }, 'events[0].id'],
    ['a commitId with a space', { events: [{ type: 'a', payload: 1 }], commitId: 'c 1' }, 'commitId'],
  ])('answers %s with INVALID_ID', async (_name, body, field) => {
    const r = await send('s-1', body)
    expectError(r, 'INVALID_ID', '400')
    expect(r.body.error?.field).toBe(field)
  })

  it.each([
    ['a tenant with =', 'acme=1', 's-1', 'tenant'],
    ['an over-long tenant', 't'.repeat(65), 's-1', 'tenant'],
    ['a stream with a character outside the alphabet', 'acme', 's@1', 'stream'],
    ['an over-long stream', 'acme', 's'.repeat(201), 'stream'],
    ['a stream with *', 'acme', 's*', 'stream'],
    ['a stream with >', 'acme', 's>', 'stream'],
  ])('answers %s in the subject with INVALID_ID', async (_name, tenant, stream, field) => {
    const r = await send(stream, { events: [{ type: 'a', payload: 1 }] }, true, tenant)
    expectError(r, 'INVALID_ID', '400')
    expect(r.body.error?.field).toBe(field)
  })

  it.each([
    ['a tenant with a dot', 'ac.me', 's-1', 'tenant'],
    ['a stream with a dot', 'acme', 's.1', 'stream'],
    ['a stream that is a wildcard', 'acme', '*', 'stream'],
    ['a stream that is a full wildcard', 'acme', '>', 'stream'],
    ['a tenant with a space', 'ac me', 's-1', 'tenant'],
    ['an empty stream', 'acme', '', 'stream'],
  ])('refuses %s with INVALID_ID before building a subject (client and in-process)', async (_name, tenant, stream, field) => {
    const client = createAllSourceClient(nc)
    const r = await client.tryAppend(tenant, stream, [{ type: 'a', payload: 1 }])
    expect(r._tag === 'Left' && r.left.code).toBe('INVALID_ID')
    expect(r._tag === 'Left' && r.left.details.field).toBe(field)
    const local = await app.append(tenant, stream, [{ type: 'a', payload: 1 }])
    expect(local._tag === 'Left' && local.left._tag).toBe('InvalidId')
  })

  it('answers a commit larger than the server max payload with TOO_LARGE before it reaches JetStream', async () => {
    const big = 'x'.repeat(MAX_PAYLOAD - 300)
    const r = await send('big-1', { events: [{ type: 'a', payload: big }] })
    expectError(r, 'TOO_LARGE', '413')
    expect(r.body.error?.max).toBe(MAX_PAYLOAD)
    expect((await readWholeLog(nc)).filter((c) => c.body.stream === 'big-1')).toHaveLength(0)
  })

  it('answers an event that breaks a module invariant with VALIDATION_FAILED and details', async () => {
    await send('account-1', { events: [{ type: 'AccountOpened', payload: { owner: 'ann' } }, { type: 'MoneyDeposited', payload: { amount: 5 } }] })
    const r = await send('account-1', { events: [{ type: 'MoneyWithdrawn', payload: { amount: 50 } }] })
    expectError(r, 'VALIDATION_FAILED', '400')
    expect(r.body.error?.failures).toEqual([
      { path: 'events[0]:invariant:balance-not-negative', message: 'balance would be -45' },
    ])
    const codec = await send('account-1', { events: [{ type: 'MoneyDeposited', payload: { amount: 'lots' } }] })
    expectError(codec, 'VALIDATION_FAILED', '400')
  })

  it('answers a stale expectedVersion with WRONG_EXPECTED_VERSION carrying expected and actual', async () => {
    await send('s-2', { events: [{ type: 'a', payload: 1 }] })
    const r = await send('s-2', { events: [{ type: 'a', payload: 2 }], expectedVersion: 0 })
    expectError(r, 'WRONG_EXPECTED_VERSION', '409')
    expect(r.body.error).toMatchObject({ expected: 0, actual: 1 })
    const named = await send('s-2', { events: [{ type: 'a', payload: 2 }], expectedVersion: 'no_stream' })
    expect(named.body.error).toMatchObject({ code: 'WRONG_EXPECTED_VERSION', expected: 'no_stream', actual: 1 })
  })

  it('keeps serving after all of that, and no rejected request wrote anything', async () => {
    const ok = await send('s-3', { events: [{ type: 'a', payload: { fine: true } }], expectedVersion: 'no_stream' })
    expect(ok.body).toMatchObject({ tenant: 'acme', stream: 's-3', fromVersion: 1, toVersion: 1 })
    const msgpackOk = await send('s-3', { events: [{ type: 'a', payload: 2 }], expectedVersion: 1 }, false)
    expect(msgpackOk.body).toMatchObject({ fromVersion: 2, toVersion: 2 })
    const log = await readWholeLog(nc)
    expect(log.filter((c) => c.body.stream === 's-1')).toHaveLength(0)
    expect(log.filter((c) => c.body.stream === 'account-1').flatMap((c) => c.body.events)).toHaveLength(2)
  })
})
