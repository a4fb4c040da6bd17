import { subjects } from '../subjects.js'
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { type AppendLimits, defaultAppendLimits, validateAppendRequest } from '../../../domain/streams/appendRequest.js'
import { badRequest, invalidId } from '../../../domain/streams/errors.js'
import type { Appender } from '../../../application/streams/appender.js'
import { type AppendError, internal } from '../../../application/streams/errors.js'
import { isRequestId, type RequestContext } from '../../../application/observability/ports.js'
import { toWireError } from '../service/errorCodes.js'
import { DEFAULT_MAX_PAYLOAD, defaultIngestNames, ensureIngestStreams, type IngestNames } from './ingestStreams.js'
import { decodeBody } from '../service/wireCodec.js'
import { mediaTypeOf } from '../../codec/jsonSniff.js'
import { abortableSleep, backoffMs } from '../../system/abortableSleep.js'
import { deadLetterHeaders } from './deadLetterHeaders.js'
import { rateLimitedLog } from './deadLetterLog.js'
import { RecentSet } from './recentSet.js'

export interface IngestOptions extends IngestNames {
  readonly limits: AppendLimits
  /** Most ingest messages delivered and not yet acked (bounds memory). */
  readonly maxAckPending: number
  /** The commitId of the last commit on a stream's subject, to spot work done before a crash. */
  readonly lastCommitId: (tenant: string, stream: string) => Promise<string | undefined>
  readonly log: (message: string) => void
  /** The log's duplicate window: a lost ingest ack must be redelivered well inside it (default 2 min). */
  readonly duplicateWindowMs: number
  /**
   * Attempts at a message whose append keeps failing with INTERNAL (or whose handling throws a
   * defect) before it goes to the DLQ (default 5, `ALLSOURCE_INGEST_MAX_ATTEMPTS`). UNAVAILABLE
   * (NATS down, a timeout) is retried in place for as long as it lasts.
   */
  readonly maxAttempts: number
  /** Streams remembered as checked against their last commitId since start (default 10,000; least recently used forgotten). */
  readonly maxCheckedStreams: number
  /** Most bytes one pull asks for (default 8 MiB), so a batch of large messages cannot swamp the connection. */
  readonly maxPullBytes: number
  /** Replicas of `ALLSOURCE_INGEST` and `ALLSOURCE_DLQ` when they are created (default 1; `ALLSOURCE_REPLICAS`). */
  readonly replicas: number
}

/** Errors that come from a bug or a body the code could not cope with, not from NATS. */
const isDefect = (e: unknown): boolean =>
  e instanceof RangeError || e instanceof TypeError || e instanceof SyntaxError || e instanceof ReferenceError

export interface IngestProcessor {
  /** Messages appended (or found already appended) and acked since start. */
  readonly appended: number
  readonly deadLettered: number
  /**
   * Why ingest stopped taking messages on its own (its consumer ended with an error), undefined
   * while it runs. It takes nothing more; whoever started it should stop it and start it again
   * (the lease holder does), which resumes at the oldest unacked message, in order.
   */
  readonly failure?: string
  /** Stops taking messages and waits for those in hand; anything unacked is redelivered, in order, on the next start. */
  stop(): Promise<void>
}

/** Longest single wait of a message refused `QUOTA_EXCEEDED` before it is tried again (a day's quota waits in these steps). */
const MAX_QUOTA_WAIT_MS = 5_000

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** The ingest message's `AllSource-Request-Id` (when usable) and `traceparent` headers, as the append's context; undefined without either. */
const ingestContext = (m: JsMsg): { readonly context: RequestContext } | undefined => {
  const requestId = m.headers?.get('AllSource-Request-Id')
  const traceparent = m.headers?.get('traceparent')
  const usable = isRequestId(requestId)
  if (!usable && (traceparent === undefined || traceparent === '')) return undefined
  return { context: { ...(usable ? { requestId } : {}), ...(traceparent !== undefined && traceparent !== '' ? { traceparent } : {}) } }
}

/**
 * Appends what clients publish to `allsource.ingest.<tenant>.<stream>`, in publish order per
 * stream, exactly once, acking each ingest message only after the log acked its commit.
 *
 * - Order: on start the durable consumer is recreated, so delivery resumes at the oldest unacked
 *   message (a work queue holds only unacked ones), in sequence order; each stream is served by
 *   one loop; a transient failure is retried in place (never nak'ed), so nothing overtakes it.
 *   One processor at a time should run ingest (see docs/reading.md).
 * - Exactly once: the commitId is the client's or `ingest-<sequence>`; JetStream's dedupe covers
 *   redelivery inside the duplicate window, and the first message of each stream after a start is
 *   compared with the stream's last commitId, which covers a crash between log ack and ingest ack
 *   outside the window.
 * - Invalid messages go to `allsource.dlq.<tenant>.<stream>` unchanged, with
 *   `AllSource-Error-Code`, `AllSource-Error` and `AllSource-Attempts`, and are then acked; so do
 *   poison messages (INTERNAL, or a defect, `maxAttempts` times). Each is logged (rate-limited).
 *   A body without Content-Type that starts with `{` is read as JSON (see jsonSniff).
 * - Auth mode: a policy deny (`FORBIDDEN`) is dead-lettered like any invalid message; a
 *   `QUOTA_EXCEEDED` (rate or `eventsPerDay`) is never dead-lettered: the message waits in place
 *   (`retryAfterMs`, at most 5 s a step, the ack deadline kept alive) and is tried again, so a
 *   burst delays ingest but loses and dead-letters nothing.
 */
export const startIngestProcessor = async (
  nc: NatsConnection,
  appender: Appender,
  options: Partial<IngestOptions> & Pick<IngestOptions, 'lastCommitId'>,
): Promise<IngestProcessor> => {
  const o = {
    ...defaultIngestNames,
    limits: defaultAppendLimits,
    maxAckPending: 10_000,
    log: () => undefined,
    duplicateWindowMs: 120_000,
    maxAttempts: 5,
    maxCheckedStreams: 10_000,
    maxPullBytes: 8 * 2 ** 20,
    replicas: 1,
    ...options,
  }
  const maxPayload = nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD
  // Acks are plain publishes (no round trip). One lost with a connection comes back after ack_wait;
  // keeping ack_wait at most half the duplicate window lets the log's dedupe absorb that redelivery.
  const ackWaitMs = Math.max(1_000, Math.min(60_000, Math.floor(o.duplicateWindowMs / 2)))
  const jsm = await jetstreamManager(nc)
  await ensureIngestStreams(jsm, o, o.replicas, maxPayload)
  await jsm.consumers.delete(o.ingest, o.consumer).catch(() => undefined)
  await jsm.consumers.add(o.ingest, {
    durable_name: o.consumer,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: ackWaitMs * 1_000_000,
    max_ack_pending: o.maxAckPending,
    max_deliver: -1,
  })
  const js = jetstream(nc)
  const consumer = await js.consumers.get(o.ingest, o.consumer)
  // Bounded by bytes: 1,000 messages of up to max_payload each could exceed what the server lets
  // pile up for one connection, and it would cut the processor off as a slow consumer. (nats.js
  // takes either a byte or a message cap per pull; with bytes it asks for up to 100 messages.)
  // A short pull expiry (5 s, not nats.js's 30 s): a pull lost in a leader election is noticed after
  // two missed heartbeats, 5 s instead of a minute of ingest standing still.
  const messages = await consumer.consume({ max_bytes: Math.max(o.maxPullBytes, maxPayload), expires: 5_000 })
  const dlqLog = rateLimitedLog(o.log, 'dead letters')
  const quotaLog = rateLimitedLog(o.log, 'quota waits')

  const queues = new Map<string, JsMsg[]>()
  const checked = new RecentSet(o.maxCheckedStreams)
  let active = 0
  let stopping = false
  const stopSignal = new AbortController()
  let idle: (() => void) | undefined
  const stats = { appended: 0, deadLettered: 0 }
  const subj = subjects(o.prefix)

  const deadLetter = async (m: JsMsg, e: AppendError, attempts = 1): Promise<void> => {
    const wire = toWireError(e)
    // The msgID makes a retried dead-lettering (its ingest ack was lost) land once.
    const msgID = `dlq-${m.seq}`
    // Headers and body must fit in max_payload: the body is kept whole, the headers give way.
    const h = deadLetterHeaders(m.headers, { code: wire.code, error: wire.message, ingestSubject: m.subject, ingestSequence: m.seq, attempts }, maxPayload - m.data.length - 64, [['Nats-Msg-Id', msgID]])
    const ack = await js.publish(subj.dlqFor(m.subject), m.data, { headers: h, msgID })
    await m.ackAck()
    stats.deadLettered++
    dlqLog(`ingest ${m.subject} #${m.seq} dead-lettered as ${o.dlq} #${ack.seq} after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${wire.code} ${wire.message}`)
  }

  const handle = async (m: JsMsg, failures: number): Promise<void> => {
    const tokens = (subj.ingestTokens(m.subject) ?? '').split('.')
    if (tokens.length !== 2) return deadLetter(m, invalidId('stream', 'an ingest subject is allsource.ingest.<tenant>.<stream>'))
    const [tenant, stream] = tokens as [string, string]
    // No Content-Type and a body starting with `{`: JSON (it cannot be a msgpack request).
    const format = mediaTypeOf(m.headers?.get('Content-Type') || undefined, m.data)
    const body = decodeBody(format, m.data)
    if (!body.ok) return deadLetter(m, badRequest(body.message))
    const value = body.value
    const request =
      typeof value === 'object' && value !== null && !Array.isArray(value) && 'events' in value
        ? { commitId: `ingest-${m.seq}`, ...(value as Record<string, unknown>) }
        : { events: [value], commitId: `ingest-${m.seq}` }
    const command = validateAppendRequest(tenant, stream, request, o.limits)
    if (E.isLeft(command)) return deadLetter(m, command.left)
    if (!checked.has(m.subject)) {
      if ((await o.lastCommitId(tenant, stream)) === command.right.commitId) {
        m.ack()
        stats.appended++
        return
      }
      checked.add(m.subject)
    }
    // `failures`: earlier attempts at this message that threw a defect (see drain).
    // A publisher's request id and trace context (headers of the ingest message) go into the commit.
    const context = ingestContext(m)
    for (let attempt = 0, internals = failures; ; attempt++) {
      const r = await appender.append(command.right, context)
      if (E.isRight(r)) {
        m.ack()
        stats.appended++
        return
      }
      if (r.left._tag === 'QuotaExceeded') {
        // Over a rate or the day's quota (auth mode): the event is valid, so it waits in place, in
        // order, and is retried when the quota allows (a raised quota is seen within the cap).
        quotaLog(`ingest ${m.subject} #${m.seq}: ${r.left.message}; waiting`)
        m.working()
        if (stopping) return
        await abortableSleep(Math.max(1, Math.min(r.left.retryAfterMs, MAX_QUOTA_WAIT_MS)), stopSignal.signal)
        if (stopping) return
        continue
      }
      if (r.left._tag !== 'Unavailable' && r.left._tag !== 'Internal') return deadLetter(m, r.left, internals + 1)
      // INTERNAL again and again: a poison message; it must not hold up its stream for ever.
      if (r.left._tag === 'Internal' && ++internals >= o.maxAttempts) return deadLetter(m, r.left, internals)
      // Transient: keep this stream's place in line and try again; tell JetStream we are on it.
      o.log(`ingest ${m.subject} #${m.seq}: ${r.left.message}; retrying`)
      m.working()
      if (stopping) return
      await abortableSleep(backoffMs(attempt), stopSignal.signal)
      if (stopping) return
    }
  }

  const drain = async (subject: string, queue: JsMsg[]): Promise<void> => {
    active++
    try {
      let lastDefect = ''
      for (let failures = 0, defects = 0; queue.length > 0 && !stopping; ) {
        const m = queue[0] as JsMsg
        try {
          if (defects >= o.maxAttempts) await deadLetter(m, internal(`ingest failed ${defects} times: ${lastDefect}`), defects)
          else await handle(m, defects)
          queue.shift()
          failures = 0
          defects = 0
        } catch (e) {
          // Connection trouble (a DLQ publish or an ack that did not go through): try the same
          // message again rather than let a later one of this stream overtake it. A defect (a
          // body the code cannot cope with) counts as an attempt; after maxAttempts it goes to the DLQ.
          if (isDefect(e)) {
            defects++
            lastDefect = messageOf(e)
          }
          o.log(`ingest ${subject} #${m.seq}: ${messageOf(e)}; retrying`)
          await abortableSleep(backoffMs(failures++), stopSignal.signal)
        }
      }
    } finally {
      queues.delete(subject)
      if (--active === 0 && idle !== undefined) idle()
    }
  }

  let failure: string | undefined
  const loop = (async () => {
    for await (const m of messages) {
      const queue = queues.get(m.subject)
      if (queue !== undefined) queue.push(m)
      else {
        const q = [m]
        queues.set(m.subject, q)
        drain(m.subject, q).catch((e: unknown) => o.log(`ingest ${m.subject}: ${messageOf(e)}`))
      }
    }
  })().then(
    () => {
      if (!stopping) failure = 'the ingest consumer ended'
    },
    // Observed here, at once: a rejection left for stop() to find would be unhandled (and fatal) until then.
    (e: unknown) => {
      if (stopping) return
      failure = `the ingest consumer failed: ${messageOf(e)}`
      o.log(`ingest: ${failure}; it takes no more messages until restarted`)
    },
  )

  return {
    get appended() {
      return stats.appended
    },
    get deadLettered() {
      return stats.deadLettered
    },
    get failure() {
      return failure
    },
    async stop() {
      stopping = true
      stopSignal.abort()
      messages.stop()
      await loop
      if (active > 0) await new Promise<void>((resolve) => (idle = resolve))
      dlqLog.flush()
      quotaLog.flush()
    },
  }
}
