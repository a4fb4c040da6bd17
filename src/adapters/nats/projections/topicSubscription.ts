import type { NatsConnection, Subscription } from '@nats-io/transport-node'
import { decodeMsgpack } from '../../codec/msgpack.js'
import { subjects } from '../subjects.js'

/** One read-model change as the processor publishes it on `allsource.projections.<tenant>.<projection>.<key>`. */
export interface TopicChange {
  readonly projection: string
  readonly tenant: string
  readonly key: string
  readonly state: unknown
  readonly offset: number
}

/**
 * Follows a projection's changes for one tenant (`allsource.projections.<tenant>.<projection>.>`),
 * keeping only what the processor published there. NATS cannot stop a tenant from having
 * JetStream deliver its own stored messages onto any subject (a push consumer's deliver subject
 * or a pull request's reply is not permission-checked; docs/security.md, "Known limits" 1), so
 * this drops every message that is not a processor change: a subject outside the topic (a
 * JetStream delivery keeps its stored subject), any reply subject (processor changes have none;
 * JetStream deliveries carry `$JS.ACK.…`), a body that is not a change for this tenant and
 * projection. `dropped()` counts them.
 */
export const subscribeProjectionTopic = (
  nc: NatsConnection,
  tenant: string,
  projection: string,
  onChange: (change: TopicChange) => void,
  options: { readonly prefix?: string } = {},
): { readonly subscription: Subscription; readonly dropped: () => number } => {
  const topicPrefix = subjects(options.prefix).projectionTopic(tenant, projection, '')
  let dropped = 0
  const subscription = nc.subscribe(`${topicPrefix}>`, {
    callback: (err, msg) => {
      if (err !== null) return
      if (!msg.subject.startsWith(topicPrefix) || (msg.reply !== undefined && msg.reply !== '')) {
        dropped++
        return
      }
      let change: Partial<TopicChange>
      try {
        change = decodeMsgpack(msg.data) as Partial<TopicChange>
      } catch {
        dropped++
        return
      }
      if (typeof change !== 'object' || change === null || change.tenant !== tenant || change.projection !== projection || typeof change.key !== 'string' || typeof change.offset !== 'number') {
        dropped++
        return
      }
      onChange(change as TopicChange)
    },
  })
  return { subscription, dropped: () => dropped }
}
