import { subjects } from '../subjects.js'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { headers, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { badRequest, type DomainError } from '../../../domain/streams/errors.js'
import { defaultIngestNames, type IngestNames } from './ingestStreams.js'
import { DEAD_LETTER_HEADERS } from './deadLetterHeaders.js'

/** A rejected ingest message, as kept in `ALLSOURCE_DLQ`. */
export interface DeadLetter {
  /** Its sequence in `ALLSOURCE_DLQ`: the id to re-drive it by. */
  readonly id: number
  readonly subject: string
  /** Where it was published. */
  readonly ingestSubject: string
  readonly code: string
  readonly error: string
  /** How many times the processor tried it (1 for a message refused at once). */
  readonly attempts: number
  readonly at: Date
  /** The message body, unchanged. */
  readonly data: Uint8Array
}

export type DeadLetterError = DomainError | { readonly _tag: 'NotFound'; readonly message: string }

/** Where a dead letter was published: its header, or (when it had no room for it) from its DLQ subject. */
const ingestSubjectOf = (n: IngestNames, dlqSubject: string, header: string | undefined): string => {
  if (header !== undefined && header !== '') return header
  return subjects(n.prefix).ingestFor(dlqSubject) ?? ''
}

/** Lists dead letters, oldest first, optionally of one tenant. */
export const listDeadLetters = async (
  nc: NatsConnection,
  options: { readonly tenant?: string; readonly limit?: number } & Partial<IngestNames> = {},
): Promise<DeadLetter[]> => {
  const n = { ...defaultIngestNames, ...options }
  const jsm = await jetstreamManager(nc)
  const info = await jsm.streams.info(n.dlq)
  const out: DeadLetter[] = []
  if (info.state.messages === 0) return out
  const filter = subjects(n.prefix).dlqOf(options.tenant)
  const consumer = await jetstream(nc).consumers.get(n.dlq, { filter_subjects: [filter] })
  const messages = await consumer.consume({ max_bytes: 8 * 1024 * 1024 }) // dead letters can be up to max_payload each
  const pending = (await consumer.info()).num_pending
  if (pending > 0) {
    for await (const m of messages) {
      out.push({
        id: m.seq,
        subject: m.subject,
        ingestSubject: ingestSubjectOf(n, m.subject, m.headers?.get('AllSource-Ingest-Subject')),
        code: m.headers?.get('AllSource-Error-Code') ?? '',
        error: m.headers?.get('AllSource-Error') ?? '',
        attempts: Number(m.headers?.get('AllSource-Attempts') || 1),
        at: new Date(Math.floor(m.info.timestampNanos / 1e6)),
        data: m.data,
      })
      if (m.info.pending === 0 || out.length === (options.limit ?? Number.POSITIVE_INFINITY)) break
    }
  }
  messages.stop()
  return out
}

/**
 * Re-drives one dead letter after its cause is fixed: publishes its body and original headers
 * (without the error headers) to the ingest subject it came from, then removes it from the DLQ.
 * `contentType` replaces the message's `Content-Type` (for a body sent with a wrong or missing
 * one, e.g. `application/json`). A re-driven message that fails again lands in the DLQ again,
 * with a new id.
 */
export const redriveDeadLetter = async (
  nc: NatsConnection,
  id: number,
  options: Partial<IngestNames> & { readonly contentType?: string } = {},
): Promise<E.Either<DeadLetterError, { readonly ingestSubject: string; readonly ingestSequence: number }>> => {
  const n = { ...defaultIngestNames, ...options }
  if (!Number.isSafeInteger(id) || id < 1) return E.left(badRequest('a dead letter id is a positive integer', { id }))
  const jsm = await jetstreamManager(nc)
  const m = await jsm.streams.getMessage(n.dlq, { seq: id }).catch(() => null)
  if (m === null) return E.left({ _tag: 'NotFound', message: `no dead letter ${id}` })
  if (options.contentType !== undefined && (options.contentType.trim() === '' || /[\r\n]/.test(options.contentType))) {
    return E.left(badRequest('a content type is one line of text, e.g. application/json', { contentType: options.contentType }))
  }
  const ingestSubject = ingestSubjectOf(n, m.subject, m.header.get('AllSource-Ingest-Subject'))
  if (ingestSubject === '') return E.left(badRequest(`dead letter ${id} does not say where it was published`))
  const h = headers()
  const dropped = new Set(DEAD_LETTER_HEADERS.map((k) => k.toLowerCase()))
  if (options.contentType !== undefined) dropped.add('content-type')
  for (const [k, vs] of m.header) if (!dropped.has(k.toLowerCase()) && !k.startsWith('Nats-')) for (const v of vs) h.append(k, v)
  if (options.contentType !== undefined) h.set('Content-Type', options.contentType.trim())
  const ack = await jetstream(nc).publish(ingestSubject, m.data, { headers: h })
  await jsm.streams.deleteMessage(n.dlq, id)
  return E.right({ ingestSubject, ingestSequence: ack.seq })
}
