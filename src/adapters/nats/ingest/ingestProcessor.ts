import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream'
import { headers, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { type AppendLimits, defaultAppendLimits, validateAppendRequest } from '../../../domain/streams/appendRequest.js'
import { badRequest, invalidId } from '../../../domain/streams/errors.js'
import type { Appender } from '../../../application/streams/appender.js'
import type { AppendError } from '../../../application/streams/errors.js'
import { toWireError } from '../service/errorCodes.js'
import { defaultIngestNames, ensureIngestStreams, type IngestNames } from './ingestStreams.js'
import { decodeBody } from '../service/wireCodec.js'

export interface IngestOptions extends IngestNames {
  readonly limits: AppendLimits
  /** Most ingest messages delivered and not yet acked (bounds memory). */
  readonly maxAckPending: number
  /** The commitId of the last commit on a stream's subject, to spot work done before a crash. */
  readonly lastCommitId: (tenant: string, stream: string) => Promise<string | undefined>
  readonly log: (message: string) => void
  /** The log's duplicate window: a lost ingest ack must be redelivered well inside it (default 2 min). */
  readonly duplicateWindowMs: number
}

export interface IngestProcessor {
  /** Messages appended (or found already appended) and acked since start. */
  readonly appended: number
  readonly deadLettered: number
  /** Stops taking messages and waits for those in hand; anything unacked is redelivered, in order, on the next start. */
  stop(): Promise<void>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

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
 *   `AllSource-Error-Code` and `AllSource-Error`, and are then acked.
 */
export const startIngestProcessor = async (
  nc: NatsConnection,
  appender: Appender,
  options: Partial<IngestOptions> & Pick<IngestOptions, 'lastCommitId'>,
): Promise<IngestProcessor> => {
  const o = { ...defaultIngestNames, limits: defaultAppendLimits, maxAckPending: 10_000, log: () => undefined, duplicateWindowMs: 120_000, ...options }
  // Acks are plain publishes (no round trip). One lost with a connection comes back after ack_wait;
  // keeping ack_wait at most half the duplicate window lets the log's dedupe absorb that redelivery.
  const ackWaitMs = Math.max(1_000, Math.min(60_000, Math.floor(o.duplicateWindowMs / 2)))
  const jsm = await jetstreamManager(nc)
  await ensureIngestStreams(jsm, o)
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
  const messages = await consumer.consume({ max_messages: Math.min(1_000, o.maxAckPending) })

  const queues = new Map<string, JsMsg[]>()
  const checked = new Set<string>()
  let active = 0
  let stopping = false
  let idle: (() => void) | undefined
  const stats = { appended: 0, deadLettered: 0 }
  const skip = o.prefix.length + '.ingest.'.length

  const deadLetter = async (m: JsMsg, e: AppendError): Promise<void> => {
    const wire = toWireError(e)
    const h = headers()
    for (const [k, vs] of m.headers ?? []) for (const v of vs) h.append(k, v)
    h.set('AllSource-Error-Code', wire.code)
    h.set('AllSource-Error', wire.message.replace(/[\r\n]+/g, ' '))
    h.set('AllSource-Ingest-Subject', m.subject)
    h.set('AllSource-Ingest-Sequence', String(m.seq))
    // The msgID makes a retried dead-lettering (its ingest ack was lost) land once.
    await js.publish(`${o.prefix}.dlq.${m.subject.slice(skip)}`, m.data, { headers: h, msgID: `dlq-${m.seq}` })
    await m.ackAck()
    stats.deadLettered++
  }

  const handle = async (m: JsMsg): Promise<void> => {
    const tokens = m.subject.slice(skip).split('.')
    if (tokens.length !== 2) return deadLetter(m, invalidId('stream', 'an ingest subject is allsource.ingest.<tenant>.<stream>'))
    const [tenant, stream] = tokens as [string, string]
    const format = m.headers?.get('Content-Type') === 'application/json' ? 'json' : 'msgpack'
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
    for (let attempt = 0; ; attempt++) {
      const r = await appender.append(command.right)
      if (E.isRight(r)) {
        m.ack()
        stats.appended++
        return
      }
      if (r.left._tag !== 'Unavailable' && r.left._tag !== 'Internal') return deadLetter(m, r.left)
      // Transient: keep this stream's place in line and try again; tell JetStream we are on it.
      o.log(`ingest ${m.subject} #${m.seq}: ${r.left.message}; retrying`)
      m.working()
      if (stopping) return
      await sleep(Math.min(5_000, 100 * 2 ** attempt))
    }
  }

  const drain = async (subject: string, queue: JsMsg[]): Promise<void> => {
    active++
    try {
      for (let failures = 0; queue.length > 0 && !stopping; ) {
        const m = queue[0] as JsMsg
        try {
          await handle(m)
          queue.shift()
          failures = 0
        } catch (e) {
          // Connection trouble (a DLQ publish or an ack that did not go through): try the same
          // message again rather than let a later one of this stream overtake it.
          o.log(`ingest ${subject} #${m.seq}: ${e instanceof Error ? e.message : String(e)}; retrying`)
          await sleep(Math.min(5_000, 100 * 2 ** failures++))
        }
      }
    } finally {
      queues.delete(subject)
      if (--active === 0 && idle !== undefined) idle()
    }
  }

  const loop = (async () => {
    for await (const m of messages) {
      const queue = queues.get(m.subject)
      if (queue !== undefined) queue.push(m)
      else {
        const q = [m]
        queues.set(m.subject, q)
        drain(m.subject, q).catch((e: unknown) => o.log(`ingest ${m.subject}: ${e instanceof Error ? e.message : String(e)}`))
      }
    }
  })()

  return {
    get appended() {
      return stats.appended
    },
    get deadLettered() {
      return stats.deadLettered
    },
    async stop() {
      stopping = true
      messages.stop()
      await loop.catch(() => undefined)
      if (active > 0) await new Promise<void>((resolve) => (idle = resolve))
    },
  }
}
