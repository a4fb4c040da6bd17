import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import type { StreamCatalog } from '../../../application/tenants/streamQuota.js'
import { EVENT_STREAM } from '../log/eventStream.js'
import { subjects } from '../subjects.js'

/** The fields of a `$JS.API.STREAM.INFO` answer the count reads: `total` (subjects matching the filter; absent when none) or `error`. */
const InfoTotal = t.partial({ total: t.number, error: t.unknown })

const te = new TextEncoder()
const td = new TextDecoder()

/**
 * A {@link StreamCatalog} over the event log in JetStream, where each AllSource stream is one
 * subject `<prefix>.events.<tenant>.<stream>`:
 * - `count`: one `$JS.API.STREAM.INFO` request with `subjects_filter` `<prefix>.events.<tenant>.>`
 *   and an offset past any page, so the answer carries the exact number of matching subjects
 *   (`total`) and no subject list: a small answer whatever the tenant's size (the server walks
 *   the tenant's subjects);
 * - `exists`: one direct get of the stream subject's last message.
 * Both reject when JetStream does not answer or answers an error.
 */
export const createJetStreamStreamCatalog = (nc: NatsConnection, options: { readonly prefix: string; readonly timeoutMs?: number }): StreamCatalog => {
  const subj = subjects(options.prefix)
  const timeout = options.timeoutMs ?? 2_000
  let jsm: Promise<JetStreamManager> | undefined
  /** Past any page of subjects: the answer holds `total` and no subject list. */
  const PAST_ANY_PAGE = 2_147_483_647
  return {
    async count(tenant) {
      const m = await nc.request(`$JS.API.STREAM.INFO.${EVENT_STREAM}`, te.encode(JSON.stringify({ subjects_filter: subj.eventsOf(tenant), offset: PAST_ANY_PAGE })), {
        timeout,
      })
      const d = InfoTotal.decode(JSON.parse(td.decode(m.data)))
      if (E.isLeft(d) || d.right.error !== undefined) throw new Error(`stream info for ${tenant}'s streams failed`)
      return d.right.total ?? 0
    },
    async exists(tenant, stream) {
      jsm ??= jetstreamManager(nc).catch((e: unknown) => {
        jsm = undefined
        throw e
      })
      const last = await (await jsm).streams.getMessage(EVENT_STREAM, { last_by_subj: subj.events(tenant, stream) })
      return last !== null
    },
  }
}
