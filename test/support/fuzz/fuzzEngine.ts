import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { errors as natsErrors, headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node'
import * as fc from 'fast-check'
import { Packr, unpack } from 'msgpackr'
import { createSubscriptions, type StartAt } from '../../../src/adapters/nats/reading/subscriptions.js'
import { type ErrorCode, statusOf, toWireError } from '../../../src/adapters/nats/service/errorCodes.js'
import type { FuzzTarget } from './fuzzTarget.js'
import { type BodySpec, type FuzzInput, fuzzInput, type Headers, type IngestInput, LAST, type Op, type RequestInput, type SubscriptionInput, UNIQUE } from './fuzzInputs.js'

/**
 * The fuzz engine: sends generated and mutated inputs to a real processor, a batch at a time
 * (concurrently), until the time is up, and checks after every reply and at the end:
 *
 * - no crash: the processor process is alive, and still answers a valid append and read;
 * - no hang: every request is answered within its allowance (no "no responders" on a subject it serves);
 * - every failure reply carries a contract error code (DESIGN.md) with the matching
 *   `Nats-Service-Error-Code`, and bad input is not answered `INTERNAL`;
 * - no event written from rejected input: every commit in the log belongs to a stream that got a
 *   successful append (or an ingest message);
 * - ingest still flows: a valid message published at the end is appended;
 * - the subscription API answers every call with a value (a `Left` with a contract code), never a throw.
 *
 * A failure has a signature (`area kind: message`, digits as N) so a known, tolerated cause can be
 * listed and counted apart.
 */

export interface FuzzOptions {
  readonly seconds: number
  readonly seed?: number
  /** Most inputs sent at once. Default 16. */
  readonly batch?: number
  /** Signatures (regular expressions) of failures caused by known, unfixed defects: counted apart. */
  readonly known?: readonly { readonly signature: RegExp; readonly why: string }[]
  readonly log?: (line: string) => void
}

export interface Failure {
  readonly signature: string
  readonly area: 'append' | 'read' | 'query' | 'projection' | 'ingest' | 'subscription' | 'processor' | 'log'
  readonly detail: string
  readonly example: string
}

export interface FuzzReport {
  readonly seed: number
  readonly inputs: number
  readonly requests: number
  readonly ms: number
  /** Replies by code (`ok` for success), requests the client refused to send (`client-refused`), subjects nobody serves (`unroutable`). */
  readonly outcomes: Readonly<Record<string, number>>
  /** Warning and error lines the processor printed, grouped (digits as N), most frequent first. */
  readonly processorLog: readonly { readonly line: string; readonly count: number }[]
  readonly crashed: boolean
  readonly hangs: number
  readonly writtenFromRejected: number
  /** Failures not matched by `known`, one entry per signature with its count. */
  readonly failures: readonly (Failure & { readonly count: number })[]
  /** Failures matched by `known`. */
  readonly tolerated: readonly (Failure & { readonly count: number; readonly why: string })[]
}

const CODES = new Set<string>(Object.keys(statusOf))
const packr = new Packr({ useRecords: false, moreTypes: false })
const enc = new TextEncoder()

/** JSON with 64-bit integers written as bare digits (what another language's encoder would send). */
const toJson = (v: unknown): string => {
  const marks: string[] = []
  const text = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `\u0000${marks.push(x.toString()) - 1}\u0000` : x)) ?? 'null'
  return text.replace(/"\\u0000(\d+)\\u0000"/g, (_m, i: string) => marks[Number(i)] ?? '0')
}

const encodeValue = (format: 'json' | 'msgpack', v: unknown): Uint8Array => (format === 'json' ? enc.encode(toJson(v)) : packr.pack(v))

/** Built by hand: encoders recurse, so they cannot build 20,000 levels. */
const deepBytes = (format: 'json' | 'msgpack', depth: number, map: boolean): Uint8Array => {
  if (format === 'json') return enc.encode(`${(map ? '{"a":' : '[').repeat(depth)}1${(map ? '}' : ']').repeat(depth)}`)
  const level = map ? [0x81, 0xa1, 0x61] : [0x91]
  const out = new Uint8Array(depth * level.length + 1)
  for (let i = 0; i < depth; i++) out.set(level, i * level.length)
  out[out.length - 1] = 0x01
  return out
}

/** The deep value inside an otherwise valid body: an event's payload, or the op's first field. */
const wrapDeep = (format: 'json' | 'msgpack', op: Op, deep: Uint8Array): Uint8Array => {
  const marker = '\u0001DEEP\u0001'
  const envelope = op === 'append' ? { events: [{ type: 'a', payload: marker }] } : op === 'query' ? { stream: marker } : op === 'read' ? { fromVersion: marker } : { key: marker }
  const text = format === 'json' ? toJson(envelope) : undefined
  if (text !== undefined) {
    const [before, after] = text.split(JSON.stringify(marker))
    return enc.encode(`${before ?? ''}${new TextDecoder().decode(deep)}${after ?? ''}`)
  }
  const packed = packr.pack(envelope)
  const m = packr.pack(marker)
  const at = Buffer.from(packed).indexOf(Buffer.from(m))
  return new Uint8Array([...packed.subarray(0, at), ...deep, ...packed.subarray(at + m.length)])
}

const hugeValue = (op: Op, size: number): unknown => {
  const big = 'x'.repeat(size)
  return op === 'append' ? { events: [{ type: 'a', payload: { big } }] } : op === 'query' ? { stream: big } : { key: big, fromVersion: 1 }
}

const applyEdits = (bytes: Uint8Array, edits: readonly { at: number; kind: string; byte: number }[]): Uint8Array => {
  let b = Array.from(bytes)
  for (const e of edits) {
    const i = Math.min(b.length, Math.floor(e.at * b.length))
    if (e.kind === 'flip' && i < b.length) b[i] = (b[i] as number) ^ (1 << e.byte % 8)
    else if (e.kind === 'insert') b.splice(i, 0, e.byte)
    else if (e.kind === 'delete') b.splice(i, 1)
    else if (e.kind === 'truncate') b = b.slice(0, i)
  }
  return new Uint8Array(b)
}

/** The bytes of a body, or undefined if the fuzzer's own encoder cannot encode the value. */
const bytesOf = (spec: BodySpec): Uint8Array | undefined => {
  try {
    switch (spec.t) {
      case 'value':
        return encodeValue(spec.format, spec.value)
      case 'mutated':
        return applyEdits(encodeValue(spec.format, spec.value), spec.edits)
      case 'bytes':
        return spec.bytes
      case 'deep': {
        const deep = deepBytes(spec.format, spec.depth, spec.map)
        return spec.wrapped ? wrapDeep(spec.format, spec.op, deep) : deep
      }
      case 'huge':
        return encodeValue(spec.format, hugeValue(spec.op, spec.size))
      case 'empty':
        return new Uint8Array()
      default: {
        const never: never = spec
        return never
      }
    }
  } catch {
    return undefined
  }
}

const natsHeadersOf = (list: Headers, spec: BodySpec): MsgHdrs | undefined => {
  // A JSON value body gets its Content-Type most of the time; the generated headers decide the rest.
  const wantsJson = (spec.t === 'value' || spec.t === 'mutated' || spec.t === 'deep' || spec.t === 'huge') && spec.format === 'json'
  const all: (readonly [string, string])[] = [...list]
  if (wantsJson && !all.some(([k]) => k === 'Content-Type') && spec.t !== 'mutated') all.push(['Content-Type', 'application/json'])
  if (all.length === 0) return undefined
  const h = natsHeaders()
  for (const [k, v] of all) h.append(k, v)
  return h
}

const verbOf: Readonly<Record<Op, string>> = {
  append: 'append',
  read: 'read',
  query: 'query',
  projection: 'projection',
  projectionAdmin: 'admin.projection',
  projectionsStatus: 'admin.projections',
  pipelineAdmin: 'admin',
}
const areaOf = (op: Op): Failure['area'] => (op === 'projectionAdmin' || op === 'projectionsStatus' || op === 'pipelineAdmin' ? 'projection' : op)

const normalize = (s: string): string =>
  s
    .replace(/"[^"]{20,}"/g, '"…"')
    .replace(/\d+/g, 'N')
    .slice(0, 140)
const hex = (b: Uint8Array | undefined): string => (b === undefined ? '-' : `${b.length} bytes ${Buffer.from(b.subarray(0, 48)).toString('hex')}${b.length > 48 ? '…' : ''}`)
const describe = (x: unknown): string => {
  try {
    return toJson(x).slice(0, 200)
  } catch {
    return String(x).slice(0, 200)
  }
}

/** A subject the processor cannot be asked on (a wildcard or an empty token): the server may drop it. */
const unroutable = (tokens: readonly string[]) => tokens.some((t) => t === '' || t.includes('*') || t.includes('>') || /\s/.test(t) || t.includes('.'))

export const runFuzz = async (target: FuzzTarget, options: FuzzOptions): Promise<FuzzReport> => {
  const { nc } = target
  const seed = options.seed ?? Date.now() % 2 ** 31
  const log = options.log ?? (() => undefined)
  const outcomes: Record<string, number> = {}
  const failures = new Map<string, Failure & { count: number }>()
  const count = (k: string) => (outcomes[k] = (outcomes[k] ?? 0) + 1)
  const fail = (f: Failure) => {
    const prev = failures.get(f.signature)
    if (prev !== undefined) prev.count++
    else failures.set(f.signature, { ...f, count: 1 })
  }
  /** Streams that may hold commits: a successful or unanswered append, an ingest message, a canary. */
  const mayWrite = new Set<string>()
  /**
   * The tenant/stream a subject names as the server and the processor read it: by the subject's
   * own tokens, not the generated token list (one generated token holding a dot, `t.s`, makes the
   * valid subject `allsource.append.t.s`). Undefined when it does not name one.
   */
  const streamOf = (subject: string): string | undefined => {
    const parts = subject.split('.')
    return parts.length === 4 ? `${parts[2]}/${parts[3]}` : undefined
  }
  const mayHaveWritten = (subject: string): void => {
    const key = streamOf(subject)
    if (key !== undefined) mayWrite.add(key)
  }
  let unique = 0
  let last: readonly [string, string] = ['fuzz', 'none']
  let inputs = 0
  let requests = 0
  let hangs = 0
  let crashed = false
  const subs = createSubscriptions(nc, 'allsource')

  const request = async (input: RequestInput): Promise<void> => {
    const tokens = input.tokens[0] === LAST ? last : input.tokens.map((t) => (t === UNIQUE ? `fz-${++unique}` : t))
    const verb = verbOf[input.op]
    const subject = ['allsource', verb, ...tokens].join('.')
    const data = bytesOf(input.body)
    if (data === undefined) return void count('unencodable')
    const area = areaOf(input.op)
    const example = `${subject} ${hex(data)}`
    const waitMs = input.op === 'projection' ? projectionWait(input.body) : 0
    let h: MsgHdrs | undefined
    try {
      h = natsHeadersOf(input.headers, input.body)
    } catch {
      return void count('client-refused')
    }
    requests++
    let reply
    try {
      reply = await nc.request(subject, data, { timeout: 10_000 + waitMs, ...(h !== undefined ? { headers: h } : {}) })
    } catch (e) {
      const noResponders = e instanceof natsErrors.NoRespondersError || (e instanceof natsErrors.RequestError && e.isNoResponders())
      const timeout = e instanceof natsErrors.TimeoutError || (e instanceof Error && e.cause instanceof natsErrors.TimeoutError)
      if (noResponders && unroutable(tokens)) return void count('unroutable')
      if (input.op === 'append') mayHaveWritten(subject)
      if (noResponders) return fail({ signature: `${area} no-responders`, area, detail: 'no responders on a subject the processor serves', example })
      if (timeout) {
        hangs++
        return fail({ signature: `${area} hang`, area, detail: `no reply within ${10_000 + waitMs} ms`, example })
      }
      if (e instanceof natsErrors.InvalidSubjectError || e instanceof natsErrors.InvalidArgumentError) return void count('client-refused')
      return fail({ signature: `${area} client-error: ${normalize(e instanceof Error ? `${e.name} ${e.message}` : String(e))}`, area, detail: String(e), example })
    }
    let body: { error?: { code?: unknown; message?: unknown } } | undefined
    try {
      const isJson = reply.headers?.get('Content-Type') === 'application/json'
      body = (isJson ? JSON.parse(new TextDecoder().decode(reply.data)) : unpack(reply.data)) as typeof body
    } catch (e) {
      return fail({ signature: `${area} undecodable-reply`, area, detail: String(e), example })
    }
    const error = body?.error
    if (error === undefined) {
      count('ok')
      if (input.op === 'append') mayHaveWritten(subject)
      if (input.op === 'append' && tokens.length === 2) last = [tokens[0] as string, tokens[1] as string]
      return
    }
    const code = String(error.code)
    count(code)
    // Why the service was unavailable, by cause: a 503 is contract-valid, but its causes are worth seeing.
    if (code === 'UNAVAILABLE') count(`  UNAVAILABLE ${area}: ${normalize(String(error.message)).slice(0, 48)}`)
    // The processor's consumer budgets keep it far below the server's consumer limit: reaching
    // that limit means some path leaves its consumers behind (a leak), whatever the code says.
    if (/maximum consumers/i.test(String(error.message))) return fail({ signature: `${area} consumer limit reached (a consumer leak)`, area, detail: describe(error), example })
    if (!CODES.has(code)) return fail({ signature: `${area} no-contract-code: ${normalize(code)}`, area, detail: describe(error), example })
    const status = reply.headers?.get('Nats-Service-Error-Code')
    if (status !== String(statusOf[code as ErrorCode])) return fail({ signature: `${area} wrong-status: ${code} ${status ?? '-'}`, area, detail: describe(error), example })
    if (code === 'INTERNAL') return fail({ signature: `${area} INTERNAL: ${normalize(String(error.message))}`, area, detail: describe(error), example })
  }

  const ingest = async (input: IngestInput): Promise<void> => {
    const tokens = input.tokens.map((t) => (t === UNIQUE ? `fz-${++unique}` : t))
    const data = bytesOf(input.body)
    if (data === undefined) return void count('unencodable')
    let h: MsgHdrs | undefined
    try {
      h = natsHeadersOf(input.headers, input.body)
    } catch {
      return void count('client-refused')
    }
    const ingestSubject = ['allsource', 'ingest', ...tokens].join('.')
    mayHaveWritten(ingestSubject)
    requests++
    try {
      await jetstream(nc).publish(ingestSubject, data, { timeout: 10_000, ...(h !== undefined ? { headers: h } : {}) })
      count('ingest-stored')
    } catch (e) {
      // Refused by the client or by JetStream (no stream for a wildcard subject, max_payload): not the processor's business.
      count('ingest-refused')
      if (e instanceof natsErrors.TimeoutError) fail({ signature: 'ingest publish-timeout', area: 'ingest', detail: String(e), example: hex(data) })
    }
  }

  const subscription = async (input: SubscriptionInput): Promise<void> => {
    requests++
    const where = `sub ${describe({ tenant: input.tenant, name: input.name, stream: input.stream, from: input.from, to: input.to })}`
    const check = (what: string, r: { _tag: 'Left'; left: { _tag: string } } | { _tag: 'Right' }) => {
      if (r._tag === 'Right') return void count(`sub-${what}-ok`)
      const code = toWireError(r.left as Parameters<typeof toWireError>[0]).code
      count(code)
      if (!CODES.has(code) || code === 'INTERNAL') fail({ signature: `subscription ${what} ${code}`, area: 'subscription', detail: describe(r.left), example: where })
    }
    const call = async (what: string, f: () => Promise<{ _tag: 'Left'; left: { _tag: string } } | { _tag: 'Right' }>): Promise<boolean> => {
      try {
        const r = await f()
        check(what, r)
        return r._tag === 'Right'
      } catch (e) {
        fail({ signature: `subscription ${what} throws: ${normalize(e instanceof Error ? `${e.name} ${e.message}` : String(e))}`, area: 'subscription', detail: String(e), example: where })
        return false
      }
    }
    const spec = { tenant: input.tenant, ...(input.stream !== undefined ? { stream: input.stream } : {}), from: input.from as StartAt }
    const created = await call('create', () => subs.create(input.name, spec))
    await call('position', () => subs.position(input.tenant, input.name))
    await call('reset', () => subs.reset(input.tenant, input.name, input.to as StartAt))
    // Always remove: a durable consumer per input would pile up to the server's limit.
    await call('remove', () => subs.remove(input.tenant, input.name))
    if (created) count('sub-created')
  }

  const one = async (input: FuzzInput): Promise<void> => {
    inputs++
    if (input.kind === 'request') await request(input)
    else if (input.kind === 'ingest') await ingest(input)
    else await subscription(input)
  }

  const started = Date.now()
  const deadline = started + options.seconds * 1000
  let lastLog = started
  await fc.assert(
    fc.asyncProperty(fc.array(fuzzInput, { minLength: 1, maxLength: options.batch ?? 16 }), async (batch) => {
      if (crashed || Date.now() > deadline) return true
      await Promise.all(batch.map(one))
      if (!target.alive()) {
        crashed = true
        fail({ signature: 'processor crash', area: 'processor', detail: target.processor.output().slice(-2_000), example: batch.map((b) => describe(b)).join('\n') })
      }
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now()
        log(`${Math.round((Date.now() - started) / 1000)} s: ${inputs} inputs, ${failures.size} failure signatures`)
      }
      return true
    }),
    { numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: options.seconds * 1000, markInterruptAsFailure: false, seed, endOnFailure: true },
  )
  const ms = Date.now() - started

  // After the run: the processor still serves, ingest still flows, and nothing was written from rejected input.
  let writtenFromRejected = 0
  if (!crashed) {
    const canary = `canary-${Date.now()}`
    mayWrite.add(`fuzz/${canary}`).add(`fuzz/${canary}-i`)
    try {
      const r = unpack((await nc.request(`allsource.append.fuzz.${canary}`, packr.pack({ events: [{ type: 'a', payload: 1 }] }), { timeout: 15_000 })).data) as { error?: { message?: unknown } }
      if (r.error !== undefined) fail({ signature: `processor canary append refused: ${normalize(String(r.error.message))}`, area: 'processor', detail: describe(r.error), example: canary })
      const read = unpack((await nc.request(`allsource.read.fuzz.${canary}`, packr.pack({}), { timeout: 15_000 })).data) as { events?: unknown[]; error?: { message?: unknown } }
      if (read.error !== undefined) fail({ signature: `processor canary read refused: ${normalize(String(read.error.message))}`, area: 'processor', detail: describe(read), example: canary })
      else if (read.events?.length !== 1) fail({ signature: 'processor canary read wrong', area: 'processor', detail: describe(read), example: canary })
    } catch (e) {
      fail({ signature: `processor canary unanswered: ${normalize(String(e))}`, area: 'processor', detail: String(e), example: canary })
    }
    const h = natsHeaders()
    h.set('Content-Type', 'application/json')
    try {
      await jetstream(nc).publish(`allsource.ingest.fuzz.${canary}-i`, enc.encode('{"type":"a","payload":1}'), { headers: h, timeout: 10_000 })
      let seen = false
      let refused: string | undefined
      for (let i = 0; i < 60 && !seen; i++) {
        const r = unpack((await nc.request(`allsource.read.fuzz.${canary}-i`, packr.pack({}), { timeout: 10_000 })).data) as { events?: unknown[]; error?: { message?: unknown } }
        seen = (r.events?.length ?? 0) > 0
        refused = r.error === undefined ? undefined : String(r.error.message)
        if (!seen) await new Promise((res) => setTimeout(res, 250))
      }
      if (!seen && refused !== undefined) fail({ signature: `ingest canary unreadable: ${normalize(refused)}`, area: 'ingest', detail: refused, example: canary })
      else if (!seen) fail({ signature: 'ingest stuck: a valid message was not appended within 15 s', area: 'ingest', detail: '', example: canary })
    } catch (e) {
      fail({ signature: `ingest canary: ${normalize(String(e))}`, area: 'ingest', detail: String(e), example: canary })
    }
    try {
      for await (const c of wholeLog(nc)) {
        if (mayWrite.has(`${c.tenant}/${c.stream}`)) continue
        // A pipeline's derived-stream sink (created through the fuzzed admin subjects) appends on its
        // own, with the pipeline in each event's metadata; only a created pipeline runs.
        if (c.pipeline !== undefined && c.pipeline.startsWith(`${c.tenant}--`)) continue
        writtenFromRejected++
        fail({ signature: 'log written from rejected input', area: 'log', detail: `offset ${c.offset}`, example: `${c.tenant}/${c.stream}` })
      }
    } catch (e) {
      fail({ signature: `log unreadable: ${normalize(String(e))}`, area: 'log', detail: String(e), example: '' })
    }
  }
  if (!target.alive()) {
    if (!crashed) fail({ signature: 'processor crash', area: 'processor', detail: target.processor.output().slice(-2_000), example: 'after the run' })
    crashed = true
  }

  // Not failures, but worth reading: what the processor logged as warnings or errors.
  const noted = new Map<string, number>()
  for (const line of target.processor.output().split('\n')) {
    if (!/warn|error|unhandled/i.test(line) || line.startsWith('(Use `node')) continue
    // A JSON log line (the processor's default when not on a terminal) is read for its level and message.
    const k = normalize(line.startsWith('{') ? jsonLogText(line) : line.replace(/^\S+ allsource /, ''))
    noted.set(k, (noted.get(k) ?? 0) + 1)
  }

  const known = options.known ?? []
  const all = [...failures.values()]
  const why = (f: Failure) => known.find((k) => k.signature.test(f.signature))?.why
  return {
    seed,
    inputs,
    requests,
    ms,
    outcomes,
    processorLog: [...noted].sort(([, a], [, b]) => b - a).slice(0, 12).map(([line, n]) => ({ line, count: n })),
    crashed,
    hangs,
    writtenFromRejected,
    failures: all.filter((f) => why(f) === undefined),
    tolerated: all.flatMap((f) => {
      const w = why(f)
      return w === undefined ? [] : [{ ...f, why: w }]
    }),
  }
}

/**
 * Every commit of the log, read message by message with the stream's direct "get" API: no
 * consumer, so this works even when the server's consumer limit is reached.
 */
async function* wholeLog(nc: FuzzTarget['nc']): AsyncGenerator<{ readonly offset: number; readonly tenant: string; readonly stream: string; readonly pipeline?: string }> {
  const jsm = await jetstreamManager(nc)
  const last = (await jsm.streams.info('ALLSOURCE_EVENTS')).state.last_seq
  for (let seq = 1; seq <= last; seq++) {
    const m = await jsm.streams.getMessage('ALLSOURCE_EVENTS', { seq }).catch(() => null)
    if (m === null) continue // deleted or never stored
    const body = unpack(m.data) as { tenant: string; stream: string; events?: { metadata?: { pipeline?: unknown } }[] }
    const pipeline = body.events?.[0]?.metadata?.pipeline
    yield { offset: seq, tenant: body.tenant, stream: body.stream, ...(typeof pipeline === 'string' ? { pipeline } : {}) }
  }
}

/** How long a projection read may legitimately wait (its `timeoutMs`, default 5 s when `minOffset` is set). */
const projectionWait = (spec: BodySpec): number => {
  const v = spec.t === 'value' || spec.t === 'mutated' ? (spec.value as { timeoutMs?: unknown } | null) : null
  const t = typeof v?.timeoutMs === 'number' && Number.isFinite(v.timeoutMs) ? v.timeoutMs : 5_000
  return Math.min(Math.max(t, 5_000), 60_000)
}

/** A short text report: inputs, time, outcomes, failures by signature. */
export const formatReport = (r: FuzzReport): string => {
  const lines = [
    `seed ${r.seed}: ${r.inputs} inputs (${r.requests} requests) in ${(r.ms / 1000).toFixed(1)} s`,
    `crashed: ${r.crashed ? 'yes' : 'no'}; hangs: ${r.hangs}; events written from rejected input: ${r.writtenFromRejected}`,
    `outcomes: ${Object.entries(r.outcomes)
      .sort(([, a], [, b]) => b - a)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
    `processor warnings/errors logged: ${r.processorLog.length === 0 ? 'none' : ''}`,
    ...r.processorLog.map((l) => `  ${l.line} ×${l.count}`),
    `failures: ${r.failures.length === 0 ? 'none' : ''}`,
    ...r.failures.map((f) => `  [${f.area}] ${f.signature} ×${f.count}\n      ${f.detail.slice(0, 300).replace(/\n/g, ' ')}\n      e.g. ${f.example.slice(0, 300)}`),
    `tolerated (KNOWN): ${r.tolerated.length === 0 ? 'none' : ''}`,
    ...r.tolerated.map((f) => `  [${f.area}] ${f.signature} ×${f.count} (${f.why})`),
  ]
  return lines.join('\n')
}

/** `<level>: <msg>` of a JSON log line, or the line itself when it is not one. */
const jsonLogText = (line: string): string => {
  try {
    const e = JSON.parse(line) as { level?: unknown; msg?: unknown }
    return `${String(e.level)}: ${String(e.msg)}`
  } catch {
    return line
  }
}
