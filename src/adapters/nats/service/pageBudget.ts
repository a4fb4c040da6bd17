import type { NatsConnection } from '@nats-io/transport-node'
import type { PageBudget } from '../../../application/reading/readStream.js'
import { encodeBody, type WireFormat } from './wireCodec.js'

/** Room kept in a reply for all but the page's events: `{ events: [], version, nextVersion }`, headers. */
export const REPLY_HEADROOM = 16 * 1024

/**
 * The byte budget of one page in a reply: the server's `max_payload` less {@link REPLY_HEADROOM},
 * each event measured as it will be encoded in the request's format (a JSON reply can be larger
 * than a msgpack one for the same events).
 */
export const pageBudget = (nc: NatsConnection, format: WireFormat): PageBudget => ({
  maxBytes: (nc.info?.max_payload ?? 1024 * 1024) - REPLY_HEADROOM,
  // +1: the separator (a comma in JSON; msgpack's array header is covered by the headroom).
  sizeOf: (event) => encodeBody(format, event).length + 1,
})
