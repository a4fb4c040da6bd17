import type { NatsConnection } from '@nats-io/transport-node'
import type { TopicSink, TopicUpdate } from '../../../application/projections/ports.js'
import { encodeMsgpack } from '../../codec/msgpack.js'
import { MSGPACK_HEADERS } from '../service/wireCodec.js'
import { subjects } from '../subjects.js'

/** The subject a read-model change is announced on: `<prefix>.projections.<tenant>.<name>.<key>`. */
export const projectionTopic = (prefix: string, u: Pick<TopicUpdate, 'tenant' | 'projection' | 'key'>): string => subjects(prefix).projectionTopic(u.tenant, u.projection, u.key)

/**
 * Publishes a fold's read-model changes on their topics, core NATS (at most once), msgpack
 * `{ projection, tenant, key, state, offset }`, with `Content-Type: application/msgpack`. The one place topic messages are built.
 */
export const natsTopicSink = (nc: NatsConnection, prefix: string): TopicSink => ({
  publish(u) {
    nc.publish(projectionTopic(prefix, u), encodeMsgpack({ projection: u.projection, tenant: u.tenant, key: u.key, state: u.state, offset: u.offset }), { headers: MSGPACK_HEADERS })
  },
})
