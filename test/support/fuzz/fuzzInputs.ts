import * as fc from 'fast-check'
import { worldFilter } from '../filterArbitrary.js'

/**
 * The fuzzer's inputs, as fast-check arbitraries: requests to every endpoint, ingest messages and
 * subscription API calls, mostly almost-right (so they get past the first check) and sometimes
 * plain wrong.
 */

export type Op = 'append' | 'read' | 'query' | 'projection' | 'projectionAdmin' | 'projectionsStatus' | 'pipelineAdmin'

/** A body before encoding. `value` is encoded as `format`; the others are raw. */
export type BodySpec =
  | { readonly t: 'value'; readonly format: 'json' | 'msgpack'; readonly value: unknown }
  | { readonly t: 'mutated'; readonly format: 'json' | 'msgpack'; readonly value: unknown; readonly edits: readonly Edit[] }
  | { readonly t: 'bytes'; readonly bytes: Uint8Array }
  | { readonly t: 'deep'; readonly format: 'json' | 'msgpack'; readonly depth: number; readonly map: boolean; /** Inside a valid envelope (an event's payload, a field) rather than the whole body. */ readonly wrapped: boolean; readonly op: Op }
  | { readonly t: 'huge'; readonly format: 'json' | 'msgpack'; readonly size: number; readonly op: Op }
  | { readonly t: 'empty' }

/** A byte edit at a relative position (0..1) of the encoded body. */
export interface Edit {
  readonly at: number
  readonly kind: 'flip' | 'insert' | 'delete' | 'truncate'
  readonly byte: number
}

export type Headers = readonly (readonly [string, string])[]

export interface RequestInput {
  readonly kind: 'request'
  readonly op: Op
  /** Subject tokens after `allsource.<verb>`; the token `<unique>` becomes a fresh stream id. */
  readonly tokens: readonly string[]
  readonly body: BodySpec
  readonly headers: Headers
}

export interface IngestInput {
  readonly kind: 'ingest'
  readonly tokens: readonly string[]
  readonly body: BodySpec
  readonly headers: Headers
}

export interface SubscriptionInput {
  readonly kind: 'subscription'
  readonly tenant: string
  readonly name: string
  readonly stream: string | undefined
  readonly from: unknown
  readonly to: unknown
}

export type FuzzInput = RequestInput | IngestInput | SubscriptionInput

export const UNIQUE = '<unique>'
/** A stream token replaced by the last stream appended to successfully (with its tenant): reads what the fuzz wrote. */
export const LAST = '<last>'

const validTenant = fc.constantFrom('acme', 'fuzz', 'tenant_1', 'T-2')
const validId = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/)
/** Tokens a client might put in a subject: wildcards, unicode, dots, spaces, empty, over-long. */
const oddToken = fc.oneof(
  fc.constantFrom('*', '>', '', 'a.b', 'a b', 'é', '日本', 'a*', 'a>', '$SYS', '..', 'x'.repeat(300), 'a\tb', '🙂'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }),
)
const tenantToken = fc.oneof({ weight: 8, arbitrary: validTenant }, { weight: 2, arbitrary: oddToken })
const streamToken = fc.oneof({ weight: 6, arbitrary: fc.constant(UNIQUE) }, { weight: 2, arbitrary: validId }, { weight: 2, arbitrary: oddToken })
const projectionName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('entity-state', 'event-counter', 'event-frequency') },
  { weight: 2, arbitrary: fc.constantFrom('nope', 'Event-Counter') },
  { weight: 2, arbitrary: oddToken },
)

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n })
/** Any value a decoder can produce: JSON values, 64-bit integers, dates, odd numbers. */
const anything: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: int64 },
  { weight: 1, arbitrary: fc.date({ noInvalidDate: true }) },
  { weight: 1, arbitrary: fc.constantFrom(-0, 1e308, -1, 0.5, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, '', '0', 'any', true, null) },
)
/** A number field, mostly plausible, sometimes anything. */
const num = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(0, 1) }, { weight: 3, arbitrary: fc.integer({ min: -2, max: 20 }) }, { weight: 1, arbitrary: anything })
const optional = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined, freq: 2 })
const record = (fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> =>
  fc.record(Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, optional(v)]))).map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)))

const eventType = fc.oneof({ weight: 6, arbitrary: fc.constantFrom('a', 'order.placed', 'MoneyDeposited', 'AccountOpened', 'x:y') }, { weight: 1, arbitrary: oddToken }, { weight: 1, arbitrary: anything })
const event = fc.oneof(
  { weight: 8, arbitrary: record({ type: eventType, payload: anything, metadata: anything, id: fc.oneof(fc.uuid(), oddToken, anything) }) },
  { weight: 1, arbitrary: anything },
)
const appendBody = fc.oneof(
  { weight: 8, arbitrary: fc.record({ events: fc.array(event, { minLength: 1, maxLength: 4 }), rest: record({ expectedVersion: fc.oneof(num, fc.constantFrom('any', 'no_stream', 'exists', 'latest')), commitId: fc.oneof(fc.uuid(), fc.constantFrom('c-1', 'c-2'), oddToken, anything) }) }).map(({ events, rest }) => ({ events, ...rest })) },
  { weight: 2, arbitrary: record({ events: anything, expectedVersion: anything, commitId: anything }) },
)
const time = fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.constantFrom('2026-13-45T00:00:00Z', 'yesterday', ''), fc.date(), anything)
/** `where` of a query: valid and broken text, valid filters, anything. */
const where: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('type = "a"', 'payload.n > 1 and not exists metadata.k', 'type in ("a", "b") or (', 'timestamp > "yesterday"', ''),
  fc.string({ maxLength: 30 }),
  worldFilter({ types: ['a', 'b'], streams: ['s-1'], stamps: ['2026-01-01T00:00:00Z'], maxOffset: 100, maxVersion: 10 }, 2),
  anything,
)
/** A pipeline admin body (`allsource.admin.<t>.pipelines.*`, and the HTTP pipeline routes): definitions near the valid ones (few names, so a run creates few pipelines), `{ name, fromOffset }`, and anything. */
export const pipelineAdminBody: fc.Arbitrary<unknown> = (() => {
  const stage = fc.oneof(
    fc.record({ filter: where }),
    fc.record({ map: fc.oneof(fc.record({ fields: fc.dictionary(fc.constantFrom('a', 'b', '1x', ''), fc.constantFrom('type', 'payload.n', 'nope', '')) }), anything) }),
    fc.record({ reduce: fc.record({ key: fc.oneof(fc.constant('stream'), anything), aggregates: fc.oneof(fc.constant({ n: { count: true } }), anything), window: fc.oneof(fc.constant({ tumbling: { sizeMs: 60_000 } }), fc.constant({ session: { gapMs: 0 } }), anything) }, { requiredKeys: ['aggregates'] }) }),
    anything,
  )
  const sink = fc.oneof(fc.constant({ readModel: {} }), fc.record({ stream: fc.record({ name: fc.oneof(validId, oddToken) }) }), anything)
  return fc.oneof(
    record({ name: fc.oneof(fc.constantFrom('fz-a', 'fz-b'), oddToken, anything), version: num, stages: fc.oneof(fc.array(stage, { maxLength: 4 }), anything), sink }),
    record({ name: fc.oneof(fc.constantFrom('fz-a', 'fz-b', 'ghost'), oddToken, anything), fromOffset: num }),
  )
})()
const bodyValue = (op: Op): fc.Arbitrary<unknown> => {
  switch (op) {
    case 'append':
      return appendBody
    case 'read':
      return record({ fromVersion: num, limit: fc.oneof(num, fc.constantFrom(10_000, 10_001, 0)) })
    case 'query':
      return record({ id: fc.oneof(fc.uuid(), anything), stream: fc.oneof(validId, oddToken), type: eventType, since: time, until: time, fromOffset: num, limit: num, where })
    case 'projection':
      return fc.oneof(
        record({ key: fc.oneof(validId, oddToken, anything), minOffset: num, timeoutMs: fc.oneof(fc.integer({ min: 0, max: 1_500 }), fc.constantFrom(-1, 'x', 1e12)) }),
        record({ keys: fc.oneof(fc.constant(true), anything), after: fc.oneof(validId, anything), limit: num }),
      )
    case 'projectionAdmin':
      return record({ fromOffset: num })
    case 'projectionsStatus':
      return anything
    case 'pipelineAdmin':
      return pipelineAdminBody
    default: {
      const never: never = op
      return never
    }
  }
}

const edit: fc.Arbitrary<Edit> = fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), kind: fc.constantFrom('flip', 'insert', 'delete', 'truncate'), byte: fc.integer({ min: 0, max: 255 }) })
const format = fc.constantFrom<'json' | 'msgpack'>('json', 'msgpack')

const body = (op: Op): fc.Arbitrary<BodySpec> =>
  fc.oneof(
    { weight: 10, arbitrary: fc.record({ t: fc.constant('value' as const), format, value: bodyValue(op) }) },
    { weight: 5, arbitrary: fc.record({ t: fc.constant('mutated' as const), format, value: bodyValue(op), edits: fc.array(edit, { minLength: 1, maxLength: 4 }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('value' as const), format, value: anything }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 64 }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('deep' as const), format, depth: fc.oneof(fc.integer({ min: 90, max: 110 }), fc.integer({ min: 1_000, max: 20_000 })), map: fc.boolean(), wrapped: fc.boolean(), op: fc.constant(op) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('huge' as const), format, size: fc.integer({ min: 50_000, max: 900_000 }), op: fc.constant(op) }) },
    { weight: 1, arbitrary: fc.constant({ t: 'empty' as const }) },
  )

const headerList: fc.Arbitrary<Headers> = fc
  .record({
    contentType: optional(fc.constantFrom('application/json', 'application/msgpack', 'text/plain', 'application/JSON; charset=utf-8', ' ', 'é')),
    extra: fc.array(fc.tuple(fc.constantFrom('Nats-Msg-Id', 'Nats-Expected-Last-Sequence', 'Nats-Rollup', 'X-Fuzz', 'Nats-Service-Error-Code'), fc.string({ maxLength: 12 })), { maxLength: 2 }),
  })
  .map(({ contentType, extra }) => [...(contentType === undefined ? [] : [['Content-Type', contentType] as const]), ...extra])

const tokensFor = (op: Op): fc.Arbitrary<readonly string[]> => {
  switch (op) {
    case 'append':
      return fc.oneof({ weight: 9, arbitrary: fc.tuple(tenantToken, streamToken) }, { weight: 1, arbitrary: fc.array(tenantToken, { maxLength: 4 }) })
    case 'read':
      return fc.oneof({ weight: 5, arbitrary: fc.tuple(tenantToken, streamToken) }, { weight: 4, arbitrary: fc.constant([LAST, LAST]) }, { weight: 1, arbitrary: fc.array(tenantToken, { maxLength: 4 }) })
    case 'query':
      return fc.oneof({ weight: 9, arbitrary: fc.tuple(tenantToken) }, { weight: 1, arbitrary: fc.array(tenantToken, { maxLength: 3 }) })
    case 'projection':
      return fc.oneof({ weight: 9, arbitrary: fc.tuple(tenantToken, projectionName) }, { weight: 1, arbitrary: fc.array(tenantToken, { maxLength: 4 }) })
    case 'projectionAdmin':
      // Real projections only get `status` and odd commands: pausing or rebuilding them would change what the rest of the run sees.
      return fc.oneof(
        fc.tuple(fc.constantFrom('entity-state', 'event-counter'), fc.constantFrom('status', 'Status', 'explode', '*')),
        fc.tuple(fc.oneof(fc.constantFrom('nope', 'ghost'), oddToken), fc.constantFrom('status', 'pause', 'resume', 'rebuild', 'x')),
      )
    case 'projectionsStatus':
      return fc.constant([])
    case 'pipelineAdmin':
      return fc.tuple(tenantToken, fc.constant('pipelines'), fc.constantFrom('create', 'list', 'get', 'delete', 'pause', 'resume', 'rebuild', 'explode', '*'))
    default: {
      const never: never = op
      return never
    }
  }
}

const ops: readonly Op[] = ['append', 'read', 'query', 'projection', 'projectionAdmin', 'projectionsStatus', 'pipelineAdmin']
const request: fc.Arbitrary<RequestInput> = fc
  .constantFrom(...ops)
  .chain((op) => fc.record({ kind: fc.constant('request' as const), op: fc.constant(op), tokens: tokensFor(op), body: body(op), headers: headerList }))

/** An ingest body is one event or `{ events }`: the first event of an append body half the time. */
const firstEvent = (v: unknown): unknown => {
  const events = (v as { events?: unknown } | null)?.events
  return Array.isArray(events) ? events[0] : v
}
const ingest: fc.Arbitrary<IngestInput> = fc
  .record({ kind: fc.constant('ingest' as const), tokens: fc.tuple(tenantToken, streamToken), body: body('append'), single: fc.boolean(), headers: headerList })
  .map(({ single, body: b, ...rest }) => ({ ...rest, body: single && (b.t === 'value' || b.t === 'mutated') ? { ...b, value: firstEvent(b.value) } : b }))

/** The subscription API is typed: any `StartAt`, with any number and any Date (invalid ones too). */
const startAt = fc.oneof(
  fc.constantFrom('start' as const, 'end' as const),
  fc.record({ offset: fc.oneof(fc.integer({ min: -2, max: 50 }), fc.double(), fc.constantFrom(Number.MAX_SAFE_INTEGER, 2 ** 60)) }),
  fc.record({ time: fc.oneof(fc.date(), fc.constant(new Date(Number.NaN)), fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15) })) }),
)
const subscription: fc.Arbitrary<SubscriptionInput> = fc.record({
  kind: fc.constant('subscription' as const),
  tenant: tenantToken,
  name: fc.oneof({ weight: 4, arbitrary: validId }, { weight: 1, arbitrary: oddToken }),
  stream: optional(fc.oneof(validId, oddToken)),
  from: startAt,
  to: startAt,
})

/** One input: requests mostly, then ingest, then the subscription API. */
export const fuzzInput: fc.Arbitrary<FuzzInput> = fc.oneof({ weight: 14, arbitrary: request }, { weight: 3, arbitrary: ingest }, { weight: 1, arbitrary: subscription })
