import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import type { SubscriptionCount } from '../../../application/tenants/projectionQuota.js'
import { EVENT_STREAM } from '../log/eventStream.js'
import { subscriptionDurablePrefix } from './subscriptions.js'

/** One page of `$JS.API.CONSUMER.NAMES.<stream>`. */
const NamesPage = t.intersection([t.type({ total: t.number, offset: t.number }), t.partial({ consumers: t.union([t.array(t.string), t.null]), error: t.unknown })])

const te = new TextEncoder()
const td = new TextDecoder()

/**
 * Counts a tenant's durable named subscriptions: the consumers on `ALLSOURCE_EVENTS` named
 * `sub=<tenant>=…` (`createSubscriptions`' names; `=` is no tenant character, so the prefix is the
 * tenant's alone, and a durable created directly over the JetStream API under that name counts
 * too). Pages through `$JS.API.CONSUMER.NAMES` (names only, 1024 a page): O(consumers on the log)
 * per count, for a management call. Needs a connection that may list consumers (the processor's).
 * Rejects when JetStream does not answer or answers an error.
 */
export const createSubscriptionCount = (nc: NatsConnection, options: { readonly timeoutMs?: number } = {}): SubscriptionCount => {
  const timeout = options.timeoutMs ?? 5_000
  return async (tenant) => {
    const prefix = subscriptionDurablePrefix(tenant)
    let count = 0
    for (let offset = 0; ; ) {
      const m = await nc.request(`$JS.API.CONSUMER.NAMES.${EVENT_STREAM}`, te.encode(JSON.stringify({ offset })), { timeout })
      const page = NamesPage.decode(JSON.parse(td.decode(m.data)))
      if (E.isLeft(page) || page.right.error !== undefined) throw new Error('listing the consumers of the event log failed')
      const names = page.right.consumers ?? []
      count += names.filter((n) => n.startsWith(prefix)).length
      offset += names.length
      if (names.length === 0 || offset >= page.right.total) return count
    }
  }
}
