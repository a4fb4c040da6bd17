import { DeliverPolicy, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import type { ScopedEventScan } from '../../../application/analytics/runAnalytics.js'
import type { AppendError } from '../../../application/streams/errors.js'
import { admitsTypes, planScan } from '../../../domain/reading/queryPlan.js'
import { decodeCommit } from '../../codec/commitCodec.js'
import { EVENT_STREAM } from '../log/eventStream.js'
import { createLogConsumers, type LogConsumers } from '../reading/logConsumer.js'
import { defaultPrefix, subjects } from '../subjects.js'

/** Events one analytics request may read from the log by default (docs/analytics.md, "Cost"). */
export const defaultAnalyticsScanLimit = 1_000_000

/**
 * How far a commit's store time may trail its events' timestamps (as in `query.ts`): a scan for
 * `until` stops this far past it.
 */
const CLOCK_SLACK_MS = 60_000

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** The events of a commit from its `AllSource-First-Version` / `-Last-Version` headers, when both parse. */
const eventsInHeaders = (first: string | undefined, last: string | undefined): number | undefined => {
  const f = Number(first)
  const l = Number(last)
  return first !== undefined && last !== undefined && Number.isSafeInteger(f) && Number.isSafeInteger(l) && l >= f ? l - f + 1 : undefined
}

/**
 * The bounded scan behind analytics: one ordered consumer over a tenant's log, planned from the
 * request's filter as a query is (`planScan`: the streams' subjects when the filter names at most
 * 16, a start at a time for `since` or at an offset, `AllSource-Types` to skip commits undecoded,
 * an end at the log's last offset when the scan starts, or past `until`); then the filter on each
 * decoded event.
 *
 * Cost limit: it reads at most `scanLimit` events (default 1,000,000; counted from the commits'
 * version headers, so commits skipped undecoded count too). A scope that needs more is answered
 * `TooLarge` (`TOO_LARGE`, 413, `unit: 'events'`, `max` = the limit) rather than a partial answer
 * that looks whole.
 */
export const createAnalyticsScan = (
  nc: NatsConnection,
  o: { readonly prefix?: string; readonly consumers?: LogConsumers; readonly scanLimit?: number } = {},
): ScopedEventScan => {
  const subj = subjects(o.prefix ?? defaultPrefix)
  const jsmP = jetstreamManager(nc, { checkAPI: false })
  const consumers = o.consumers ?? createLogConsumers(nc)
  const limit = Math.max(1, o.scanLimit ?? defaultAnalyticsScanLimit)

  return async (tenant, filter, visit): Promise<E.Either<AppendError, void>> => {
    const plan = planScan(filter)
    const end = Math.min((await (await jsmP).streams.info(EVENT_STREAM)).state.last_seq, plan.toOffset ?? Number.POSITIVE_INFINITY)
    const start = plan.fromOffset ?? 1
    if (start > end || plan.types?.size === 0 || plan.streams?.length === 0) return E.right(undefined)
    const lease = await consumers.open(EVENT_STREAM, {
      filter_subjects: plan.streams === undefined ? [subj.eventsOf(tenant)] : plan.streams.map((s) => subj.eventsOf(tenant, s)),
      ...(plan.sinceMs !== undefined && plan.fromOffset === undefined
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(plan.sinceMs).toISOString() }
        : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start }),
    })
    let scanned = 0
    try {
      if ((await lease.consumer.info(true)).num_pending === 0) return E.right(undefined)
      for await (const m of await lease.consume()) {
        if (m.seq > end) break
        if (plan.untilMs !== undefined && m.info.timestampNanos / 1e6 > plan.untilMs + CLOCK_SLACK_MS) break
        const h = m.headers
        const counted = eventsInHeaders(h?.get('AllSource-First-Version'), h?.get('AllSource-Last-Version'))
        const types = h?.get('AllSource-Types')
        const admitted = admitsTypes(plan, types === undefined || types === '' ? undefined : types.split(','))
        const commit = admitted || counted === undefined ? decodeCommit(m.data, m.seq) : undefined
        scanned += counted ?? commit?.events.length ?? 1
        if (scanned > limit) {
          return E.left({
            _tag: 'TooLarge',
            message: `analytics reads at most ${limit} events per request and this scope needs more (offset ${m.seq} of ${end}); narrow since, until or where`,
            size: scanned,
            max: limit,
            unit: 'events',
          })
        }
        if (admitted && commit !== undefined) {
          for (const e of commit.events) {
            // The decoded event is ours alone: annotate it in place rather than copy it.
            const ev = e as Mutable<typeof e> & { offset: number; tenant: string; stream: string }
            ev.offset = m.seq
            ev.tenant = commit.tenant
            ev.stream = commit.stream
            if (plan.matches(ev)) visit(ev, ev.timestamp instanceof Date ? ev.timestamp.getTime() : Date.parse(String(ev.timestamp)))
          }
        }
        if (m.seq >= end || m.info.pending === 0) break
      }
    } finally {
      lease.close()
    }
    return E.right(undefined)
  }
}
